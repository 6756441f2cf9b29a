/**
 * The worker's tool runtime (runtime/tools: Cedar → approval → broker → sandbox → scrub),
 * built once per process from claw.yaml and the tenant SecretStore, and kept current:
 *
 * - Agents applied with `claw agent apply` (or the admin API) live in the metadata store,
 *   not in claw.yaml; their grants are Cedar policies too. So are the tenant policies
 *   people apply through the admin API. Before each tool call the tenant's applied agents
 *   and policies (name and revision) are compared with the ones its policies were compiled
 *   from, and the tenant's policies are reloaded when they differ, so a change applies at once.
 * - `rebuild` (the worker's POST /reload) builds a new runtime from a re-read claw.yaml
 *   (new tools, tenants, policy files); the old one keeps serving calls already in flight.
 *
 * A reload whose policies do not validate throws and leaves the policies in force.
 */
import type { Agent, ClawConfig } from '../../core/config/schema.js';
import type { SecretStore } from '../ports.js';
import type { ProgramSandbox } from '../targets/index.js';
import type { AgentRecord, MetadataStore } from '../store/metadata.js';
import { appliedByTenant, appliedPolicySources } from '../authz/policies.js';
import { createToolRuntime, type ToolRuntime } from '../tools/index.js';
import type { ToolCallFn } from '../activities/index.js';

export interface WorkerToolRuntimeOptions {
  config: ClawConfig;
  configFile: string;
  store: Pick<MetadataStore, 'listAgents' | 'listPolicies' | 'appliedRevisions'>;
  secrets: SecretStore;
  /** Program tools in Kubernetes pods (the target's, on aws/gcp); absent: bubblewrap. */
  programSandbox?: ProgramSandbox;
  /** One line per policy reload problem (never secret values: policies hold none). */
  log?: (line: string) => void;
  isolatePoolSize?: number;
}

/** claw.yaml's agents, with the store's applied revisions in place of (or besides) them. */
export function withAppliedAgents(config: ClawConfig, applied: AgentRecord[]): ClawConfig {
  const key = (tenant: string, id: string) => `${tenant}/${id}`;
  const agents = new Map<string, Agent>(config.agents.map((a) => [key(a.tenant, a.id), a]));
  for (const record of applied) agents.set(key(record.tenantId, record.id), { ...record.spec, tenant: record.tenantId, id: record.id });
  return { ...config, agents: [...agents.values()] };
}

export class WorkerToolRuntime {
  private runtime!: ToolRuntime;
  private config!: ClawConfig;
  /** Per tenant: the applied agents its policies were compiled from. */
  private readonly compiledFrom = new Map<string, string>();
  private readonly log: (line: string) => void;

  private constructor(private readonly options: WorkerToolRuntimeOptions) {
    this.log = options.log ?? ((line) => console.error(line));
  }

  static async create(options: WorkerToolRuntimeOptions): Promise<WorkerToolRuntime> {
    const runtime = new WorkerToolRuntime(options);
    await runtime.rebuild(options.config);
    return runtime;
  }

  /** Build a new runtime from `config` (throws on invalid policies; the old runtime then stays). */
  async rebuild(config: ClawConfig): Promise<void> {
    const store = this.options.store;
    // The revisions first: a change racing this rebuild is then seen (and reloaded) at the next call.
    const revisions = await store.appliedRevisions();
    const [applied, policies] = await Promise.all([store.listAgents(), store.listPolicies()]);
    const next = createToolRuntime({
      config: withAppliedAgents(config, applied),
      configFile: this.options.configFile,
      appliedPolicies: appliedByTenant(policies),
      onQuarantine: (tenantId, problem) => this.log(`worker: tenant ${tenantId}'s applied policies do not compile with this claw.yaml; its requests are refused until they are fixed: ${problem}`),
      secretStore: this.options.secrets,
      ...(this.options.programSandbox ? { kubernetes: this.options.programSandbox } : {}),
      isolatePoolSize: this.options.isolatePoolSize,
    });
    const previous = this.runtime as ToolRuntime | undefined;
    this.runtime = next;
    this.config = config;
    this.compiledFrom.clear();
    for (const tenant of config.tenants) this.compiledFrom.set(tenant.id, revisions.get(tenant.id) ?? '');
    // Calls already running in the old runtime's isolates finish there.
    if (previous) setTimeout(() => previous.close(), 60_000).unref();
  }

  /** The tenant's policies, recompiled if its applied agents or policies changed since (one small query per call). */
  private async current(tenantId: string): Promise<ToolRuntime> {
    const store = this.options.store;
    const now = (await store.appliedRevisions(tenantId)).get(tenantId) ?? '';
    if (this.compiledFrom.get(tenantId) !== now) {
      this.compiledFrom.set(tenantId, now);
      const [applied, policies] = await Promise.all([store.listAgents(tenantId), store.listPolicies(tenantId)]);
      try {
        this.runtime.reloadPolicies(tenantId, withAppliedAgents(this.config, applied), appliedPolicySources(policies));
      } catch (err) {
        this.log(`worker: tenant ${tenantId}'s policies did not reload; the previous ones stay in force: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    return this.runtime;
  }

  /** Bound `runToolCall`, for createActivities. */
  readonly toolCall: ToolCallFn = async (request, options) => (await this.current(request.tenantId)).runToolCall(request, options);

  close(): void {
    this.runtime.close();
  }
}
