/**
 * The Authorizer port on Cedar, DESIGN.md invariant 2: Cedar's Rust authorizer as an N-API
 * addon, or `@cedar-policy/cedar-wasm` where the addon is not built (cedar-engine.ts).
 *
 * Per tenant, policies are parsed and validated once (policies.ts); per (principal,
 * action) the policies whose scope can match are pre-parsed into the engine's cache
 * once, on first use, so a call evaluates a handful of policies, not the tenant's
 * thousand. A policy scoped `principal == E` joins E's slices only, `principal in G` the
 * slices of G and its members (by the principal's ancestors), `principal is T [in G]`
 * those of T's principals (in G). Entities are sliced the same way: the principal, the
 * resource and their ancestors, built once per (principal, resource). Both caches are
 * LRU-bounded per tenant. A reload that fails validation throws and leaves the policies
 * in force.
 *
 * Decisions: `forbid` wins (Cedar's semantics). A determining permit annotated
 * `@approval("required")` sets `requiresApproval`. Policies annotated `@shadow` are left
 * out of the enforced set; when a slice holds one, the request is evaluated a second time
 * with them and the result is recorded in `shadow`, never enforced.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ClawError, isClawError } from '../../core/errors.js';
import { ADMIN_ACTIONS, type AdminAction } from '../../core/config/access.js';
import type { ClawConfig } from '../../core/config/schema.js';
import type { AuthorizationDecision, Authorizer, DeterminingPolicy, ToolCallRequest } from '../ports.js';
import {
  buildSchema,
  catalog,
  projectArgs,
  tenantEntities,
  toolAction,
  toolArgType,
  uid,
  uidKey,
  type ArgType,
  type EntityJson,
  type Uid,
} from '../../policies/cedar/compile.js';
import {
  compilePolicies,
  policyMatchesAction,
  policyMatchesPrincipal,
  quarantineSource,
  tenantPolicySources,
  type LoadedPolicy,
  type PolicySource,
} from './policies.js';
import { cedarEngine, type CedarEngine, type CedarEngineKind, type StatefulCall } from './cedar-engine.js';

export interface RawRequest {
  tenantId: string;
  principal: Uid;
  /** An Action id: `invokeTool:echo`, `readBlob`, `egress`, ... */
  action: string;
  resource: Uid;
  context: Record<string, unknown>;
}

/** Who asks for an admin action: a signed-in user (by name) or a service API key (by id), and the tenant roles it holds. */
export interface AdminPrincipal {
  kind: 'user' | 'apiKey';
  id: string;
  roles: readonly string[];
}

export interface AdminRequest {
  tenantId: string;
  principal: AdminPrincipal;
  action: AdminAction;
  resource: Uid;
  context?: { runId?: string; reason?: string; approve?: boolean };
}

export interface TenantPolicyInput {
  tenantId: string;
  schema: string;
  sources: PolicySource[];
  entities: EntityJson[];
  /** Per agent: the budget limits that go into `context.budget`. */
  budgets: Record<string, { maxSteps: number; maxTokens: number }>;
}

interface Slice {
  /** The policies whose scope can match (principal and action), enforced and shadow, in load order. */
  policies: LoadedPolicy[];
  /** Pre-parsed policy set id of the enforced policies; undefined when none can match. */
  enforced?: string;
  /** Pre-parsed id of enforced + shadow policies; undefined when the slice has no shadow policy. */
  shadow?: string;
}

/** Policies indexed by principal scope, so a slice is built from a few lists, not a scan of all. */
interface PolicyIndex {
  any: LoadedPolicy[];
  /** `principal == E`, by E's uid key. */
  eq: Map<string, LoadedPolicy[]>;
  /** `principal in G`, by G's uid key. */
  in: Map<string, LoadedPolicy[]>;
  /** `principal is T` and `principal is T in G`, by T. */
  is: Map<string, LoadedPolicy[]>;
  /** Position of each policy in load order. */
  order: Map<LoadedPolicy, number>;
}

interface TenantState {
  tenantId: string;
  generation: number;
  schemaName: string;
  policies: LoadedPolicy[];
  index: PolicyIndex;
  byId: Map<string, LoadedPolicy>;
  entities: Map<string, EntityJson>;
  budgets: TenantPolicyInput['budgets'];
  /** (principal, action) → its slice; bounded, an evicted slice's pre-parsed ids are reused. */
  slices: LRUCache<string, Slice>;
  /** (principal, resource) → the entity slice (or why the request is denied); bounded. */
  entitySlices: LRUCache<string, EntityJson[] | string>;
}

/** Default bound of the per-tenant slice cache ((principal, action) pairs). */
export const DEFAULT_SLICE_CACHE_SIZE = 10_000;
/** Default bound of the per-tenant entity-slice cache ((principal, resource) pairs). */
export const DEFAULT_ENTITY_CACHE_SIZE = 10_000;

/** Per engine, the schemas it holds (by content hash: tenants with the same schema share it). */
const preparsedSchemas = new Map<CedarEngineKind, Set<string>>();

function preparseSchema(engine: CedarEngine, schema: string): string {
  const name = `claw-${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`;
  let held = preparsedSchemas.get(engine.kind);
  if (!held) preparsedSchemas.set(engine.kind, (held = new Set()));
  if (!held.has(name)) {
    const answer = engine.preparseSchema(name, schema);
    if (answer.type === 'failure') throw new ClawError('CEDAR_SCHEMA_INVALID', answer.errors[0]?.message ?? 'schema did not parse', { hint: 'run claw policy validate' });
    held.add(name);
  }
  return name;
}

export interface CedarAuthorizerOptions {
  /** The request time (tests pin it). */
  now?: () => Date;
  /** Per tenant, how many (principal, action) slices stay pre-parsed (LRU); default 10,000. */
  sliceCacheSize?: number;
  /** Per tenant, how many (principal, resource) entity slices are kept (LRU); default 10,000. */
  entityCacheSize?: number;
  /** Which Cedar build evaluates (default: the process's, from CLAW_CEDAR_ENGINE). */
  engine?: CedarEngine;
}

let instances = 0;

export class CedarAuthorizer implements Authorizer {
  private readonly tenants = new Map<string, TenantState>();
  private readonly tools = new Map<string, ArgType & { kind: 'Record' }>();
  private readonly now: () => Date;
  private generations = 0;
  private readonly sliceCacheSize: number;
  private readonly entityCacheSize: number;
  private readonly cedar: CedarEngine;
  /**
   * Pre-parsed policy sets live in the engine's thread-local cache, which has no
   * delete: an id can only be overwritten. Each authorizer therefore draws its ids from a
   * pool of slots (`claw-authz-<instance>-<n>`); an evicted slice gives its slots back and
   * the next slice pre-parses over them, so the engine's cache holds at most as many sets as
   * the LRU caches hold slices (+1 per tenant while a new slice evicts an old one). The
   * instance number keeps two authorizers in one process (tests, `claw policy test`) from
   * overwriting each other's sets.
   */
  private readonly slotPrefix = `claw-authz-${++instances}-`;
  private slotCount = 0;
  private readonly freeSlots: string[] = [];

  constructor(options: CedarAuthorizerOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.sliceCacheSize = Math.max(1, options.sliceCacheSize ?? DEFAULT_SLICE_CACHE_SIZE);
    this.entityCacheSize = Math.max(1, options.entityCacheSize ?? DEFAULT_ENTITY_CACHE_SIZE);
    this.cedar = options.engine ?? cedarEngine();
  }

  /** Which Cedar build decides (logged by the processes at start). */
  get engine(): CedarEngineKind {
    return this.cedar.kind;
  }

  /** Pre-parsed policy sets this authorizer holds in the engine's cache (tests: the cache stays bounded). */
  get preparsedSets(): number {
    return this.slotCount - this.freeSlots.length;
  }

  /** How many slices a tenant has cached. */
  cachedSlices(tenantId: string): number {
    return this.tenants.get(tenantId)?.slices.size ?? 0;
  }

  private takeSlot(): string {
    return this.freeSlots.pop() ?? `${this.slotPrefix}${this.slotCount++}`;
  }

  private releaseSlice(slice: Slice): void {
    if (slice.enforced) this.freeSlots.push(slice.enforced);
    if (slice.shadow) this.freeSlots.push(slice.shadow);
  }

  /** An authorizer for every tenant of an install, from claw.yaml (throws on any invalid policy). */
  static fromConfig(
    config: ClawConfig,
    configFile: string,
    options: CedarAuthorizerOptions & {
      policyDirs?: Record<string, string>;
      /** Per tenant, the policies applied through the admin API (appliedByTenant). */
      applied?: Record<string, PolicySource[]>;
      /** A tenant whose applied policies no longer compile is quarantined (quarantineSource); told here. */
      onQuarantine?: (tenantId: string, problem: string) => void;
    } = {},
  ): CedarAuthorizer {
    const authorizer = new CedarAuthorizer(options);
    for (const tenant of config.tenants) {
      const input = (applied?: PolicySource[]) => tenantInput(config, configFile, tenant.id, options.policyDirs?.[tenant.id], applied);
      const applied = options.applied?.[tenant.id];
      if (!applied?.length) {
        authorizer.load(input());
        continue;
      }
      try {
        authorizer.load(input(applied));
      } catch (err) {
        if (!isClawError(err) || !err.code.startsWith('CEDAR_POLICY_')) throw err;
        // The install's own policies still have to compile: if they do not, this throws as before.
        const problem = err.message.split('\n')[0]!;
        authorizer.load(input([quarantineSource(problem)]));
        options.onQuarantine?.(tenant.id, problem);
      }
    }
    authorizer.setCatalog(config);
    return authorizer;
  }

  /** Argument types of the tool catalog (for `context.args`). */
  setCatalog(config: Pick<ClawConfig, 'tools'>): void {
    this.tools.clear();
    for (const tool of catalog(config)) this.tools.set(tool.name, toolArgType(tool));
  }

  /**
   * Install (or replace) a tenant's policies. Validation happens first; on any error this
   * throws (file:line:col) and the tenant's previous policies stay in force.
   */
  load(input: TenantPolicyInput): { policies: number; warnings: string[] } {
    const bundle = compilePolicies(input.schema, input.sources);
    const schemaName = preparseSchema(this.cedar, input.schema);
    const state: TenantState = {
      tenantId: input.tenantId,
      generation: ++this.generations,
      schemaName,
      policies: bundle.policies,
      index: indexPolicies(bundle.policies),
      byId: new Map(bundle.policies.map((p) => [p.id, p])),
      entities: new Map(input.entities.map((e) => [uidKey(e.uid), e])),
      budgets: input.budgets,
      slices: new LRUCache<string, Slice>({ max: this.sliceCacheSize, dispose: (slice) => this.releaseSlice(slice) }),
      entitySlices: new LRUCache<string, EntityJson[] | string>({ max: this.entityCacheSize }),
    };
    const previous = this.tenants.get(input.tenantId);
    this.tenants.set(input.tenantId, state);
    // The replaced policies' slices are never used again: give their slots back.
    previous?.slices.clear();
    return { policies: bundle.policies.length, warnings: bundle.warnings };
  }

  /**
   * The policies a request of `principal` for `action` is evaluated against (enforced and
   * `@shadow`), as cached for it; empty for an unknown tenant or principal. For the bench
   * baseline and tests.
   */
  slicePolicies(tenantId: string, principal: Uid, action: string): readonly LoadedPolicy[] {
    const state = this.tenants.get(tenantId);
    if (!state) return [];
    return this.ancestors(state, principal) ? this.slice(state, principal, action).policies : [];
  }

  /** The policies in force for a tenant (for explain and tests). */
  policies(tenantId: string): readonly LoadedPolicy[] {
    return this.tenants.get(tenantId)?.policies ?? [];
  }

  async authorize(request: ToolCallRequest): Promise<AuthorizationDecision> {
    return this.authorizeToolCall(request);
  }

  /** Synchronous form of `authorize` (a Cedar call is synchronous). */
  authorizeToolCall(request: ToolCallRequest): AuthorizationDecision {
    const argType = this.tools.get(request.tool);
    if (!argType) return denied([`unknown tool '${request.tool}': not in the tool catalog`]);
    const projected = projectArgs(request.args ?? {}, argType);
    if (projected.errors.length) return denied(projected.errors.map((e) => `invalid arguments for ${request.tool}: ${e}`));
    return this.authorizeRaw({
      tenantId: request.tenantId,
      principal: uid.agent(request.tenantId, request.agentId),
      action: toolAction(request.tool),
      resource: uid.tool(request.tenantId, request.tool),
      context: {
        tool: request.tool,
        runId: request.runId,
        channel: request.channel ?? '',
        budget: request.budget ?? { stepsUsed: 0, tokensUsed: 0 },
        args: projected.value,
      },
    }, request.agentId);
  }

  /**
   * Any request (blobs, messages, egress, or a tool call built by hand). `context.time`
   * and `context.budget` limits are filled in here.
   */
  authorizeRaw(request: RawRequest, agentId?: string): AuthorizationDecision {
    const state = this.tenants.get(request.tenantId);
    if (!state) return denied([`no policies are loaded for tenant '${request.tenantId}'`]);
    const entities = this.entitySlice(state, request);
    if (typeof entities === 'string') return denied([entities]);
    const context = this.context(state, request, agentId);
    return this.decide(state, request, context, entities, this.slice(state, request.principal, request.action));
  }

  /**
   * An admin action of a person or an API key (core/config/access.ts): the principal is
   * `User::"<tenant>/<name>"` or `ApiKey::"<tenant>/<id>"`, a member of the tenant's roles
   * it holds now (from its token's groups or the key's scope; a role claw.yaml does not
   * define is dropped). Decided by the same policies, with the same explanation, as a
   * tool call.
   */
  authorizeAdmin(request: AdminRequest): AuthorizationDecision {
    const state = this.tenants.get(request.tenantId);
    if (!state) return denied([`no policies are loaded for tenant '${request.tenantId}'`]);
    const spec = ADMIN_ACTIONS[request.action];
    if (!spec) return denied([`'${String(request.action)}' is not an admin action`]);
    if (request.resource.type !== spec.resource) return denied([`${request.action} acts on a ${spec.resource}, not a ${request.resource.type}`]);
    const tenant = uid.tenant(state.tenantId);
    const principal = request.principal.kind === 'user' ? uid.user(state.tenantId, request.principal.id) : uid.apiKey(state.tenantId, request.principal.id);
    const roles = [...new Set(request.principal.roles)].sort().map((r) => uid.role(state.tenantId, r)).filter((r) => state.entities.has(uidKey(r)));
    const person: EntityJson = { uid: principal, attrs: { tenant: { __entity: tenant }, name: request.principal.id }, parents: [...roles, tenant] };
    const extra = new Map([[uidKey(principal), person]]);
    // An agent claw.yaml does not name (one applied through the admin API, or about to be) is
    // still the tenant's: as a resource of an admin action it is the agent of that name.
    const resourceKey = uidKey(request.resource);
    const agentName = request.resource.id.slice(state.tenantId.length + 1);
    if (request.resource.type === 'Agent' && request.resource.id.startsWith(`${state.tenantId}/`) && agentName && !state.entities.has(resourceKey)) {
      extra.set(resourceKey, { uid: request.resource, attrs: { tenant: { __entity: tenant }, name: agentName }, parents: [tenant] });
    }
    const raw: RawRequest = { tenantId: state.tenantId, principal, action: request.action, resource: request.resource, context: {} };
    const entities = this.buildEntitySlice(state, raw, extra);
    if (typeof entities === 'string') return denied([entities]);
    const now = this.now();
    const context: Record<string, unknown> = {
      time: { epochSeconds: Math.floor(now.getTime() / 1000), hour: now.getUTCHours(), weekday: now.getUTCDay() },
      runId: request.context?.runId ?? '',
      reason: request.context?.reason ?? '',
      ...(request.action === 'decideApproval' ? { approve: request.context?.approve ?? false } : {}),
    };
    // The slice depends on the roles held now, so they are part of its key.
    const slice = this.slice(state, principal, request.action, extra, roles.map(uidKey).join(','));
    return this.decide(state, raw, context, entities, slice);
  }

  private decide(state: TenantState, request: RawRequest, context: Record<string, unknown>, entities: EntityJson[], slice: Slice): AuthorizationDecision {
    const base = {
      principal: request.principal,
      action: { type: 'Action', id: request.action },
      resource: request.resource,
      context,
      entities,
    };
    const enforced = slice.enforced ? this.evaluate(state, slice.enforced, base) : denied([]);
    if (slice.shadow) {
      const shadow = this.evaluate(state, slice.shadow, base);
      enforced.shadow = { decision: shadow.decision, determining: shadow.determining };
    }
    return enforced;
  }

  private evaluate(state: TenantState, policySetId: string, call: Omit<StatefulCall, 'preparsedPolicySetId' | 'validateRequest'>): AuthorizationDecision {
    // Request validation stays on. Strict validation of the policies at load proves the
    // policies are well-typed for every request that conforms to the schema; it proves
    // nothing about this request. authorizeRaw takes callers' contexts (a budget that is
    // not a Long, a missing runId, a principal type the action does not apply to); without
    // validation such a request is evaluated anyway, a forbid reading the bad attribute
    // errors and is skipped, and a permit can win: a changed decision. It costs ~10% of a
    // call here (bench: bare call with and without it), and the bare baseline pays it too.
    const answer = this.cedar.isAuthorized({
      ...call,
      preparsedPolicySetId: policySetId,
      preparsedSchemaName: state.schemaName,
      validateRequest: true,
    });
    if (answer.type === 'failure') return denied(answer.errors.map((e) => e.message));
    const { decision, diagnostics } = answer.response;
    const determining: DeterminingPolicy[] = diagnostics.reason.map((id) => ({ id, annotations: state.byId.get(id)?.annotations ?? {} }));
    if (decision === 'deny' && determining.length === 0) determining.push(DEFAULT_DENY);
    const requiresApproval =
      decision === 'allow' && determining.some((d) => d.annotations.approval !== undefined && d.annotations.approval !== 'none');
    return {
      decision,
      requiresApproval,
      determining,
      errors: diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`),
    };
  }

  private context(state: TenantState, request: RawRequest, agentId?: string): Record<string, unknown> {
    const now = this.now();
    const time = { epochSeconds: Math.floor(now.getTime() / 1000), hour: now.getUTCHours(), weekday: now.getUTCDay() };
    const context: Record<string, unknown> = { runId: '', ...request.context, time };
    if (request.action === 'egress') return { tool: '', ...context };
    const limits = state.budgets[agentId ?? request.principal.id.slice(state.tenantId.length + 1)] ?? { maxSteps: 0, maxTokens: 0 };
    const used = (request.context.budget ?? {}) as { stepsUsed?: number; tokensUsed?: number };
    context.budget = { stepsUsed: used.stepsUsed ?? 0, tokensUsed: used.tokensUsed ?? 0, ...limits };
    context.channel ??= '';
    return context;
  }

  /**
   * The principal, the resource and their ancestors; unknown entities deny the request.
   * Entities change only when the tenant is (re)loaded, so the slice of a (principal,
   * resource) pair is built once and the same objects are handed to the engine each call (the native one keeps their JSON).
   */
  private entitySlice(state: TenantState, request: RawRequest): EntityJson[] | string {
    const cacheKey = `${uidKey(request.principal)}|${uidKey(request.resource)}`;
    const cached = state.entitySlices.get(cacheKey);
    if (cached !== undefined) return cached;
    const built = this.buildEntitySlice(state, request);
    state.entitySlices.set(cacheKey, built);
    return built;
  }

  /** A tenant's entity by uid; blobs are not enumerated, so one inside the tenant's namespace is made up. */
  private entity(state: TenantState, u: Uid, key = uidKey(u), extra?: ReadonlyMap<string, EntityJson>): EntityJson | undefined {
    const entity = extra?.get(key) ?? state.entities.get(key);
    if (entity || !u.id.startsWith(`${state.tenantId}/`)) return entity;
    const tenant = uid.tenant(state.tenantId);
    const name = u.id.slice(state.tenantId.length + 1);
    if (u.type === 'Blob') return { uid: u, attrs: { tenant: { __entity: tenant }, key: name }, parents: [tenant] };
    if (u.type === 'Secret' && name) return { uid: u, attrs: { tenant: { __entity: tenant }, name }, parents: [tenant] };
    return undefined;
  }

  /**
   * Uid keys of `u`'s ancestors, transitively (what Cedar's `in` sees with the entity slice
   * this authorizer passes: the same entities, the same parents); undefined if `u` is unknown.
   */
  private ancestors(state: TenantState, u: Uid, extra?: ReadonlyMap<string, EntityJson>): Set<string> | undefined {
    const root = this.entity(state, u, uidKey(u), extra);
    if (!root) return undefined;
    const out = new Set<string>();
    const visit = (e: EntityJson) => {
      for (const parent of e.parents) {
        const key = uidKey(parent);
        if (out.has(key)) continue;
        out.add(key);
        const entity = this.entity(state, parent, key);
        if (entity) visit(entity);
      }
    };
    visit(root);
    return out;
  }

  private buildEntitySlice(state: TenantState, request: RawRequest, extra?: ReadonlyMap<string, EntityJson>): EntityJson[] | string {
    const out: EntityJson[] = [];
    const seen = new Set<string>();
    const visit = (u: Uid, what: string): string | undefined => {
      const key = uidKey(u);
      if (seen.has(key)) return undefined;
      const entity = this.entity(state, u, key, extra);
      if (!entity) return `unknown ${what} ${key} in tenant '${state.tenantId}'`;
      seen.add(key);
      out.push(entity);
      for (const parent of entity.parents) {
        const err = visit(parent, 'ancestor');
        if (err) return err;
      }
      return undefined;
    };
    return visit(request.principal, 'principal') ?? visit(request.resource, 'resource') ?? out;
  }

  /**
   * The policies whose scope can match `principal` (`==` it, `in` it or one of its
   * ancestors, `is` its type, or any principal) and `action`, pre-parsed. A policy left
   * out could not be satisfied by this principal whatever the resource and context, so
   * the decision is the one over all the tenant's policies.
   */
  private slice(state: TenantState, principal: Uid, action: string, extra?: ReadonlyMap<string, EntityJson>, parentsKey = ''): Slice {
    const principalKey = uidKey(principal);
    const key = `${principalKey}|${action}|${parentsKey}`;
    const cached = state.slices.get(key);
    if (cached) return cached;
    // Callers resolved the principal first (an unknown one is denied before any slice).
    const ancestors = this.ancestors(state, principal, extra) ?? new Set<string>();
    const { index } = state;
    const candidates = new Set<LoadedPolicy>(index.any);
    for (const p of index.eq.get(principalKey) ?? []) candidates.add(p);
    for (const group of [principalKey, ...ancestors]) for (const p of index.in.get(group) ?? []) candidates.add(p);
    for (const p of index.is.get(principal.type) ?? []) candidates.add(p);
    const matching = [...candidates]
      .filter((p) => policyMatchesPrincipal(p, principalKey, principal.type, ancestors) && policyMatchesAction(p, action))
      .sort((a, b) => index.order.get(a)! - index.order.get(b)!);
    const enforced = matching.filter((p) => !p.shadow);
    const slice: Slice = { policies: matching };
    try {
      if (enforced.length) slice.enforced = this.preparse(enforced);
      if (matching.length > enforced.length) slice.shadow = this.preparse(matching);
    } catch (err) {
      this.releaseSlice(slice);
      throw err;
    }
    state.slices.set(key, slice);
    return slice;
  }

  private preparse(policies: LoadedPolicy[]): string {
    const id = this.takeSlot();
    const staticPolicies: Record<string, string> = {};
    for (const p of policies) staticPolicies[p.id] = p.text;
    const answer = this.cedar.preparsePolicySet(id, staticPolicies);
    if (answer.type === 'failure') {
      this.freeSlots.push(id);
      throw new ClawError('CEDAR_INTERNAL', `validated policies did not pre-parse: ${answer.errors[0]?.message}`, { hint: 'this is a bug in claw' });
    }
    return id;
  }
}

function indexPolicies(policies: LoadedPolicy[]): PolicyIndex {
  const index: PolicyIndex = { any: [], eq: new Map(), in: new Map(), is: new Map(), order: new Map() };
  const add = (map: Map<string, LoadedPolicy[]>, key: string, p: LoadedPolicy) => {
    const list = map.get(key);
    if (list) list.push(p);
    else map.set(key, [p]);
  };
  policies.forEach((p, n) => {
    index.order.set(p, n);
    const s = p.principalScope;
    if (s.op === '==') add(index.eq, s.entity, p);
    else if (s.op === 'in') add(index.in, s.entity, p);
    else if (s.op === 'is') add(index.is, s.type, p);
    else index.any.push(p);
  });
  return index;
}

/**
 * Cedar denies when no permit applies; the record names that explicitly so a reader of
 * the trace sees why, not an empty list.
 */
export const DEFAULT_DENY: DeterminingPolicy = {
  id: 'cedar:default-deny',
  annotations: { reason: 'no policy permits this request (deny by default): the agent has no grant for it' },
};

function denied(errors: string[]): AuthorizationDecision {
  return { decision: 'deny', requiresApproval: false, determining: [DEFAULT_DENY], errors };
}

/**
 * A tenant's policy input from claw.yaml (base + compiled grants + the tenant's directory),
 * and the policies applied through the admin API (`applied`, appliedPolicySources).
 */
export function tenantInput(config: ClawConfig, configFile: string, tenantId: string, overrideDir?: string, applied: PolicySource[] = []): TenantPolicyInput {
  const budgets: TenantPolicyInput['budgets'] = {};
  for (const agent of config.agents.filter((a) => a.tenant === tenantId)) {
    budgets[agent.id] = { maxSteps: agent.budget.maxSteps, maxTokens: agent.budget.maxTokens };
  }
  return {
    tenantId,
    schema: buildSchema(config),
    sources: [...tenantPolicySources(config, configFile, tenantId, overrideDir), ...applied],
    entities: tenantEntities(config, tenantId),
    budgets,
  };
}
