/**
 * CedarAuthorizer cost per tool call in a large tenant (issues 5 and 14): 1,000 policies and
 * 10,000 entities, against bare engine calls in the same run, on each Cedar engine
 * (runtime/authz/cedar-engine.ts): the native addon (when built: `npm run native`) and
 * `@cedar-policy/cedar-wasm`. The targets apply to the engine the runtime uses (native where
 * built); the other's figures are the before/after comparison.
 *
 * Tenant `bench`: the base policies, 600 agent grants (`principal ==`, `action ==`,
 * `resource ==`), 300 agent-scoped forbids reading `context.args`, 80 policies with an
 * open principal (per-tool forbids, `principal in Role` permits on blobs, `@shadow`
 * ones), and so on up to exactly 1,000. Entities: agents, users, roles, hosts, channels
 * and the tool catalog, 10,000 in all.
 *
 * Measured: `authorizeToolCall` (argument projection, the (principal, resource) entity
 * slice and the (principal, action) policy slice from their LRU caches, context, the
 * engine's stateful call with request validation, and the decision record), cycling over
 * 60 granted agents. Baselines, same requests, inputs built beforehand:
 *  - bare pre-parsed: the engine's stateful call over the same slice of policies the
 *    authorizer evaluates (pre-parsed once per agent), the same entity slice and context,
 *    the same pre-parsed schema and validation: the ratio is the authorizer's own cost;
 *  - naive: the same call with all 1,000 policies pre-parsed as one set;
 *  - naive stateless: `isAuthorized` with every policy's text and all 10,000 entities
 *    per call (what a call costs with no pre-parsing and no slicing at all).
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { parseConfig } from '../core/config/load.js';
import { CedarAuthorizer } from '../runtime/authz/authorizer.js';
import { loadNativeEngine, wasmEngine, type CedarEngine } from '../runtime/authz/cedar-engine.js';
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
const tenantInput = { tenantId: TENANT, schema, sources, entities, budgets };

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
/** A slice holding a @shadow policy is evaluated twice; github.issues agents (i % 5 === 2) have one. */
const shadowAgents = Array.from({ length: CYCLE }, (_, n) => n * 5 + 2);
const issues = (i: number): ToolCallRequest => ({ ...request(i), tool: 'github.issues', args: { repo: 'bench/app' } });

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
const issuesAction = { type: 'Action', id: toolAction('github.issues') };
const issuesResource = uid.tool(TENANT, 'github.issues');
const issuesContext = { ...context, tool: 'github.issues', args: { repo: 'bench/app' } };
const preparsedSchema = 'bench-authz-schema';

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

function preparse(engine: CedarEngine, id: string, policies: { id: string; text: string }[]): string {
  if (engine.preparsePolicySet(id, Object.fromEntries(policies.map((p) => [p.id, p.text]))).type !== 'success') throw new Error(`${id} did not pre-parse`);
  return id;
}

interface Bare {
  id: string;
  principal: { type: string; id: string };
  policies: number;
  entities: EntityJson[];
}

/** One engine's measurements: the authorizer on it and bare calls of it, same requests. */
function measure(engine: CedarEngine) {
  const authorizer = new CedarAuthorizer({ now: () => NOW, engine });
  const loadStart = performance.now();
  const loaded = authorizer.load(tenantInput);
  const loadMs = performance.now() - loadStart;
  authorizer.setCatalog(config);
  if (loaded.policies !== POLICIES) throw new Error(`expected ${POLICIES} policies, loaded ${loaded.policies}`);
  // Check the decisions are the intended ones before timing anything.
  const check = authorizer.authorizeToolCall(request(0));
  if (check.decision !== 'allow' || check.determining[0]?.id !== 'grant:agent-0:gmail.send') throw new Error(`unexpected decision ${JSON.stringify(check)}`);
  if (authorizer.authorizeToolCall({ ...request(0), args: { to: 'x@evil.example' } }).decision !== 'deny') throw new Error('the scoped forbid did not apply');
  const shadowCheck = authorizer.authorizeToolCall(issues(2));
  if (shadowCheck.decision !== 'allow' || !shadowCheck.shadow) throw new Error(`expected a shadow evaluation: ${JSON.stringify(shadowCheck)}`);

  // Bare inputs: the same slice of policies the authorizer selects (enforced ones), the same entities and context.
  if (engine.preparseSchema(preparsedSchema, schema).type !== 'success') throw new Error('schema did not pre-parse');
  const sliceOf = (principal: { type: string; id: string }, actionId: string) => authorizer.slicePolicies(TENANT, principal, actionId).filter((p) => !p.shadow);
  const bareOf = (i: number, actionId: string, res: { type: string; id: string }, tag: string): Bare => {
    const principal = agentUid(i);
    const slice = sliceOf(principal, actionId);
    return { id: preparse(engine, `bench-bare-${tag}-${i}`, slice), principal, policies: slice.length, entities: entitySlice(principal, res) };
  };
  const bare = agents.map((i) => bareOf(i, action.id, resource, 'mail'));
  const shadowBare = shadowAgents.map((i) => bareOf(i, issuesAction.id, issuesResource, 'issues'));
  const enforced = authorizer.policies(TENANT).filter((p) => !p.shadow);
  const ALL_ID = preparse(engine, 'bench-all-policies', enforced);
  const grantOnly = preparse(engine, 'bench-grant-only', [{ id: 'p', text: 'permit (principal, action, resource);' }]);

  const call = (b: Bare, opts: { set?: string; act?: typeof action; res?: typeof resource; ctx?: Record<string, unknown>; entities?: EntityJson[]; validate?: 'schema' | 'no-validation' | 'no-schema' } = {}) => {
    const validate = opts.validate ?? 'schema';
    const answer = engine.isAuthorized({
      principal: b.principal,
      action: opts.act ?? action,
      resource: opts.res ?? resource,
      context: opts.ctx ?? context,
      entities: opts.entities ?? b.entities,
      preparsedPolicySetId: opts.set ?? b.id,
      ...(validate === 'no-schema' ? {} : { preparsedSchemaName: preparsedSchema }),
      validateRequest: validate === 'schema',
    });
    if (answer.type !== 'success' || answer.response.decision !== 'allow') throw new Error(`bare call: ${JSON.stringify(answer)}`);
  };

  const viaAuthorizer = (n: number) => {
    if (authorizer.authorizeToolCall(request(agents[n % CYCLE]!)).decision !== 'allow') throw new Error('authorizer denied');
  };
  const viaBare = (n: number) => call(bare[n % CYCLE]!);
  // Interleaved halves, so neither side gets a quieter machine.
  const half = ITERATIONS / 2;
  const a1 = time(viaAuthorizer, half);
  const b1 = time(viaBare, half);
  const a2 = time(viaAuthorizer, half);
  const b2 = time(viaBare, half);

  // First call of a (principal, action) pair builds and pre-parses its slice: measured once per agent.
  const fresh = new CedarAuthorizer({ now: () => NOW, engine });
  fresh.load(tenantInput);
  fresh.setCatalog(config);
  const firstCalls: number[] = [];
  for (let i = SCOPED_FORBIDS; i < SCOPED_FORBIDS + 100; i++) {
    const start = process.hrtime.bigint();
    fresh.authorizeToolCall(request(i));
    firstCalls.push(Number(process.hrtime.bigint() - start) / 1e3);
  }

  // The calibration: the smallest Cedar call there is (one policy, a one-action schema).
  const tinySchema = 'entity A; action "t" appliesTo { principal: [A], resource: [A], context: {} };';
  if (engine.preparseSchema('bench-tiny', tinySchema).type !== 'success') throw new Error('tiny schema did not pre-parse');
  const tinySet = preparse(engine, 'bench-tiny', [{ id: 'p', text: 'permit (principal, action, resource);' }]);
  const tinyEntities: EntityJson[] = [];

  return {
    engine: engine.kind,
    loadMs,
    enforcedTexts: Object.fromEntries(enforced.map((p) => [p.id, p.text])),
    slices: bare.map((b) => b.policies).sort((x, y) => x - y),
    entitySlice: bare[0]!.entities.length,
    ours: [...a1, ...a2].sort((x, y) => x - y),
    bare: [...b1, ...b2].sort((x, y) => x - y),
    shadowOurs: time((n) => authorizer.authorizeToolCall(issues(shadowAgents[n % CYCLE]!)), 5_000),
    shadowBare: time((n) => {
      const b = shadowBare[n % CYCLE]!;
      call(b, { act: issuesAction, res: issuesResource, ctx: issuesContext });
    }, 5_000),
    naive: time((n) => call(bare[n % CYCLE]!, { set: ALL_ID }), Math.min(ITERATIONS, 1_000)),
    // Where a bare call's time goes: without request validation, without the schema, and a
    // one-permit set with this request's entities and context and with no entities.
    noValidation: time((n) => call(bare[n % CYCLE]!, { validate: 'no-validation' }), 5_000),
    noSchema: time((n) => call(bare[n % CYCLE]!, { validate: 'no-schema' }), 5_000),
    conversion: time(() => call(bare[0]!, { set: grantOnly, validate: 'no-validation' }), 5_000),
    noEntities: time(() => call(bare[0]!, { set: grantOnly, validate: 'no-validation', entities: tinyEntities }), 5_000),
    tiny: time(() => {
      const answer = engine.isAuthorized({ principal: { type: 'A', id: 'a' }, action: { type: 'Action', id: 't' }, resource: { type: 'A', id: 'a' }, context: {}, entities: tinyEntities, preparsedPolicySetId: tinySet, preparsedSchemaName: 'bench-tiny', validateRequest: true });
      if (answer.type !== 'success') throw new Error('tiny call failed');
    }, 5_000),
    firstCalls: firstCalls.sort((a, b) => a - b),
  };
}

const native = loadNativeEngine();
if (typeof native === 'string') console.warn(`authz bench: the native engine is not measured: ${native}`);
const primary = measure(typeof native === 'string' ? wasmEngine : native);
const wasm = primary.engine === 'wasm' ? primary : measure(wasmEngine);

// No pre-parsing and no slicing at all: every policy text and all 10,000 entities per call (cedar-wasm's stateless call).
const naiveStateless = time(() => {
  const answer = cedar.isAuthorized({ principal: agentUid(0), action, resource, context: context as cedar.Context, entities: entities as cedar.Entities, policies: { staticPolicies: primary.enforcedTexts }, schema, validateRequest: true });
  if (answer.type !== 'success') throw new Error(`naive call: ${JSON.stringify(answer)}`);
}, NAIVE_STATELESS_ITERATIONS);

const p = percentile;
const on = (m: typeof primary) => (m.engine === 'native' ? 'native' : 'cedar-wasm');
const bareName = (m: typeof primary) => `bare pre-parsed ${on(m)} call, same slice`;
const sliceNote = `slice: ${primary.slices[0]}-${primary.slices[primary.slices.length - 1]} of ${POLICIES} policies (base + the agent's grant and forbid + open-principal policies on the action; \`principal in Role\` ones only in their members' slices), entity slice ${primary.entitySlice} of ${ENTITIES}`;
const shared = 'machine shared by several engineers (2 cores): figures are noisy';
const figures: Figure[] = [
  {
    name: `authorizeToolCall p50 (${on(primary)})`,
    value: p(primary.ours, 50),
    unit: 'us',
    target: '< 100 us',
    note: `${ITERATIONS} calls over ${CYCLE} agents; ${sliceNote}`,
  },
  { name: `authorizeToolCall p99 (${on(primary)})`, value: p(primary.ours, 99), unit: 'us', target: '< 200 us', note: shared },
  {
    name: `authorizeToolCall p50 vs bare pre-parsed (${on(primary)}, ratio)`,
    value: p(primary.ours, 50),
    unit: 'us',
    baseline: { name: bareName(primary), value: p(primary.bare, 50) },
    target: '<= 1.3x',
    note: 'the authorizer’s own cost: argument projection, entity slice, context, slice lookup, decision record',
  },
  {
    name: `authorizeToolCall p99 vs bare pre-parsed (${on(primary)}, ratio)`,
    value: p(primary.ours, 99),
    unit: 'us',
    baseline: { name: bareName(primary), value: p(primary.bare, 99) },
    target: '<= 1.3x',
    note: shared,
  },
  ...(primary === wasm
    ? []
    : [
        {
          name: 'authorizeToolCall p50, native vs cedar-wasm (same run)',
          value: p(primary.ours, 50),
          unit: 'us',
          baseline: { name: 'authorizeToolCall p50 on cedar-wasm', value: p(wasm.ours, 50) },
          note: `p99 ${p(primary.ours, 99).toFixed(1)} us vs ${p(wasm.ours, 99).toFixed(1)} us; cedar-wasm's own bare call p50 ${p(wasm.bare, 50).toFixed(1)} us (authorizer/bare ${(p(wasm.ours, 50) / p(wasm.bare, 50)).toFixed(2)}x)`,
        },
        {
          name: 'one-permit call with this request\'s entities and context p50, native vs cedar-wasm',
          value: p(primary.conversion, 50),
          unit: 'us',
          baseline: { name: 'the same call on cedar-wasm', value: p(wasm.conversion, 50) },
          note: `with no entities: ${p(primary.noEntities, 50).toFixed(1)} us vs ${p(wasm.noEntities, 50).toFixed(1)} us. cedar-wasm converts each JS object of a call property by property and clones the pre-parsed schema and set; the native call takes two JSON strings (the entity slice's kept with the slice)`,
        },
      ]),
  {
    name: `authorizeToolCall p50 vs naive (all policies pre-parsed, ${on(primary)})`,
    value: p(primary.ours, 50),
    unit: 'us',
    baseline: { name: `bare ${on(primary)} call over all 1,000 policies`, value: p(primary.naive, 50) },
    note: `naive p99 ${p(primary.naive, 99).toFixed(1)} us; same entity slice and context`,
  },
  {
    name: `authorizeToolCall p50 vs naive stateless (${on(primary)})`,
    value: p(primary.ours, 50),
    unit: 'us',
    baseline: { name: 'cedar-wasm isAuthorized with all 1,000 policy texts + 10,000 entities per call', value: p(naiveStateless, 50) },
    note: `${NAIVE_STATELESS_ITERATIONS} calls (each parses everything)`,
  },
  {
    name: `authorizeToolCall p50, slice with a @shadow policy (two evaluations, ${on(primary)})`,
    value: p(primary.shadowOurs, 50),
    unit: 'us',
    baseline: { name: `one bare ${on(primary)} evaluation of the enforced slice`, value: p(primary.shadowBare, 50) },
    note: `p99 ${p(primary.shadowOurs, 99).toFixed(1)} us vs ${p(primary.shadowBare, 99).toFixed(1)} us; ~2x expected: the shadow result is a second Cedar call by design`,
  },
  {
    name: `bare pre-parsed call p50 without request validation (${on(primary)}, same slice, schema named)`,
    value: p(primary.noValidation, 50),
    unit: 'us',
    baseline: { name: `${bareName(primary)}, validated`, value: p(primary.bare, 50) },
    note: `without any schema: p50 ${p(primary.noSchema, 50).toFixed(1)} us`,
  },
  {
    name: `calibration: smallest pre-parsed Cedar call p50 (1 policy, 1 action, ${on(primary)})`,
    value: p(primary.tiny, 50),
    unit: 'us',
    ...(primary === wasm ? {} : { baseline: { name: 'the same on cedar-wasm', value: p(wasm.tiny, 50) } }),
    note: `p99 ${p(primary.tiny, 99).toFixed(1)} us; the floor of an engine call on this machine right now (${shared})`,
  },
  {
    name: `first call of a (principal, action) pair p50 (builds + pre-parses its slice, ${on(primary)})`,
    value: p(primary.firstCalls, 50),
    unit: 'us',
    ...(primary === wasm ? {} : { baseline: { name: 'the same on cedar-wasm', value: p(wasm.firstCalls, 50) } }),
    note: `p99 ${p(primary.firstCalls, 99).toFixed(1)} us over 100 pairs; tenant load (parse + strict validation of 1,000 policies) took ${primary.loadMs.toFixed(0)} ms`,
  },
];
report('authz', figures);
