import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/load.js';
import { isClawError } from '../../core/errors.js';
import type { EntityJson, Uid } from '../../policies/cedar/compile.js';
import type { AuthorizationDecision, ToolCallRequest } from '../ports.js';
import { CedarAuthorizer, DEFAULT_DENY, tenantInput, type RawRequest, type TenantPolicyInput } from './authorizer.js';

const CONFIG_FILE = 'policies/cedar/tests/install/claw.yaml';
const config = loadConfig(CONFIG_FILE);
const NOON = () => new Date('2026-01-05T12:00:00Z');

function call(over: Partial<ToolCallRequest>): ToolCallRequest {
  return { tenantId: 'acme', agentId: 'helper', runId: 'run-1', tool: 'echo', args: {}, ...over };
}

describe('CedarAuthorizer', () => {
  const authorizer = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: NOON });

  it('allows a granted tool and names the grant that allowed it', async () => {
    const d = await authorizer.authorize(call({ tool: 'echo', args: { text: 'hi' } }));
    expect(d.decision).toBe('allow');
    expect(d.determining.map((p) => p.id)).toEqual(['grant:helper:echo']);
    expect(d.determining[0]!.annotations.reason).toBe('claw.yaml grants echo to agent helper');
    expect(d.requiresApproval).toBe(false);
  });

  it('denies a tool the agent was not granted, by default, and says so', async () => {
    const d = await authorizer.authorize(call({ tool: 'github.issues', args: { repo: 'acme/app' } }));
    expect(d.decision).toBe('deny');
    expect(d.determining).toEqual([DEFAULT_DENY]);
    // the same tool is granted to another agent of the tenant
    expect((await authorizer.authorize(call({ agentId: 'triage', tool: 'github.issues', args: { repo: 'acme/app' } }))).decision).toBe('allow');
  });

  it('forbid wins over the grant, and the forbid is the determining policy', async () => {
    const d = await authorizer.authorize(call({ tool: 'gmail.send', args: { to: 'boss@evil.example' } }));
    expect(d.decision).toBe('deny');
    expect(d.determining.map((p) => p.id)).toEqual(['acme:mail-internal-only']);
  });

  it('a determining permit annotated @approval("required") parks the call for a human', async () => {
    const d = await authorizer.authorize(call({ tool: 'gmail.send', args: { to: 'team@acme.com' } }));
    expect(d).toMatchObject({ decision: 'allow', requiresApproval: true });
    expect(d.determining[0]!.annotations.approval).toBe('required');
  });

  it('records what a @shadow policy would decide without enforcing it', async () => {
    const night = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: () => new Date('2026-01-05T02:00:00Z') });
    const d = await night.authorize(call({ tool: 'echo', args: { text: 'hi' } }));
    expect(d.decision).toBe('allow');
    expect(d.shadow).toEqual({ decision: 'deny', determining: [expect.objectContaining({ id: 'acme:no-tools-at-night' })] });
    // at noon the shadow policy agrees with the enforced set
    expect((await authorizer.authorize(call({ tool: 'echo', args: { text: 'hi' } }))).shadow?.decision).toBe('allow');
  });

  it('denies arguments of the wrong type instead of skipping a forbid that reads them', async () => {
    const d = await authorizer.authorize(call({ tool: 'gmail.send', args: { to: ['a@acme.com'] } }));
    expect(d.decision).toBe('deny');
    expect(d.errors).toEqual(['invalid arguments for gmail.send: args.to must be a string']);
    const missing = await authorizer.authorize(call({ tool: 'gmail.send', args: {} }));
    expect(missing.errors).toEqual(['invalid arguments for gmail.send: args.to is required']);
  });

  it('denies once the run exceeds its budget (base policy)', async () => {
    const d = await authorizer.authorize(call({ tool: 'echo', args: {}, budget: { stepsUsed: 9, tokensUsed: 0 } }));
    expect(d.decision).toBe('deny');
    expect(d.determining.map((p) => p.id)).toEqual(['base:budget-exhausted']);
  });

  it('keeps tenants apart: the same agent id and tool in another tenant follow that tenant\'s policies', async () => {
    const d = await authorizer.authorize(call({ tenantId: 'globex', tool: 'echo', args: { text: 'my password is x' } }));
    expect(d.determining.map((p) => p.id)).toEqual(['globex:echo-no-passwords']);
    expect((await authorizer.authorize(call({ tenantId: 'acme', tool: 'echo', args: { text: 'my password is x' } }))).decision).toBe('allow');
  });
});

describe('reloading policies', () => {
  it('rejects a syntax error with its line and column and keeps the previous policies in force', async () => {
    const authorizer = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: NOON });
    const input = tenantInput(config, CONFIG_FILE, 'acme');
    const bad = { ...input, sources: [...input.sources, { file: 'new.cedar', text: '// a new rule\npermit (principal, action resource);\n' }] };
    let error: unknown;
    try {
      authorizer.load(bad);
    } catch (err) {
      error = err;
    }
    expect(isClawError(error) && error.code).toBe('CEDAR_POLICY_SYNTAX');
    expect((error as Error).message).toMatch(/^new\.cedar:2:27: unexpected token `resource`/);
    expect((await authorizer.authorize(call({ tool: 'echo', args: { text: 'hi' } }))).decision).toBe('allow');
    expect(authorizer.policies('acme').some((p) => p.file === 'new.cedar')).toBe(false);
  });

  it('rejects a schema error (strict validation) with its line and column', () => {
    const authorizer = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: NOON });
    const input = tenantInput(config, CONFIG_FILE, 'acme');
    const text = '@id("x")\npermit (principal, action == Action::"invokeTool:gmail.send", resource)\nwhen { context.args.cc == "a" };\n';
    expect(() => authorizer.load({ ...input, sources: [...input.sources, { file: 'cc.cedar', text }] })).toThrow(
      /^cc\.cedar:3:8: for policy `policy0`, attribute `args\.cc` in context for Action::"invokeTool:gmail\.send" not found/,
    );
  });

  it('applies a valid reload: a new forbid takes effect at once', async () => {
    const authorizer = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: NOON });
    const input = tenantInput(config, CONFIG_FILE, 'acme');
    const text = '@id("acme:no-echo")\nforbid (principal, action == Action::"invokeTool:echo", resource);\n';
    authorizer.load({ ...input, sources: [...input.sources, { file: 'no-echo.cedar', text }] });
    const d = await authorizer.authorize(call({ tool: 'echo', args: {} }));
    expect(d.decision).toBe('deny');
    expect(d.determining.map((p) => p.id)).toEqual(['acme:no-echo']);
  });

  it('rejects two policies with the same @id', () => {
    const authorizer = new CedarAuthorizer({ now: NOON });
    const input = tenantInput(config, CONFIG_FILE, 'acme');
    const text = '@id("grant:helper:echo")\nforbid (principal, action, resource);\n';
    expect(() => authorizer.load({ ...input, sources: [...input.sources, { file: 'dup.cedar', text }] })).toThrow(/dup\.cedar:1:1: policy id 'grant:helper:echo' is already used/);
  });
});

describe('cross-tenant requests (fuzzed ids)', () => {
  const authorizer = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: NOON });
  // A deterministic generator, so a failure reproduces.
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const noise = () => pick(['', '/', '../', '%2F', '\u0000', ' ', 'globex', 'GLOBEX', 'globex/', '*', '"', '\\', 'é', String(Math.floor(rand() * 1e6))]);
  const fuzzId = (base: string) => `${noise()}${base}${noise()}`;

  it('denies 100% of 5,000 requests by acme agents naming globex resources', () => {
    const granted = ['echo', 'time.now', 'calc.sum', 'gmail.send', 'github.issues', 'shell.wc'];
    const decisions: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const agent = pick(['helper', 'triage']);
      const kind = pick(['tool', 'blob', 'channel', 'host', 'tenantMismatch', 'toolName']);
      const principal = { type: 'Agent', id: `acme/${agent}` };
      let d;
      if (kind === 'tool') {
        const tool = pick(granted);
        d = authorizer.authorizeRaw({ tenantId: 'acme', principal, action: `invokeTool:${tool}`, resource: { type: 'Tool', id: `globex/${fuzzId(tool)}` }, context: { tool, args: {} } }, agent);
      } else if (kind === 'blob') {
        const action = pick(['readBlob', 'writeBlob']);
        d = authorizer.authorizeRaw({ tenantId: 'acme', principal, action, resource: { type: 'Blob', id: `globex/agents/${agent}/${fuzzId('x')}` }, context: {} }, agent);
      } else if (kind === 'channel') {
        d = authorizer.authorizeRaw({ tenantId: 'acme', principal, action: 'sendMessage', resource: { type: 'Channel', id: fuzzId('globex/slack') }, context: {} }, agent);
      } else if (kind === 'host') {
        d = authorizer.authorizeRaw({ tenantId: 'acme', principal, action: 'egress', resource: { type: 'Host', id: `globex/${fuzzId('gmail.googleapis.com')}` }, context: { tool: 'gmail.send' } }, agent);
      } else if (kind === 'tenantMismatch') {
        // an acme agent presented to the globex tenant's policies
        d = authorizer.authorizeToolCall(call({ tenantId: 'globex', agentId: `${fuzzId('')}acme/${agent}`, tool: pick(granted), args: { to: 'a@acme.com', text: 'x', values: [1], repo: 'r' } }));
      } else {
        d = authorizer.authorizeToolCall(call({ agentId: agent, tool: fuzzId(pick(granted)).replace(/^$/, 'x'), args: {} }));
        if (d.decision === 'allow') {
          // a fuzzed name that is still exactly a granted tool of this tenant is not cross-tenant
          continue;
        }
      }
      decisions.push(d.decision);
    }
    expect(decisions.length).toBeGreaterThan(4000);
    expect(decisions.filter((d) => d !== 'deny')).toEqual([]);
  });

  it('denies a principal of another tenant even when its own tenant grants the tool', () => {
    const d = authorizer.authorizeRaw({
      tenantId: 'acme',
      principal: { type: 'Agent', id: 'globex/helper' },
      action: 'invokeTool:echo',
      resource: { type: 'Tool', id: 'acme/echo' },
      context: { tool: 'echo', args: {} },
    });
    expect(d.decision).toBe('deny');
  });
});

// ------------------------------------------------------------------ slices, cache, differential

/** acme plus users in roles and policies scoped `principal in` / `principal is`. */
const ROLES = ['ops', 'dev', 'sales'];
const USERS = Array.from({ length: 9 }, (_, i) => ({ id: `acme/u${i}`, role: ROLES[i % ROLES.length]! }));
const SCOPED = `
@id("d:ops-read")
permit (principal in Role::"acme/ops", action == Action::"readBlob", resource)
when { resource.key like "roles/ops/*" };

@id("d:users-message")
permit (principal is User, action == Action::"sendMessage", resource);

@id("d:dev-no-slack")
forbid (principal is User in Role::"acme/dev", action, resource)
when { context has channel && context.channel == "slack" };

@id("d:tenant-shared")
permit (principal in Tenant::"acme", action == Action::"writeBlob", resource)
when { resource.key like "shared/*" };

@id("d:agents-echo-steps")
forbid (principal is Agent, action == Action::"invokeTool:echo", resource)
when { context.budget.stepsUsed > 5 };

@id("d:triage-tools")
permit (principal in Agent::"acme/triage", action in Action::"invokeTool", resource)
when { context.budget.tokensUsed < 50 };

@id("d:sales-read")
permit (principal in Role::"acme/sales", action in [Action::"readBlob", Action::"writeBlob"], resource)
when { resource.key like "roles/sales/*" };

@id("d:ops-shadow")
@shadow
forbid (principal in Role::"acme/ops", action == Action::"readBlob", resource)
when { context.time.hour < 12 };
`;
const tenantRef = { __entity: { type: 'Tenant', id: 'acme' } };
function scopedInput(): TenantPolicyInput {
  const input = tenantInput(config, CONFIG_FILE, 'acme');
  const extra: EntityJson[] = [
    ...ROLES.map((r) => ({ uid: { type: 'Role', id: `acme/${r}` }, attrs: { tenant: tenantRef, name: r }, parents: [{ type: 'Tenant', id: 'acme' }] })),
    ...USERS.map((u) => ({ uid: { type: 'User', id: u.id }, attrs: { tenant: tenantRef, name: u.id }, parents: [{ type: 'Role', id: `acme/${u.role}` }, { type: 'Tenant', id: 'acme' }] })),
  ];
  return { ...input, sources: [...input.sources, { file: 'scoped.cedar', text: SCOPED }], entities: [...input.entities, ...extra] };
}

describe('slices by principal scope', () => {
  const authorizer = new CedarAuthorizer({ now: NOON });
  authorizer.load(scopedInput());
  authorizer.setCatalog(config);
  const ids = (principal: Uid, action: string) => authorizer.slicePolicies('acme', principal, action).map((p) => p.id);
  const user = (i: number): Uid => ({ type: 'User', id: `acme/u${i}` });

  it('an `in Role` policy joins exactly the slices of the role\'s members', () => {
    for (const [i, u] of USERS.entries()) {
      expect(ids(user(i), 'readBlob').includes('d:ops-read')).toBe(u.role === 'ops');
      expect(ids(user(i), 'readBlob').includes('d:sales-read')).toBe(u.role === 'sales');
      expect(ids(user(i), 'writeBlob').includes('d:sales-read')).toBe(u.role === 'sales');
    }
    for (const agent of ['acme/helper', 'acme/triage']) expect(ids({ type: 'Agent', id: agent }, 'readBlob')).not.toContain('d:ops-read');
    // `in G` matches G itself, as in Cedar
    expect(ids({ type: 'Role', id: 'acme/ops' }, 'readBlob')).toContain('d:ops-read');
    // an `in Tenant` policy reaches every principal of the tenant
    for (const p of [user(0), user(1), { type: 'Agent', id: 'acme/helper' }]) expect(ids(p, 'writeBlob')).toContain('d:tenant-shared');
    // and the decisions follow
    const read = (i: number, key: string) => authorizer.authorizeRaw({ tenantId: 'acme', principal: user(i), action: 'readBlob', resource: { type: 'Blob', id: `acme/${key}` }, context: {} });
    expect(read(0, 'roles/ops/notes').decision).toBe('allow'); // u0 is in ops
    expect(read(1, 'roles/ops/notes').decision).toBe('deny'); // u1 is in dev
    expect(read(2, 'roles/sales/x').decision).toBe('allow'); // u2 is in sales
  });

  it('an `is T` policy joins the slices of principals of type T only; `is T in G` of T\'s in G', () => {
    expect(ids(user(0), 'sendMessage')).toContain('d:users-message');
    expect(ids({ type: 'Agent', id: 'acme/helper' }, 'sendMessage')).not.toContain('d:users-message');
    expect(ids({ type: 'Agent', id: 'acme/helper' }, 'invokeTool:echo')).toContain('d:agents-echo-steps');
    expect(ids(user(0), 'invokeTool:echo')).not.toContain('d:agents-echo-steps');
    for (const [i, u] of USERS.entries()) expect(ids(user(i), 'sendMessage').includes('d:dev-no-slack')).toBe(u.role === 'dev');
    expect(ids({ type: 'Agent', id: 'acme/triage' }, 'invokeTool:echo')).toContain('d:triage-tools');
    expect(ids({ type: 'Agent', id: 'acme/helper' }, 'invokeTool:echo')).not.toContain('d:triage-tools');
    // an unscoped policy is in every slice it can match by action
    expect(ids(user(0), 'readBlob')).toContain('base:tenant-isolation');
  });
});

describe('the slice cache', () => {
  it('stays bounded and reuses its pre-parsed sets; evicted slices are rebuilt with the same decisions', () => {
    const authorizer = new CedarAuthorizer({ now: NOON, sliceCacheSize: 4, entityCacheSize: 4 });
    authorizer.load(scopedInput());
    authorizer.setCatalog(config);
    const principals: Uid[] = [...USERS.map((u) => ({ type: 'User', id: u.id })), { type: 'Agent', id: 'acme/helper' }, { type: 'Agent', id: 'acme/triage' }];
    const actions = ['readBlob', 'writeBlob', 'sendMessage'];
    const resourceOf = (action: string): Uid => (action === 'sendMessage' ? { type: 'Channel', id: 'acme/slack' } : { type: 'Blob', id: 'acme/roles/ops/notes' });
    const first = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (const principal of principals) {
        for (const action of actions) {
          const d = authorizer.authorizeRaw({ tenantId: 'acme', principal, action, resource: resourceOf(action), context: { channel: 'slack' } });
          const key = `${principal.id}|${action}`;
          const seen = `${d.decision} ${d.determining.map((p) => p.id).join(',')} ${d.shadow?.decision ?? ''}`;
          if (round === 0) first.set(key, seen);
          else expect(seen, key).toBe(first.get(key));
          expect(authorizer.cachedSlices('acme')).toBeLessThanOrEqual(4);
          // two sets (enforced + shadow) per cached slice at most
          expect(authorizer.preparsedSets).toBeLessThanOrEqual(8);
        }
      }
    }
    expect(first.size).toBe(principals.length * actions.length);
    // a reload gives the old slices' sets back
    authorizer.load(scopedInput());
    expect(authorizer.preparsedSets).toBe(0);
    expect(authorizer.cachedSlices('acme')).toBe(0);
  });
});

describe('differential: sliced + cached decisions equal un-sliced cedar-wasm over every policy and entity', () => {
  const input = scopedInput();
  const all = new CedarAuthorizer({ now: NOON });
  all.load(input);
  const policies = all.policies('acme');
  const text = (shadow: boolean) => Object.fromEntries(policies.filter((p) => shadow || !p.shadow).map((p) => [p.id, p.text]));
  // The reference: one set of every policy (and one with the shadow ones), every entity.
  // Pre-parsed once so 1,000 requests fit a test's time; the call is otherwise plain isAuthorized.
  for (const shadow of [false, true]) expect(cedar.preparsePolicySet(`diff-ref-${shadow}`, { staticPolicies: text(shadow) }).type).toBe('success');
  expect(cedar.preparseSchema('diff-ref-schema', input.schema).type).toBe('success');

  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const principals: Uid[] = [...USERS.map((u) => ({ type: 'User', id: u.id })), { type: 'Agent', id: 'acme/helper' }, { type: 'Agent', id: 'acme/triage' }, { type: 'Role', id: 'acme/ops' }];
  const blobKeys = ['roles/ops/a', 'roles/sales/b', 'roles/dev/c', 'shared/x', 'agents/helper/n', 'agents/triage/m', 'other'];
  const tools: { tool: string; args: () => Record<string, unknown> }[] = [
    { tool: 'echo', args: () => (rand() < 0.5 ? {} : { text: pick(['hi', 'password']) }) },
    { tool: 'time.now', args: () => ({}) },
    { tool: 'gmail.send', args: () => ({ to: pick(['a@acme.com', 'x@evil.example']) }) },
    { tool: 'github.issues', args: () => ({ repo: 'acme/app' }) },
  ];
  const hours = ['2026-01-05T03:00:00Z', '2026-01-05T12:00:00Z', '2026-01-05T20:00:00Z'];

  function randomRequest(): { raw: RawRequest; at: Date } {
    const principal = pick(principals);
    const kind = pick(['blob', 'blob', 'message', 'tool', 'tool', 'egress']);
    const budget = { stepsUsed: Math.floor(rand() * 12), tokensUsed: Math.floor(rand() * 100) };
    const channel = pick(['slack', 'telegram', '']);
    const at = new Date(pick(hours));
    if (kind === 'blob') {
      return { at, raw: { tenantId: 'acme', principal, action: pick(['readBlob', 'writeBlob']), resource: { type: 'Blob', id: `acme/${pick(blobKeys)}` }, context: { runId: 'r', channel, budget } } };
    }
    if (kind === 'message') return { at, raw: { tenantId: 'acme', principal, action: 'sendMessage', resource: { type: 'Channel', id: 'acme/slack' }, context: { runId: 'r', channel, budget } } };
    if (kind === 'egress') {
      return { at, raw: { tenantId: 'acme', principal, action: 'egress', resource: { type: 'Host', id: `acme/${pick(['gmail.googleapis.com', 'api.github.com'])}` }, context: { tool: pick(['gmail.send', 'github.issues']), runId: 'r' } } };
    }
    const t = pick(tools);
    const resource = rand() < 0.8 ? t.tool : pick(tools).tool;
    return { at, raw: { tenantId: 'acme', principal, action: `invokeTool:${t.tool}`, resource: { type: 'Tool', id: `acme/${resource}` }, context: { tool: t.tool, runId: 'r', channel, budget, args: t.args() } } };
  }

  /** The request as Cedar sees it, built the plain way: every policy, every entity. */
  function reference(raw: RawRequest, at: Date, withShadow: boolean): Pick<AuthorizationDecision, 'decision' | 'errors'> & { determining: string[] } {
    const time = { epochSeconds: Math.floor(at.getTime() / 1000), hour: at.getUTCHours(), weekday: at.getUTCDay() };
    let context: Record<string, unknown> = { runId: '', ...raw.context, time };
    if (raw.action === 'egress') context = { tool: '', ...context };
    else {
      const limits = input.budgets[raw.principal.id.slice('acme/'.length)] ?? { maxSteps: 0, maxTokens: 0 };
      const used = (raw.context.budget ?? {}) as { stepsUsed?: number; tokensUsed?: number };
      context.budget = { stepsUsed: used.stepsUsed ?? 0, tokensUsed: used.tokensUsed ?? 0, ...limits };
      context.channel ??= '';
    }
    const blobs = raw.resource.type === 'Blob' ? [{ uid: raw.resource, attrs: { tenant: tenantRef, key: raw.resource.id.slice('acme/'.length) }, parents: [{ type: 'Tenant', id: 'acme' }] }] : [];
    const answer = cedar.statefulIsAuthorized({
      principal: raw.principal,
      action: { type: 'Action', id: raw.action },
      resource: raw.resource,
      context: context as cedar.Context,
      entities: [...input.entities, ...blobs] as cedar.Entities,
      preparsedPolicySetId: `diff-ref-${withShadow}`,
      preparsedSchemaName: 'diff-ref-schema',
      validateRequest: true,
    });
    if (answer.type === 'failure') return { decision: 'deny', determining: [DEFAULT_DENY.id], errors: answer.errors.map((e) => e.message) };
    const reason = [...answer.response.diagnostics.reason].sort();
    return {
      decision: answer.response.decision,
      determining: answer.response.decision === 'deny' && reason.length === 0 ? [DEFAULT_DENY.id] : reason,
      errors: answer.response.diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`),
    };
  }

  it('on 1,000 random requests (a default cache and a 3-slice one that keeps evicting)', () => {
    const authorizers = new Map<string, CedarAuthorizer[]>();
    let now = new Date(hours[0]!);
    for (const size of [undefined, 3]) {
      const a = new CedarAuthorizer({ now: () => now, sliceCacheSize: size, entityCacheSize: size });
      a.load(input);
      a.setCatalog(config);
      authorizers.set(String(size), [...(authorizers.get(String(size)) ?? []), a]);
    }
    const decisions = new Set<string>();
    let shadows = 0;
    for (let i = 0; i < 1000; i++) {
      const { raw, at } = randomRequest();
      now = at;
      const expected = reference(raw, at, false);
      const expectedShadow = reference(raw, at, true);
      for (const [size, [a]] of authorizers) {
        const d = a!.authorizeRaw(raw);
        const got = { decision: d.decision, determining: d.determining.map((p) => p.id).sort(), errors: d.errors };
        expect(got, `${size} #${i} ${JSON.stringify(raw)}`).toEqual(expected);
        if (d.shadow) {
          shadows++;
          expect({ decision: d.shadow.decision, determining: d.shadow.determining.map((p) => p.id).sort() }, `shadow #${i}`).toEqual({ decision: expectedShadow.decision, determining: expectedShadow.determining });
        } else {
          // no shadow policy in the slice: with the shadow policies the decision is the same
          expect(expectedShadow.decision).toBe(expected.decision);
        }
      }
      decisions.add(`${expected.decision}:${expected.determining.join(',')}`);
    }
    // the random set exercises allows, forbids, default denies and shadow evaluations
    expect(decisions.size).toBeGreaterThan(10);
    expect(shadows).toBeGreaterThan(0);
  }, 180_000);
});

describe('applied policies that no longer compile with the install', () => {
  // claw.yaml changed under an applied policy: the action it names is gone.
  const broken = { acme: [{ file: 'applied/old-tool.cedar', text: '@id("acme:no-old-tool")\nforbid (principal, action == Action::"invokeTool:old.tool", resource);\n' }] };

  it('quarantine their tenant, closed: its requests are refused saying why, but its admins may read and edit policies', async () => {
    const quarantined: string[] = [];
    const authorizer = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: NOON, applied: broken, onQuarantine: (t, problem) => quarantined.push(`${t}: ${problem}`) });
    expect(quarantined).toEqual([expect.stringMatching(/^acme: .*applied\/old-tool\.cedar/)]);
    const d = await authorizer.authorize(call({ tool: 'echo', args: { text: 'hi' } }));
    expect(d).toMatchObject({ decision: 'deny', determining: [{ id: 'claw:applied-policies-invalid', annotations: { reason: expect.stringContaining('fix or remove them') } }] });
    const admin = (action: 'editPolicy' | 'readPolicy' | 'decideApproval') =>
      authorizer.authorizeAdmin({ tenantId: 'acme', principal: { kind: 'user', id: 'ana@acme.com', roles: ['admin'] }, action, resource: action === 'decideApproval' ? { type: 'Tool', id: 'acme/echo' } : { type: 'Tenant', id: 'acme' } });
    expect(admin('editPolicy').decision).toBe('allow');
    expect(admin('readPolicy').decision).toBe('allow');
    expect(admin('decideApproval')).toMatchObject({ decision: 'deny', determining: [{ id: 'claw:applied-policies-invalid' }] });
    // Other tenants are untouched.
    expect((await authorizer.authorize({ ...call({}), tenantId: 'globex', agentId: 'helper', tool: 'echo', args: { text: 'hi' } })).determining[0]!.id).not.toBe('claw:applied-policies-invalid');
  });
});
