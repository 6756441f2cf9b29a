/**
 * The run workflows on the real Temporal dev server and PostgreSQL of the integration
 * fixtures, for this directory's tests: one tenant with its key, its payload codec on both
 * the Worker and the client (as in production), the real activities over the store and the
 * reply outbox, with the seams a test needs: every model call's input is kept (to see what
 * the model was told), a model call can be made slow, the run's trace events are kept in
 * memory, and tool calls go through `grantToolCall` — the agent's grants decide, as the
 * Cedar runtime compiles them, over in-process test tools — so these tests exercise the
 * workflow, not the tool runtime (runtime/tools has its own tests).
 *
 * Not part of the workflow bundle (index.ts does not import it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { grantName, parseAgentFile } from '../../../core/config/load.js';
import { STARTER_AGENT } from '../../../core/config/starter.js';
import type { Agent } from '../../../core/config/schema.js';
import { createActivities, type Activities, type ActivityDeps, type ToolCallFn } from '../../activities/index.js';
import { BUILTIN_TOOL_SPECS } from '../../activities/builtin-tools.js';
import { ReplyOutbox } from '../../activities/outbox.js';
import { tenantPayloadCodec } from '../../crypto/codec.js';
import { localTenantKeyring } from '../../crypto/index.js';
import type { ToolSpec } from '../../models/types.js';
import type { AuthorizationDecision, SecretStore, TenantKeyring, ToolCallRequest, TraceEvent } from '../../ports.js';
import { MetadataStore } from '../../store/metadata.js';
import { workflowBundle } from '../../temporal/bundle.js';
import { tenantClient, type TenantClient } from '../../temporal/connection.js';
import { runWorkflowId } from '../../temporal/names.js';
import { RuntimeWorker } from '../../worker/runtime-worker.js';
import type { AgentRunInput, AgentRunResult, ModelCallInput } from '../types.js';

/** An in-process test tool: its output is what the model is told (as JSON). */
export type TestTool = (args: Record<string, unknown>, request: ToolCallRequest & { callId: string; idempotencyKey: string }) => unknown;

export const TEST_TOOLS: Record<string, TestTool> = {
  echo: (args) => args,
  'time.now': () => ({ iso: new Date().toISOString() }),
};

/**
 * Tool calls decided by the agent's grants (deny by default; `approval: required` parks
 * the call until a human approves), then run by `tools`.
 */
export function grantToolCall(store: Pick<MetadataStore, 'getAgent'>, tools: Record<string, TestTool> = TEST_TOOLS): ToolCallFn {
  return async (request, { approved }) => {
    const agent = await store.getAgent(request.tenantId, request.agentId);
    const grant = agent?.spec.tools.find((g) => grantName(g) === request.tool);
    if (!grant) {
      const decision: AuthorizationDecision = { decision: 'deny', requiresApproval: false, determining: [{ id: 'default-deny', annotations: {} }], errors: [] };
      return { status: 'denied', decision, ok: false, content: JSON.stringify({ error: `tool '${request.tool}' denied by policy`, policies: ['default-deny'] }) };
    }
    const requiresApproval = typeof grant === 'object' && grant.approval === 'required';
    const decision: AuthorizationDecision = { decision: 'allow', requiresApproval, determining: [{ id: `grant:${request.agentId}:${request.tool}`, annotations: {} }], errors: [] };
    if (requiresApproval && !approved) {
      return { status: 'approval-required', decision, ok: false, content: JSON.stringify({ status: 'AWAITING_APPROVAL' }) };
    }
    const run = tools[request.tool];
    if (!run) return { status: 'done', decision, ok: false, content: JSON.stringify({ error: { code: 'TOOL_NOT_AVAILABLE' } }) };
    return { status: 'done', decision, ok: true, content: JSON.stringify(await run(request.args, request)) };
  };
}

export interface HarnessOptions {
  temporalAddress: string;
  postgresUrl: string;
  /** Tenant id prefix; a random suffix keeps test files apart on the shared servers. */
  tenantPrefix?: string;
  /** Extra activity dependencies (channels, secrets, toolCall). */
  deps?: Partial<ActivityDeps>;
  /** Tools beside echo and time.now (their specs are added to the catalog). */
  tools?: Record<string, TestTool>;
  toolSpecs?: ToolSpec[];
  /** Start no in-process Worker (a test that runs the Worker as a child process). */
  noWorker?: boolean;
}

export interface Harness {
  tenantId: string;
  stateDir: string;
  keyring: TenantKeyring;
  store: MetadataStore;
  outbox: ReplyOutbox;
  /** Every trace event the activities emitted, in order. */
  traces: TraceEvent[];
  tenant: TenantClient;
  connection: Connection;
  /** Every model call's input, in order. */
  modelCalls: ModelCallInput[];
  /** ms to wait before a model call answers (0: none). */
  modelDelay: (input: ModelCallInput) => number;
  /** An agent of this tenant: the starter agent with these fields replaced. */
  agent(overrides: Partial<Agent>): Agent;
  newRunId(): string;
  start(input: Omit<AgentRunInput, 'tenantId' | 'runId'> & { runId?: string }): Promise<{ runId: string; handle: ReturnType<TenantClient['client']['workflow']['getHandle']> }>;
  run(input: Omit<AgentRunInput, 'tenantId' | 'runId'> & { runId?: string }): Promise<{ runId: string; result: AgentRunResult }>;
  close(): Promise<void>;
}

const starter = parseAgentFile(STARTER_AGENT, 'helper.yaml');

export function testSecrets(values: Record<string, string> = {}): SecretStore {
  return {
    get: async (_tenantId, name) => values[name],
    set: async () => {},
    list: async () => Object.keys(values),
    remove: async () => false,
  };
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const tenantId = `${options.tenantPrefix ?? 't'}-${randomBytes(3).toString('hex')}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'claw-wf-harness-'));
  const keyring = localTenantKeyring(stateDir);
  const store = await MetadataStore.connect(options.postgresUrl, { keyring });
  const outbox = await ReplyOutbox.connect(options.postgresUrl);
  const traces: TraceEvent[] = [];
  await keyring.createTenantKey(tenantId);
  await store.upsertTenant({ id: tenantId, name: tenantId });
  const codec = tenantPayloadCodec(await keyring.forTenant(tenantId));
  const connection = await Connection.connect({ address: options.temporalAddress });
  // Each harness polls its own queue: test files share one dev server, and each has its own test doubles.
  const tenant = tenantClient(connection, tenantId, { payloadCodecs: [codec], taskQueue: `test-${tenantId}` });

  const modelCalls: ModelCallInput[] = [];
  const harness: Harness = {
    tenantId, stateDir, keyring, store, outbox, traces, tenant, connection, modelCalls,
    modelDelay: () => 0,
    agent: (overrides) => ({ ...starter, tenant: tenantId, ...overrides }),
    newRunId: () => `r-${randomBytes(5).toString('hex')}`,
    async start(input) {
      const runId = input.runId ?? harness.newRunId();
      const handle = await tenant.client.workflow.start('agentRun', {
        ...tenant.route, workflowId: runWorkflowId(tenantId, runId), args: [{ ...input, tenantId, runId }],
      });
      return { runId, handle };
    },
    async run(input) {
      const { runId, handle } = await harness.start(input);
      return { runId, result: (await handle.result()) as AgentRunResult };
    },
    close: async () => {},
  };

  let workers: RuntimeWorker | undefined;
  let nativeConnection: NativeConnection | undefined;
  if (!options.noWorker) {
    const catalog = new Map([...BUILTIN_TOOL_SPECS, ...(options.toolSpecs ?? [])].map((s) => [s.name, s]));
    const base = createActivities({
      store, secrets: testSecrets(), outbox,
      toolCall: grantToolCall(store, { ...TEST_TOOLS, ...options.tools }),
      toolCatalog: () => catalog,
      traces: { emit: async (events) => void traces.push(...events) },
      ...options.deps,
    });
    const activities: Activities = {
      ...base,
      async callModel(input) {
        modelCalls.push(structuredClone(input));
        const wait = harness.modelDelay(input);
        if (wait > 0) await delay(wait);
        return base.callModel(input);
      },
    };
    nativeConnection = await NativeConnection.connect({ address: options.temporalAddress });
    const bundle = await workflowBundle(join(stateDir, 'cache'));
    workers = new RuntimeWorker({ connection: nativeConnection, taskQueue: tenant.taskQueue, workflowBundle: bundle, activities, keyring });
    await workers.ensure([tenantId]);
  }

  harness.close = async () => {
    await workers?.shutdown();
    await nativeConnection?.close();
    await connection.close();
    await outbox.close();
    await store.close();
    rmSync(stateDir, { recursive: true, force: true });
  };
  return harness;
}

/** The trace events of one run of a kind, as [kind, ...its non-null attribute values] for easy matching. */
export function traceOf(events: TraceEvent[], runId: string, kind: TraceEvent['kind']): unknown[][] {
  return events.filter((e) => e.runId === runId && e.kind === kind).map((e) => Object.values(e.attributes).filter((v) => v !== null));
}

/** Resolves once `check` returns a value (not undefined/false), polling every `everyMs`; rejects after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(everyMs);
  }
}
