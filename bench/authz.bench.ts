/**
 * CedarAuthorizer cost per tool call in a large tenant (issue 5): 1,000 policies and
 * 10,000 entities, against bare `@cedar-policy/cedar-wasm` calls in the same run.
 *
 * Tenant `bench`: the base policies, 600 agent grants (`principal ==`, `action ==`,
 * `resource ==`), 300 agent-scoped forbids reading `context.args`, 80 policies with an
 * open principal (per-tool forbids, `principal in Role` permits on blobs, `@shadow`
 * ones), and so on up to exactly 1,000. Entities: agents, users, roles, hosts, channels
 * and the tool catalog, 10,000 in all.
 *
 * Measured: `authorizeToolCall` (argument projection, the (principal, resource) entity
 * slice and the (principal, action) policy slice from their LRU caches, context,
 * `statefulIsAuthorized` with request validation, and the decision record), cycling over
 * 60 granted agents. Baselines, same requests, inputs built beforehand:
 *  - bare pre-parsed: `statefulIsAuthorized` over the same slice of policies the
 *    authorizer evaluates (pre-parsed once per agent), the same entity slice and context,
 *    the same pre-parsed schema and validation: the ratio is the authorizer's own cost;
 *  - naive: the same call with all 1,000 policies pre-parsed as one set;
 *  - naive stateless: `isAuthorized` with every policy's text and all 10,000 entities
 *    per call (what a call costs with no pre-parsing and no slicing at all).
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { parseConfig } from '../core/config/load.js';
import { CedarAuthorizer } from '../runtime/authz/authorizer.js';
import { basePolicies, buildSchema, tenantEntities, toolAction, uid, uidKey, type EntityJson } from '../policies/cedar/compile.js';
import type { ToolCallRequest } from '../runtime/ports.js';
import { join } from 'node:path';
import { percentile, report, type Figure } from './lib.js';


const TENANT = 'bench';
const POLICIES = 1_000;
const ENTITIES = 10_000;
const GRANTED_AGENTS = 600;
const SCOPED_FORBIDS = 300;
const CYCLE = 60;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);
const NAIVE_STATELESS_ITERATIONS = Number(process.env.BENCH_NAIVE_ITERATIONS ?? 10);
const NOW = new Date('2026-01-05T12:00:00Z');

const config = parseConfig(`
tenants: [{ id: ${TENANT}, name: Bench }]
tools:
  - name: gmail.send
    kind: http
    method: POST
    url: https://gmail.googleapis.com/gmail/v1/users/me/messages/send
    secrets: [GMAIL_TOKEN]
    secretHeaders: { Authorization: GMAIL_TOKEN }
    egress: [gmail.googleapis.com]
    input: { type: object, properties: { to: { type: string }, subject: { type: string }, body: { type: string } }, required: [to] }
  - name: github.issues
    kind: http
    url: https://api.github.com/repos/{repo}/issues
    secrets: [GITHUB_TOKEN]
    secretHeaders: { Authorization: GITHUB_TOKEN }
    egress: [api.github.com]
    input: { type: object, properties: { repo: { type: string } }, required: [repo] }
  - name: calc.sum
    kind: js
    code: "async function run(args) { return args.values.reduce((a, b) => a + b, 0); }"
    input: { type: object, properties: { values: { type: array, items: { type: integer } } }, required: [values] }
agents: []
`);
const schema = buildSchema(config);
const TOOLS = ['gmail.send', 'echo', 'github.issues', 'calc.sum', 'time.now'];
const agentUid = (i: number) => uid.agent(TENANT, `agent-${i}`);
const q = JSON.stringify;

// ------------------------------------------------------------------ entities (10,000)

const tenant = uid.tenant(TENANT);
const ref = (u: { type: string; id: string }) => ({ __entity: u });
const entities: EntityJson[] = tenantEntities(config, TENANT); // tenant, tool groups, tools, hosts
const AGENTS = 3_000;
const ROLES = 100;
for (let i = 0; i < AGENTS; i++) entities.push({ uid: agentUid(i), attrs: { tenant: ref(tenant), name: `agent-${i}` }, parents: [tenant] });
for (let i = 0; i < ROLES; i++) entities.push({ uid: { type: 'Role', id: `${TENANT}/role-${i}` }, attrs: { tenant: ref(tenant), name: `role-${i}` }, parents: [tenant] });
for (const type of ['slack', 'telegram', 'whatsapp', 'webhook']) entities.push({ uid: uid.channel(TENANT, type), attrs: { tenant: ref(tenant), type }, parents: [tenant] });
const USERS = 6_000;
for (let i = 0; i < USERS; i++) {
  entities.push({ uid: { type: 'User', id: `${TENANT}/user-${i}` }, attrs: { tenant: ref(tenant), name: `user-${i}` }, parents: [{ type: 'Role', id: `${TENANT}/role-${i % ROLES}` }, tenant] });
}
for (let i = 0; entities.length < ENTITIES; i++) entities.push({ uid: uid.host(TENANT, `host-${i}.example.com`), attrs: { tenant: ref(tenant), name: `host-${i}.example.com` }, parents: [tenant] });

// ------------------------------------------------------------------ policies (1,000)

const tenantPolicies: string[] = [];
for (let i = 0; i < GRANTED_AGENTS; i++) {
  const tool = TOOLS[i % TOOLS.length]!;
  tenantPolicies.push(
    `@id(${q(`grant:agent-${i}:${tool}`)})\n@reason(${q(`grants ${tool} to agent-${i}`)})\n` +
      `permit (principal == Agent::${q(agentUid(i).id)}, action == Action::${q(toolAction(tool))}, resource == Tool::${q(uid.tool(TENANT, tool).id)});`,
  );
}
for (let i = 0; i < SCOPED_FORBIDS; i++) {
  tenantPolicies.push(
    `@id(${q(`agent-${i}:mail-internal`)})\n@reason("mail only to the company domain")\n` +
      `forbid (principal == Agent::${q(agentUid(i).id)}, action == Action::"invokeTool:gmail.send", resource)\n` +
      `when { !(context.args.to like "*@bench.example") };`,
  );
}
const basePolicyCount = cedar.policySetTextToParts(basePolicies());
if (basePolicyCount.type !== 'success') throw new Error('base policies did not parse');
const open = POLICIES - basePolicyCount.policies.length - tenantPolicies.length;
for (let i = 0; i < open; i++) {
  const kind = i % 4;
  if (kind === 0) {
    const tool = TOOLS[(i / 4) % TOOLS.length]!;
    tenantPolicies.push(`@id("open:${i}")\n@reason("no tools before 05:00 UTC")\nforbid (principal, action == Action::${q(toolAction(tool))}, resource)\nwhen { context.time.hour < 5 && context.channel == "slack-${i}" };`);
  } else if (kind === 1) {
    tenantPolicies.push(`@id("open:${i}")\n@reason("role may read its notes")\npermit (principal in Role::${q(`${TENANT}/role-${i % ROLES}`)}, action == Action::"readBlob", resource)\nwhen { resource.key like "roles/role-${i % ROLES}/*" };`);
  } else if (kind === 2) {
    tenantPolicies.push(`@id("open:${i}")\n@shadow\n@reason("trial: no issues at night")\nforbid (principal, action == Action::"invokeTool:github.issues", resource)\nwhen { context.time.hour > 22 && context.args.repo == "bench/r${i}" };`);
  } else {
    tenantPolicies.push(`@id("open:${i}")\n@reason("egress to the tool's own host only")\nforbid (principal, action == Action::"egress", resource)\nwhen { context.tool == "t${i}" };`);
  }
}
const sources = [
  { file: 'base.cedar', text: basePolicies() },
  { file: 'bench.cedar', text: tenantPolicies.join('\n\n') },
];

const budgets = Object.fromEntries(Array.from({ length: AGENTS }, (_, i) => [`agent-${i}`, { maxSteps: 100, maxTokens: 100_000 }]));
const authorizer = new CedarAuthorizer({ now: () => NOW });
const loadStart = performance.now();
const loaded = authorizer.load({ tenantId: TENANT, schema, sources, entities, budgets });
const loadMs = performance.now() - loadStart;
authorizer.setCatalog(config);
if (loaded.policies !== POLICIES) throw new Error(`expected ${POLICIES} policies, loaded ${loaded.policies}`);
if (entities.length !== ENTITIES) throw new Error(`expected ${ENTITIES} entities, built ${entities.length}`);

// ------------------------------------------------------------------ requests

/** Granted agents with gmail.send (i % 5 === 0) and a scoped forbid: the richest slice. */
const agents = Array.from({ length: CYCLE }, (_, n) => n * 5);
const request = (i: number): ToolCallRequest => ({
  tenantId: TENANT,
  agentId: `agent-${i}`,
  runId: 'run-1',
  tool: 'gmail.send',
  args: { to: 'team@bench.example', subject: 'weekly' },
  channel: 'slack',
  budget: { stepsUsed: 1, tokensUsed: 100 },
});

// Check the decisions are the intended ones before timing anything.
const check = authorizer.authorizeToolCall(request(0));
if (check.decision !== 'allow' || check.determining[0]?.id !== 'grant:agent-0:gmail.send') throw new Error(`unexpected decision ${JSON.stringify(check)}`);
const denied = authorizer.authorizeToolCall({ ...request(0), args: { to: 'x@evil.example' } });
if (denied.decision !== 'deny') throw new Error('the scoped forbid did not apply');

// Bare inputs: the same slice of policies the authorizer selects, the same entities and context.
const preparsedSchema = 'bench-authz-schema';
if (cedar.preparseSchema(preparsedSchema, schema).type !== 'success') throw new Error('schema did not pre-parse');
const all = authorizer.policies(TENANT);
/** The enforced policies the authorizer evaluates for this (principal, action): the same slice. */
function sliceOf(principal: { type: string; id: string }, action: string) {
  return authorizer.slicePolicies(TENANT, principal, action).filter((p) => !p.shadow);
}
const byKey = new Map(entities.map((e) => [uidKey(e.uid), e]));
function entitySlice(...roots: { type: string; id: string }[]): EntityJson[] {
  const out: EntityJson[] = [];
  const seen = new Set<string>();
  const visit = (u: { type: string; id: string }) => {
    const key = uidKey(u);
    if (seen.has(key)) return;
    seen.add(key);
    const e = byKey.get(key)!;
    out.push(e);
    e.parents.forEach(visit);
  };
  roots.forEach(visit);
  return out;
}
const context = {
  tool: 'gmail.send',
  runId: 'run-1',
  channel: 'slack',
  budget: { stepsUsed: 1, tokensUsed: 100, maxSteps: 100, maxTokens: 100_000 },
  args: { to: 'team@bench.example', subject: 'weekly' },
  time: { epochSeconds: Math.floor(NOW.getTime() / 1000), hour: NOW.getUTCHours(), weekday: NOW.getUTCDay() },
};
const action = { type: 'Action', id: toolAction('gmail.send') };
const resource = uid.tool(TENANT, 'gmail.send');
const bare = agents.map((i) => {
  const principal = agentUid(i);
  const slice = sliceOf(principal, action.id);
  const id = `bench-bare-${i}`;
  if (cedar.preparsePolicySet(id, { staticPolicies: Object.fromEntries(slice.map((p) => [p.id, p.text])) }).type !== 'success') throw new Error('slice did not pre-parse');
  return { id, principal, policies: slice.length, entities: entitySlice(principal, resource) };
});
const ALL_ID = 'bench-all-policies';
const enforcedAll = all.filter((p) => !p.shadow);
if (cedar.preparsePolicySet(ALL_ID, { staticPolicies: Object.fromEntries(enforcedAll.map((p) => [p.id, p.text])) }).type !== 'success') throw new Error('policies did not pre-parse');
const allText = Object.fromEntries(enforcedAll.map((p) => [p.id, p.text]));

function bareCall(b: (typeof bare)[number], policySetId = b.id, validate: 'schema' | 'no-validation' | 'no-schema' = 'schema'): void {
  const answer = cedar.statefulIsAuthorized({
    principal: b.principal,
    action,
    resource,
    context: context as cedar.Context,
    entities: b.entities as cedar.Entities,
    preparsedPolicySetId: policySetId,
    ...(validate === 'no-schema' ? {} : { preparsedSchemaName: preparsedSchema }),
    validateRequest: validate === 'schema',
  });
  if (answer.type !== 'success' || answer.response.decision !== 'allow') throw new Error(`bare call: ${JSON.stringify(answer)}`);
}

// ------------------------------------------------------------------ timing

/** Per-call durations in µs (hrtime), cycling over the agents. */
function time(fn: (n: number) => void, iterations: number): number[] {
  for (let n = 0; n < Math.min(iterations, 2 * CYCLE); n++) fn(n); // warm-up: every slice cached, JIT warm
  const out = new Float64Array(iterations);
  for (let n = 0; n < iterations; n++) {
    const start = process.hrtime.bigint();
    fn(n);
    out[n] = Number(process.hrtime.bigint() - start) / 1e3;
  }
  return Array.from(out).sort((a, b) => a - b);
}

const viaAuthorizer = (n: number) => {
  const d = authorizer.authorizeToolCall(request(agents[n % CYCLE]!));
  if (d.decision !== 'allow') throw new Error('authorizer denied');
};
const viaBare = (n: number) => bareCall(bare[n % CYCLE]!);
const viaNaive = (n: number) => bareCall(bare[n % CYCLE]!, ALL_ID);
const viaNaiveStateless = (n: number) => {
  const b = bare[n % CYCLE]!;
  const answer = cedar.isAuthorized({
    principal: b.principal,
    action,
    resource,
    context: context as cedar.Context,
    entities: entities as cedar.Entities,
    policies: { staticPolicies: allText },
    schema,
    validateRequest: true,
  });
  if (answer.type !== 'success' || answer.response.decision !== 'allow') throw new Error(`naive call: ${JSON.stringify(answer)}`);
};

// First call of a (principal, action) pair builds and pre-parses its slice: measured once per agent.
const fresh = new CedarAuthorizer({ now: () => NOW });
fresh.load({ tenantId: TENANT, schema, sources, entities, budgets });
fresh.setCatalog(config);
const firstCalls: number[] = [];
for (let i = SCOPED_FORBIDS; i < SCOPED_FORBIDS + 100; i++) {
  const start = process.hrtime.bigint();
  fresh.authorizeToolCall(request(i));
  firstCalls.push(Number(process.hrtime.bigint() - start) / 1e3);
}
firstCalls.sort((a, b) => a - b);

// A slice holding a @shadow policy is evaluated twice (enforced, then with the shadow
// policies); github.issues agents (i % 5 === 2) have one. Baseline: one bare evaluation.
const shadowAgents = Array.from({ length: CYCLE }, (_, n) => n * 5 + 2);
const issues = (i: number): ToolCallRequest => ({ ...request(i), tool: 'github.issues', args: { repo: 'bench/app' } });
const shadowCheck = authorizer.authorizeToolCall(issues(2));
if (shadowCheck.decision !== 'allow' || !shadowCheck.shadow) throw new Error(`expected a shadow evaluation: ${JSON.stringify(shadowCheck)}`);
const issuesAction = { type: 'Action', id: toolAction('github.issues') };
const issuesResource = uid.tool(TENANT, 'github.issues');
const issuesContext = { ...context, tool: 'github.issues', args: { repo: 'bench/app' } };
const shadowBare = shadowAgents.map((i) => {
  const principal = agentUid(i);
  const slice = sliceOf(principal, issuesAction.id);
  const id = `bench-bare-issues-${i}`;
  if (cedar.preparsePolicySet(id, { staticPolicies: Object.fromEntries(slice.map((p) => [p.id, p.text])) }).type !== 'success') throw new Error('slice did not pre-parse');
  return { id, principal, entities: entitySlice(principal, issuesResource) };
});
const shadowOurs = time((n) => authorizer.authorizeToolCall(issues(shadowAgents[n % CYCLE]!)), 5_000);
const shadowBaseline = time((n) => {
  const b = shadowBare[n % CYCLE]!;
  const answer = cedar.statefulIsAuthorized({ principal: b.principal, action: issuesAction, resource: issuesResource, context: issuesContext as cedar.Context, entities: b.entities as cedar.Entities, preparsedPolicySetId: b.id, preparsedSchemaName: preparsedSchema, validateRequest: true });
  if (answer.type !== 'success' || answer.response.decision !== 'allow') throw new Error(`bare call: ${JSON.stringify(answer)}`);
}, 5_000);

// Interleaved halves, so neither side gets a quieter machine.
const half = ITERATIONS / 2;
const a1 = time(viaAuthorizer, half);
const b1 = time(viaBare, half);
const a2 = time(viaAuthorizer, half);
const b2 = time(viaBare, half);
const ours = [...a1, ...a2].sort((x, y) => x - y);
const bareTimes = [...b1, ...b2].sort((x, y) => x - y);
// Where a bare call's time goes: the same call without request validation, and without the schema.
const bareNoValidation = time((n) => bareCall(bare[n % CYCLE]!, bare[n % CYCLE]!.id, 'no-validation'), 5_000);
const bareNoSchema = time((n) => bareCall(bare[n % CYCLE]!, bare[n % CYCLE]!.id, 'no-schema'), 5_000);
// Where the rest goes: cedar-wasm takes each call as JSON (JSON.stringify in JS, serde in
// Rust) and builds Cedar values from it — the entity slice and the context, every call, with
// no way to pre-parse them. The same tiny set (one permit, schema and validation on) with
// this request's entities and context, and with neither:
const tinyCall = (entities: EntityJson[], ctx: Record<string, unknown>) => () => {
  const answer = cedar.statefulIsAuthorized({ principal: bare[0]!.principal, action, resource, context: ctx as cedar.Context, entities: entities as cedar.Entities, preparsedPolicySetId: 'bench-grant-only', preparsedSchemaName: preparsedSchema, validateRequest: false });
  if (answer.type !== 'success') throw new Error(`tiny call: ${JSON.stringify(answer)}`);
};
if (cedar.preparsePolicySet('bench-grant-only', { staticPolicies: { p: 'permit (principal, action, resource);' } }).type !== 'success') throw new Error('grant-only set did not pre-parse');
const conversion = {
  both: time(tinyCall(bare[0]!.entities, context), 5_000),
  unrelatedOnly: time(tinyCall([], context), 5_000),
};
const naive = time(viaNaive, Math.min(ITERATIONS, 1_000));
const naiveStateless = time(viaNaiveStateless, NAIVE_STATELESS_ITERATIONS);

// Machine calibration: the smallest Cedar call there is (one policy, a one-action schema).
const tinySchema = 'entity A; action "t" appliesTo { principal: [A], resource: [A], context: {} };';
if (cedar.preparseSchema('bench-tiny', tinySchema).type !== 'success' || cedar.preparsePolicySet('bench-tiny', { staticPolicies: { p: 'permit (principal, action, resource);' } }).type !== 'success') throw new Error('tiny set did not pre-parse');
const tiny = time(() => {
  cedar.statefulIsAuthorized({ principal: { type: 'A', id: 'a' }, action: { type: 'Action', id: 't' }, resource: { type: 'A', id: 'a' }, context: {}, entities: [], preparsedPolicySetId: 'bench-tiny', preparsedSchemaName: 'bench-tiny', validateRequest: true });
}, 5_000);

const sliceSizes = bare.map((b) => b.policies).sort((x, y) => x - y);
const sliceNote = `slice: ${sliceSizes[0]}-${sliceSizes[sliceSizes.length - 1]} of ${POLICIES} policies (base + the agent's grant and forbid + open-principal policies on the action; \`principal in Role\` ones only in their members' slices), entity slice ${bare[0]!.entities.length} of ${ENTITIES}`;
const shared = 'machine shared by several engineers (2 cores): figures are noisy';
const figures: Figure[] = [
  {
    name: 'authorizeToolCall p50',
    value: percentile(ours, 50),
    unit: 'us',
    baseline: { name: 'bare pre-parsed statefulIsAuthorized, same slice', value: percentile(bareTimes, 50) },
    note: `${ITERATIONS} calls over ${CYCLE} agents; ${sliceNote}`,
  },
  {
    name: 'authorizeToolCall p99',
    value: percentile(ours, 99),
    unit: 'us',
    baseline: { name: 'bare pre-parsed statefulIsAuthorized, same slice', value: percentile(bareTimes, 99) },
    target: '< 150 us',
    note: shared,
  },
  {
    name: 'authorizeToolCall p50 vs bare pre-parsed (ratio)',
    value: percentile(ours, 50),
    unit: 'us',
    baseline: { name: 'bare pre-parsed statefulIsAuthorized, same slice', value: percentile(bareTimes, 50) },
    target: '<= 1.3x',
    note: 'the authorizer’s own cost: argument projection, entity slice, context, slice lookup, decision record',
  },
  {
    name: 'authorizeToolCall p99 vs bare pre-parsed (ratio)',
    value: percentile(ours, 99),
    unit: 'us',
    baseline: { name: 'bare pre-parsed statefulIsAuthorized, same slice', value: percentile(bareTimes, 99) },
    target: '<= 1.3x',
    note: shared,
  },
  {
    name: 'authorizeToolCall p50 vs naive (all policies pre-parsed)',
    value: percentile(ours, 50),
    unit: 'us',
    baseline: { name: 'bare statefulIsAuthorized over all 1,000 policies', value: percentile(naive, 50) },
    note: `naive p99 ${percentile(naive, 99).toFixed(1)} us; same entity slice and context`,
  },
  {
    name: 'authorizeToolCall p50 vs naive stateless',
    value: percentile(ours, 50),
    unit: 'us',
    baseline: { name: 'isAuthorized with all 1,000 policy texts + 10,000 entities per call', value: percentile(naiveStateless, 50) },
    note: `${NAIVE_STATELESS_ITERATIONS} calls (each parses everything)`,
  },
  {
    name: 'authorizeToolCall p50, slice with a @shadow policy (two evaluations)',
    value: percentile(shadowOurs, 50),
    unit: 'us',
    baseline: { name: 'one bare pre-parsed evaluation of the enforced slice', value: percentile(shadowBaseline, 50) },
    note: `p99 ${percentile(shadowOurs, 99).toFixed(1)} us vs ${percentile(shadowBaseline, 99).toFixed(1)} us; ~2x expected: the shadow result is a second Cedar call by design`,
  },
  {
    name: 'bare pre-parsed call p50 without request validation (same slice, schema named)',
    value: percentile(bareNoValidation, 50),
    unit: 'us',
    baseline: { name: 'bare pre-parsed statefulIsAuthorized, same slice, validated', value: percentile(bareTimes, 50) },
    note: `without any schema: p50 ${percentile(bareNoSchema, 50).toFixed(1)} us; shows what the wasm call itself costs with this schema and these entities`,
  },
  {
    name: 'one-permit call with this request\'s entities and context p50 (no policy work)',
    value: percentile(conversion.both, 50),
    unit: 'us',
    baseline: { name: 'bare pre-parsed statefulIsAuthorized, same slice', value: percentile(bareTimes, 50) },
    note: `the same call with no entities: ${percentile(conversion.unrelatedOnly, 50).toFixed(1)} us; with the ${bare[0]!.entities.length} entities and the context, validation off: most of a call is cedar-wasm turning the JSON entities and context into Cedar values, which it cannot keep between calls`,
  },
  {
    name: 'calibration: smallest pre-parsed Cedar call p50 (1 policy, 1 action)',
    value: percentile(tiny, 50),
    unit: 'us',
    note: `p99 ${percentile(tiny, 99).toFixed(1)} us; the floor of a wasm call on this machine right now (${shared})`,
  },
  {
    name: 'first call of a (principal, action) pair p50 (builds + pre-parses its slice)',
    value: percentile(firstCalls, 50),
    unit: 'us',
    note: `p99 ${percentile(firstCalls, 99).toFixed(1)} us over 100 pairs; tenant load (parse + strict validation of 1,000 policies) took ${loadMs.toFixed(0)} ms`,
  },
];
report('authz', figures);

/** The results file says, at the top, that the figures come from a shared machine. */
