/**
 * The Authorizer port on Cedar (`@cedar-policy/cedar-wasm`), DESIGN.md invariant 2.
 *
 * Per tenant, policies are parsed and validated once (policies.ts); per (principal,
 * action) the policies whose scope can match are pre-parsed into the wasm module's cache
 * once, on first use, so a call evaluates a handful of policies, not the tenant's
 * thousand. Entities are sliced the same way: the principal, the resource and their
 * ancestors. A reload that fails validation throws and leaves the policies in force.
 *
 * Decisions: `forbid` wins (Cedar's semantics). A determining permit annotated
 * `@approval("required")` sets `requiresApproval`. Policies annotated `@shadow` are left
 * out of the enforced set; when a slice holds one, the request is evaluated a second time
 * with them and the result is recorded in `shadow`, never enforced.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { createHash } from 'node:crypto';
import { ClawError } from '../../core/errors.js';
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
import { compilePolicies, policyMatchesAction, tenantPolicySources, type LoadedPolicy, type PolicySource } from './policies.js';

export interface RawRequest {
  tenantId: string;
  principal: Uid;
  /** An Action id: `invokeTool:echo`, `readBlob`, `egress`, ... */
  action: string;
  resource: Uid;
  context: Record<string, unknown>;
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
  /** Pre-parsed policy set id of the enforced policies; undefined when none can match. */
  enforced?: string;
  /** Pre-parsed id of enforced + shadow policies; undefined when the slice has no shadow policy. */
  shadow?: string;
}

interface TenantState {
  tenantId: string;
  generation: number;
  schemaName: string;
  policies: LoadedPolicy[];
  byId: Map<string, LoadedPolicy>;
  entities: Map<string, EntityJson>;
  budgets: TenantPolicyInput['budgets'];
  slices: Map<string, Slice>;
}

const preparsedSchemas = new Set<string>();

function preparseSchema(schema: string): string {
  const name = `claw-${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`;
  if (!preparsedSchemas.has(name)) {
    const answer = cedar.preparseSchema(name, schema);
    if (answer.type === 'failure') throw new ClawError('CEDAR_SCHEMA_INVALID', answer.errors[0]?.message ?? 'schema did not parse', { hint: 'run claw policy validate' });
    preparsedSchemas.add(name);
  }
  return name;
}

export interface CedarAuthorizerOptions {
  /** The request time (tests pin it). */
  now?: () => Date;
}

export class CedarAuthorizer implements Authorizer {
  private readonly tenants = new Map<string, TenantState>();
  private readonly tools = new Map<string, ArgType & { kind: 'Record' }>();
  private readonly now: () => Date;
  private generations = 0;

  constructor(options: CedarAuthorizerOptions = {}) {
    this.now = options.now ?? (() => new Date());
  }

  /** An authorizer for every tenant of an install, from claw.yaml (throws on any invalid policy). */
  static fromConfig(config: ClawConfig, configFile: string, options: CedarAuthorizerOptions & { policyDirs?: Record<string, string> } = {}): CedarAuthorizer {
    const authorizer = new CedarAuthorizer(options);
    for (const tenant of config.tenants) authorizer.load(tenantInput(config, configFile, tenant.id, options.policyDirs?.[tenant.id]));
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
    const schemaName = preparseSchema(input.schema);
    const state: TenantState = {
      tenantId: input.tenantId,
      generation: ++this.generations,
      schemaName,
      policies: bundle.policies,
      byId: new Map(bundle.policies.map((p) => [p.id, p])),
      entities: new Map(input.entities.map((e) => [uidKey(e.uid), e])),
      budgets: input.budgets,
      slices: new Map(),
    };
    this.tenants.set(input.tenantId, state);
    return { policies: bundle.policies.length, warnings: bundle.warnings };
  }

  /** The policies in force for a tenant (for explain and tests). */
  policies(tenantId: string): readonly LoadedPolicy[] {
    return this.tenants.get(tenantId)?.policies ?? [];
  }

  async authorize(request: ToolCallRequest): Promise<AuthorizationDecision> {
    return this.authorizeToolCall(request);
  }

  /** Synchronous form of `authorize` (the wasm call is synchronous). */
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
    const slice = this.slice(state, uidKey(request.principal), request.action);
    const base = {
      principal: request.principal,
      action: { type: 'Action', id: request.action },
      resource: request.resource,
      context: context as cedar.Context,
      entities: entities as cedar.Entities,
    };
    const enforced = slice.enforced ? this.evaluate(state, slice.enforced, base) : denied([]);
    if (slice.shadow) {
      const shadow = this.evaluate(state, slice.shadow, base);
      enforced.shadow = { decision: shadow.decision, determining: shadow.determining };
    }
    return enforced;
  }

  private evaluate(state: TenantState, policySetId: string, call: Omit<cedar.StatefulAuthorizationCall, 'preparsedPolicySetId'>): AuthorizationDecision {
    const answer = cedar.statefulIsAuthorized({
      ...call,
      preparsedPolicySetId: policySetId,
      preparsedSchemaName: state.schemaName,
      validateRequest: true,
    } as cedar.StatefulAuthorizationCall);
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

  /** The principal, the resource and their ancestors; unknown entities deny the request. */
  private entitySlice(state: TenantState, request: RawRequest): EntityJson[] | string {
    const out: EntityJson[] = [];
    const seen = new Set<string>();
    const visit = (u: Uid, what: string): string | undefined => {
      const key = uidKey(u);
      if (seen.has(key)) return undefined;
      let entity = state.entities.get(key);
      if (!entity && u.type === 'Blob' && u.id.startsWith(`${state.tenantId}/`)) {
        // Blobs are not enumerated; a blob key inside the tenant's namespace is an entity of the tenant.
        const tenant = uid.tenant(state.tenantId);
        entity = { uid: u, attrs: { tenant: { __entity: tenant }, key: u.id.slice(state.tenantId.length + 1) }, parents: [tenant] };
      }
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

  private slice(state: TenantState, principal: string, action: string): Slice {
    const key = `${principal}|${action}`;
    const cached = state.slices.get(key);
    if (cached) return cached;
    const matching = state.policies.filter((p) => (p.principal === '*' || p.principal === principal) && policyMatchesAction(p, action));
    const enforced = matching.filter((p) => !p.shadow);
    const slice: Slice = {};
    // Ids are stable per (tenant, slice) so a reload overwrites the wasm cache entry instead of growing it.
    const id = `${state.tenantId}\u0000${key}`;
    if (enforced.length) slice.enforced = preparse(`${id}\u0000enforced`, enforced);
    if (matching.length > enforced.length) slice.shadow = preparse(`${id}\u0000shadow`, matching);
    state.slices.set(key, slice);
    return slice;
  }
}

function preparse(id: string, policies: LoadedPolicy[]): string {
  const staticPolicies: Record<string, string> = {};
  for (const p of policies) staticPolicies[p.id] = p.text;
  const answer = cedar.preparsePolicySet(id, { staticPolicies });
  if (answer.type === 'failure') {
    throw new ClawError('CEDAR_INTERNAL', `validated policies did not pre-parse: ${answer.errors[0]?.message}`, { hint: 'this is a bug in claw' });
  }
  return id;
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

/** A tenant's policy input from claw.yaml (base + compiled grants + the tenant's directory). */
export function tenantInput(config: ClawConfig, configFile: string, tenantId: string, overrideDir?: string): TenantPolicyInput {
  const budgets: TenantPolicyInput['budgets'] = {};
  for (const agent of config.agents.filter((a) => a.tenant === tenantId)) {
    budgets[agent.id] = { maxSteps: agent.budget.maxSteps, maxTokens: agent.budget.maxTokens };
  }
  return {
    tenantId,
    schema: buildSchema(config),
    sources: tenantPolicySources(config, configFile, tenantId, overrideDir),
    entities: tenantEntities(config, tenantId),
    budgets,
  };
}
