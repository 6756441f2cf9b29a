/**
 * `claw policy diff`: what a change to claw.yaml grants or tenant policies changes in
 * what agents may do. The request space is built from both sides' tenants, agents, tool
 * catalog, egress hosts and channels; every (tenant, agent, tool or resource, action)
 * whose outcome (allow / deny / approval) differs is listed. Egress a tool needs is
 * reported with that tool, so granting `gmail.send` is one entry, not two.
 *
 * One representative request per point: arguments are the minimal values of the tool's
 * input schema. A point whose policies read `context.args` is marked `conditional`, since
 * other arguments may be decided differently.
 */
import type { ClawConfig } from '../../core/config/schema.js';
import { argType, catalog, uid, type ArgType } from '../../policies/cedar/compile.js';
import type { AuthorizationDecision } from '../ports.js';
import { CedarAuthorizer, tenantInput } from './authorizer.js';
import type { PolicySource } from './policies.js';
import { outcomeOf } from './policy-test-runner.js';

export interface PolicySide {
  config: ClawConfig;
  configFile: string;
  /** Tenant id → a policy directory to use instead of the tenant's configured one. */
  policyDirs?: Record<string, string>;
  /** Tenant id → policy files in force beside the tenant's own (a proposal under review). */
  extraSources?: Record<string, PolicySource[]>;
}

export interface DiffAction {
  action: string;
  /** For egress and messages: the host or channel. */
  resource?: string;
  before: 'allow' | 'deny' | 'approval';
  after: 'allow' | 'deny' | 'approval';
  /** The determining policies after the change (before, for a loss). */
  policies: string[];
  conditional: boolean;
}

export interface DiffEntry {
  tenant: string;
  agent: string;
  /** The tool, or `(channel)` / `(blobs)` for the other actions. */
  subject: string;
  change: 'gains' | 'loses' | 'changes';
  actions: DiffAction[];
}

const FIXED_TIME = new Date('2026-01-05T12:00:00Z');

/** The smallest arguments that satisfy a tool's input schema (required fields only). */
export function sampleArgs(t: ArgType | undefined): unknown {
  if (!t) return {};
  switch (t.kind) {
    case 'String':
      return 'x';
    case 'Long':
      return 0;
    case 'Boolean':
      return false;
    case 'Set':
      return [];
    case 'Record': {
      const out: Record<string, unknown> = {};
      for (const [name, a] of Object.entries(t.attrs)) if (a.required) out[name] = sampleArgs(a.type);
      return out;
    }
  }
}

function authorizerFor(side: PolicySide): CedarAuthorizer {
  const authorizer = new CedarAuthorizer({ now: () => FIXED_TIME });
  for (const tenant of side.config.tenants) {
    const input = tenantInput(side.config, side.configFile, tenant.id, side.policyDirs?.[tenant.id]);
    authorizer.load({ ...input, sources: [...input.sources, ...(side.extraSources?.[tenant.id] ?? [])] });
  }
  authorizer.setCatalog(side.config);
  return authorizer;
}

const union = <T>(a: Iterable<T>, b: Iterable<T>) => [...new Set([...a, ...b])].sort();

export function diffPolicies(before: PolicySide, after: PolicySide): DiffEntry[] {
  const sides = [
    { side: before, authorizer: authorizerFor(before), tools: new Map(catalog(before.config).map((t) => [t.name, t])) },
    { side: after, authorizer: authorizerFor(after), tools: new Map(catalog(after.config).map((t) => [t.name, t])) },
  ] as const;
  const entries: DiffEntry[] = [];
  const tenants = union(before.config.tenants.map((t) => t.id), after.config.tenants.map((t) => t.id));
  const toolNames = union(sides[0].tools.keys(), sides[1].tools.keys());

  for (const tenant of tenants) {
    const agentsOf = (c: ClawConfig) => c.agents.filter((a) => a.tenant === tenant);
    const agents = union(agentsOf(before.config).map((a) => a.id), agentsOf(after.config).map((a) => a.id));
    const channels = union(
      agentsOf(before.config).flatMap((a) => a.channels.map((c) => c.type)),
      agentsOf(after.config).flatMap((a) => a.channels.map((c) => c.type)),
    );
    for (const agent of agents) {
      const principal = uid.agent(tenant, agent);
      const evaluate = (request: (i: 0 | 1) => AuthorizationDecision, action: string, resource?: string): DiffAction | undefined => {
        const [b, a] = [request(0), request(1)];
        const [ob, oa] = [outcomeOf(b), outcomeOf(a)];
        if (ob === oa) return undefined;
        const lost = oa === 'deny';
        const shown = lost ? b : a;
        const policies = shown.determining.map((d) => d.id);
        const conditional = [0, 1].some((i) =>
          sides[i as 0 | 1].authorizer.policies(tenant).some((p) => policies.includes(p.id) && p.text.includes('context.args')),
        );
        return { action, ...(resource ? { resource } : {}), before: ob, after: oa, policies, conditional };
      };
      const push = (subject: string, actions: (DiffAction | undefined)[]) => {
        const changed = actions.filter((x): x is DiffAction => x !== undefined);
        if (!changed.length) return;
        const main = changed[0]!;
        const change = main.before === 'deny' ? 'gains' : main.after === 'deny' ? 'loses' : 'changes';
        entries.push({ tenant, agent, subject, change, actions: changed });
      };

      for (const tool of toolNames) {
        const call = (i: 0 | 1) => {
          const def = sides[i].tools.get(tool);
          if (!def) return denyMissing();
          return sides[i].authorizer.authorizeToolCall({ tenantId: tenant, agentId: agent, runId: 'policy-diff', tool, args: sampleArgs(argType(def.input)) as Record<string, unknown> });
        };
        const hosts = union(sides[0].tools.get(tool)?.egress ?? [], sides[1].tools.get(tool)?.egress ?? []);
        push(tool, [
          evaluate(call, `invokeTool:${tool}`),
          ...hosts.map((host) =>
            evaluate(
              (i) => sides[i].authorizer.authorizeRaw({ tenantId: tenant, principal, action: 'egress', resource: uid.host(tenant, host), context: { tool, runId: 'policy-diff' } }, agent),
              'egress',
              host,
            ),
          ),
        ]);
      }
      push(
        '(channels)',
        channels.map((channel) =>
          evaluate(
            (i) => sides[i].authorizer.authorizeRaw({ tenantId: tenant, principal, action: 'sendMessage', resource: uid.channel(tenant, channel), context: { runId: 'policy-diff' } }, agent),
            'sendMessage',
            channel,
          ),
        ),
      );
      const blobKeys = [`agents/${agent}/example`, 'shared/example'];
      push(
        '(blobs)',
        blobKeys.flatMap((key) =>
          ['readBlob', 'writeBlob'].map((action) =>
            evaluate(
              (i) => sides[i].authorizer.authorizeRaw({ tenantId: tenant, principal, action, resource: uid.blob(tenant, key), context: { runId: 'policy-diff' } }, agent),
              action,
              key,
            ),
          ),
        ),
      );
    }
  }
  return entries;
}

function denyMissing(): AuthorizationDecision {
  return { decision: 'deny', requiresApproval: false, determining: [], errors: ['tool not in this side\'s catalog'] };
}

/** One line per entry: `acme/helper gains gmail.send: deny → allow via grant:helper:gmail.send (+ egress gmail.googleapis.com)`. */
export function formatDiff(entries: DiffEntry[]): string {
  if (entries.length === 0) return 'no change in what any agent may do';
  return entries
    .map((e) => {
      const [main, ...rest] = e.actions;
      const via = main!.policies.length ? ` via ${main!.policies.join(', ')}` : '';
      const extra = rest.map((r) => `${r.action}${r.resource ? ` ${r.resource}` : ''} ${r.before} → ${r.after}`);
      const what = main!.resource ? `${main!.action} ${main!.resource}` : e.subject;
      return `${e.tenant}/${e.agent} ${e.change} ${what}: ${main!.before} → ${main!.after}${via}${main!.conditional ? ' (conditional on arguments)' : ''}${extra.length ? ` (+ ${extra.join('; ')})` : ''}`;
    })
    .join('\n');
}
