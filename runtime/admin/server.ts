/**
 * The admin API: one HTTP API for people and automation, used by the CLI's platform
 * commands and the web console. Served by the gateway process on its port, under /api/v1
 * (and SCIM under /scim/v2, scim.ts); the OpenAPI 3.1 document at /api/v1/openapi.json is
 * generated from the route schemas below (@fastify/swagger).
 *
 * Every request goes the same way (`guard`):
 *   1. who: a bearer ID token of the install's OpenID Provider, or a service API key
 *      (runtime/identity) — 401 with a stable code otherwise;
 *   2. may they: Cedar decides the admin action (core/config/access.ts) for the caller as a
 *      `User` or `ApiKey` in the tenant's roles it holds now — 403 ADMIN_FORBIDDEN naming
 *      the policies that decided and their reasons, as a tool call's explanation does;
 *   3. the record: every change, every decryption and every refusal is appended to the
 *      tenant's audit log (runtime/audit) with who, what, the decision and those policies,
 *      before the change is made. Reads that are allowed are not recorded.
 *
 * Errors are `{ code, message, hint? }` with the codes the CLI prints (docs/errors.md).
 */
import { basename, isAbsolute } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError, isClawError } from '../../core/errors.js';
import { grantedActions, type AdminAction } from '../../core/config/access.js';
import { uid, type Uid } from '../../policies/cedar/compile.js';
import type { AuditLog } from '../audit/log.js';
import type { AdminPrincipal } from '../authz/authorizer.js';
import { decide, listPending, parkedCall } from '../approvals/service.js';
import type { AuthorizationDecision, SecretStore, TenantKeyring } from '../ports.js';
import type { RunReader, RunStatus } from '../traces/runs.js';
import type { AgentRecord, PolicyRevision } from '../store/metadata.js';
import type { Agent } from '../../core/config/schema.js';
import { checkAgent, parseAgentFile, toolCatalog } from '../../core/config/load.js';
import { appliedPolicySources, type PolicySource } from '../authz/policies.js';
import { CedarAuthorizer, tenantInput } from '../authz/authorizer.js';
import { fromJson, toJson, type JsonPayload } from '../codec-server/server.js';
import { diffPolicies } from '../authz/diff.js';
import { payloadTenant, tenantPayloadCodec } from '../crypto/codec.js';
import type { TenantClient } from '../temporal/connection.js';
import { callerRef, type Caller, type Identity } from '../identity/identity.js';
import type { IdentityStore } from '../identity/store.js';
import { registerScim, SCIM_ERROR } from './scim.js';
import { registerConsole } from '../console/serve.js';
import * as S from './schemas.js';

export interface AdminApiOptions {
  config: () => ClawConfig;
  /** The Cedar authorizer of the current config (rebuilt by the owner when claw.yaml changes). */
  authorizer: () => CedarAuthorizer;
  identity: Identity;
  identities: IdentityStore;
  audit: AuditLog;
  /** The tenant's Temporal client, with its payload codec. */
  tenantClient: (tenantId: string) => Promise<TenantClient>;
  secrets?: SecretStore;
  /** The tenant keyring: key status, rotation and shredding. */
  keyring?: TenantKeyring;
  /** Key versions where the backend keeps them locally (the local keyring). */
  keyVersions?: (tenantId: string) => number[] | undefined;
  /** Run summaries and timelines from the tenant's traces (its target's lake: runtime/targets; absent where this process has none). */
  traces?: RunReader;
  /** claw.yaml's path (policy diffs rebuild the tenant's policies from it). */
  configFile?: () => string;
  /** Origins allowed to call /api/v1/codec (the Temporal Web UI's), with credentials. */
  codecCorsOrigins?: string[];
  /** The agents as stored, with their revisions; absent where this process has no metadata store. */
  agents?: {
    list(tenantId: string): Promise<AgentRecord[]>;
    revisions(tenantId: string, agentId: string): Promise<AgentRecord[]>;
    apply(agent: Agent, appliedBy: string): Promise<{ revision: number; changed: boolean }>;
  };
  /** Tenant policies applied through this API (revision by revision); absent where this process has no metadata store. */
  policies?: {
    list(tenantId: string): Promise<{ name: string; text: string; revision: number }[]>;
    revisions(tenantId: string, name: string): Promise<PolicyRevision[]>;
    apply(tenantId: string, name: string, text: string | undefined, appliedBy: string): Promise<{ revision: number; changed: boolean }>;
  };
  /**
   * Brings `authorizer()` up to date with the tenant's applied policies before the tenant's
   * admin decisions of a request (another gateway replica may have changed them).
   */
  refreshTenant?(tenantId: string): Promise<void>;
  logger?: boolean;
  /** Serve the web console under /console (runtime/console). */
  console?: boolean;
}

/** HTTP status of each error code the API answers with (anything else is a 500). */
const STATUS: Record<string, number> = {
  AUTH_REQUIRED: 401,
  AUTH_TOKEN_INVALID: 401,
  AUTH_TOKEN_EXPIRED: 401,
  AUTH_KEY_INVALID: 401,
  AUTH_KEY_REVOKED: 401,
  AUTH_KEY_EXPIRED: 401,
  AUTH_USER_DEPROVISIONED: 401,
  AUTH_OIDC_NOT_CONFIGURED: 401,
  ADMIN_FORBIDDEN: 403,
  REQUEST_INVALID: 400,
  CONFIG_INVALID: 400,
  UNKNOWN_TOOL: 400,
  UNKNOWN_TENANT: 400,
  POLICY_NAME_INVALID: 400,
  API_KEY_TTL_INVALID: 400,
  API_KEY_ROLE_UNKNOWN: 400,
  SCIM_INVALID: 400,
  UNKNOWN_RUN: 404,
  NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  RUN_STATUS_INVALID: 400,
  RUN_FILTER_INVALID: 400,
  RUN_ID_INVALID: 400,
  CEDAR_POLICY_SYNTAX: 400,
  CEDAR_POLICY_SCHEMA: 400,
  CEDAR_POLICY_DUPLICATE_ID: 400,
  NOT_AVAILABLE: 501,
  CALL_NOT_PENDING: 409,
  RUN_NOT_RUNNING: 409,
  SCIM_UNIQUENESS: 409,
  WORKER_UNAVAILABLE: 503,
  TENANT_KEY_DESTROYED: 410,
  TENANT_KEY_MISSING: 404,
  PAYLOAD_NOT_ENCRYPTED: 422,
  PAYLOAD_TENANT_MISMATCH: 422,
  PAYLOAD_UNSEALABLE: 422,
  PAYLOAD_CONTEXT_MISSING: 422,
  PAYLOAD_WORKFLOW_NOT_TENANT: 422,
  CIPHERTEXT_CORRUPT: 422,
  CIPHERTEXT_PURPOSE_MISMATCH: 422,
  CIPHERTEXT_TENANT_MISMATCH: 422,
  CIPHERTEXT_TRUNCATED: 422,
  ENVELOPE_HEADER_TOO_LARGE: 422,
  TENANT_ID_INVALID: 400,
  KMS_THROTTLED: 503,
  LAKE_REQUEST_FAILED: 502,
  LAKE_QUERY_FAILED: 502,
  LAKE_QUERY_TIMEOUT: 504,
  KMS_UNAVAILABLE: 503,
  OIDC_UNREACHABLE: 503,
  OIDC_ISSUER_MISMATCH: 503,
  STORE_UNAVAILABLE: 503,
};

export function statusOf(code: string): number {
  return STATUS[code] ?? 500;
}

/** What a request needs to be allowed: the admin action, on what, and what the audit log calls it. */
export interface Guarded {
  tenantId: string;
  action: AdminAction;
  resource: Uid;
  /** The audit log's name for it (e.g. approval.grant) and what it acted on (e.g. run/r1/call/c1). */
  audit: { action: string; resource: string; details?: Record<string, string | number | boolean> };
  context?: { runId?: string; reason?: string; approve?: boolean };
  /** Record it even when allowed (changes and decryptions); refusals are always recorded. */
  record: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    clawCaller?: Caller;
    /** The caller's principal per tenant, looked up once per request (the directory is asked once). */
    clawPrincipals?: Map<string, Promise<AdminPrincipal>>;
  }
}

export async function buildAdminApi(options: AdminApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array' } },
    // Errors the router raises before any route runs (a path parameter over its length, a
    // body that is not the declared content type) get the same shapes as every other error.
    frameworkErrors: (error, request, anyReply) => {
      const reply = anyReply as FastifyReply;
      const status = (error as { statusCode?: number }).statusCode ?? 400;
      const message = `the request was refused before routing (${(error as { code?: string }).code ?? 'invalid'})`;
      if (request.url.startsWith('/scim/')) return reply.code(status).send({ schemas: [SCIM_ERROR], status: String(status), detail: message, code: 'SCIM_INVALID' });
      return reply.code(status).send({ code: 'REQUEST_INVALID', message, hint: 'see /api/v1/openapi.json for what this operation takes' });
    },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Claw admin API', version: 'v1', description: 'Approvals, audit, API keys and people of a Claw install. Every operation is authorized by Cedar and refusals name the deciding policies.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: "An ID token of the install's OpenID Provider, or a service API key (clawk_…)" } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown; code?: string }, request, reply) => {
    if (isClawError(error)) {
      const status = statusOf(error.code);
      if (status >= 500) request.log.error({ code: error.code }, 'admin API error');
      return reply.code(status).send({ code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}), ...(error.code === 'ADMIN_FORBIDDEN' && error.details ? { details: error.details } : {}) });
    }
    if (error.validation || (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)) {
      return reply.code(error.statusCode && error.statusCode !== 500 ? error.statusCode : 400).send({ code: 'REQUEST_INVALID', message: error.message.split('\n')[0], hint: 'see /api/v1/openapi.json for what this operation takes' });
    }
    request.log.error({ code: error.code ?? 'INTERNAL' }, 'admin API error');
    return reply.code(500).send({ code: 'INTERNAL', message: 'the admin API failed', hint: "see the gateway's log" });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ code: 'NOT_FOUND', message: `no ${request.method} ${request.url.split('?')[0]} here`, hint: 'see /api/v1/openapi.json' }));

  const caller = async (request: FastifyRequest): Promise<Caller> => (request.clawCaller ??= await options.identity.authenticate(request.headers.authorization));
  const principalOf = async (request: FastifyRequest, tenantId: string): Promise<AdminPrincipal> => {
    const who = await caller(request);
    const known = (request.clawPrincipals ??= new Map());
    let principal = known.get(tenantId);
    if (!principal) {
      principal = (options.refreshTenant?.(tenantId) ?? Promise.resolve()).then(() => options.identity.principal(who, tenantId));
      known.set(tenantId, principal);
    }
    return principal;
  };

  /** Authenticate, authorize and (for changes, decryptions and refusals) record; throws ADMIN_FORBIDDEN on deny. */
  async function guard(request: FastifyRequest, g: Guarded): Promise<{ caller: Caller; decision: AuthorizationDecision }> {
    const who = await caller(request);
    const known = options.config().tenants.some((t) => t.id === g.tenantId);
    const principal = await principalOf(request, g.tenantId);
    const decision = known
      ? options.authorizer().authorizeAdmin({ tenantId: g.tenantId, principal, action: g.action, resource: g.resource, ...(g.context ? { context: g.context } : {}) })
      : undefined;
    if (decision && (g.record || decision.decision === 'deny')) {
      await options.audit.append(g.tenantId, {
        actor: { kind: who.kind, id: who.id },
        action: g.audit.action,
        resource: g.audit.resource,
        decision: decision.decision,
        determiningPolicies: decision.determining.map((d) => d.id),
        details: { ...g.audit.details, roles: principal.roles.join(',') },
      });
    }
    if (!decision || decision.decision === 'deny') {
      // An unknown tenant is refused like one the caller holds no role in: ids are not probed from outside.
      const determining = decision?.determining ?? [];
      throw new ClawError('ADMIN_FORBIDDEN', `${callerRef(who)} may not ${g.action} in tenant '${g.tenantId}'`, {
        hint: determining.length ? determining.map((d) => `${d.id}: ${d.annotations.reason ?? 'no reason given'}`).join('; ') : 'hold a role that grants it (claw.yaml tenants[].roles)',
        details: { action: g.action, determiningPolicies: determining.map((d) => ({ id: d.id, reason: d.annotations.reason ?? '' })) },
      });
    }
    return { caller: who, decision };
  }

  const tenantResource = (tenantId: string) => uid.tenant(tenantId);

  /**
   * For per-agent actions on a tenant-wide request (list runs, read agents, decode payloads):
   * which of `agentIds` (default: the tenant's agents in claw.yaml) Cedar lets the caller
   * take `action` on (and the principal and authorizer it was decided with).
   */
  async function agentsAllowed(request: FastifyRequest, tenantId: string, action: AdminAction, agentIds?: string[]) {
    const principal = await principalOf(request, tenantId);
    const authorizer = options.authorizer();
    const ids = agentIds ?? options.config().agents.filter((a) => a.tenant === tenantId).map((a) => a.id);
    const allowed = new Set(ids.filter((a) => authorizer.authorizeAdmin({ tenantId, principal, action, resource: uid.agent(tenantId, a) }).decision === 'allow'));
    return { ids, allowed, denied: ids.filter((a) => !allowed.has(a)), principal, authorizer };
  }

  // ---------------------------------------------------------------- who am I

  app.get('/api/v1/me', { schema: { operationId: 'me', summary: 'who the caller is and the tenants it holds roles in', response: { 200: S.Me, default: S.ApiError } } }, async (request) => {
    const who = await caller(request);
    return { kind: who.kind, id: who.id, tenants: await options.identity.memberships(who) };
  });

  // ---------------------------------------------------------------- approvals

  app.get<{ Params: { tenant: string } }>(
    '/api/v1/tenants/:tenant/approvals',
    { schema: { operationId: 'listApprovals', summary: "the tenant's parked tool calls, of the agents whose runs the caller may list", params: S.TenantParams, response: { 200: S.ApprovalList, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      const { ids: agents, allowed: listable, principal, authorizer } = await agentsAllowed(request, tenantId, 'listRuns');
      // Allowed for no agent at all: refused (and recorded) with the policies that decided.
      if (listable.size === 0) {
        await guard(request, { tenantId, action: 'listRuns', resource: uid.agent(tenantId, agents[0] ?? '-'), audit: { action: 'runs.list', resource: 'approvals' }, record: false });
      }
      const rows = (await listPending(await options.tenantClient(tenantId))).filter((row) => row.agentId !== undefined && listable.has(row.agentId));
      // Whether the caller may decide each call (the console disables what it may not; the API refuses it anyway).
      const mayDecide = (tool: string) => authorizer.authorizeAdmin({ tenantId, principal, action: 'decideApproval', resource: uid.tool(tenantId, tool), context: { approve: true } }).decision === 'allow';
      return { tenant: tenantId, pending: rows.map((row) => ({ ...row, mayDecide: mayDecide(row.tool) })) };
    },
  );

  app.post<{ Params: { tenant: string; runId: string; callId: string }; Body: { approve: boolean; reason?: string } }>(
    '/api/v1/tenants/:tenant/runs/:runId/calls/:callId/decision',
    { schema: { operationId: 'decideApproval', summary: 'approve or deny a parked tool call', params: S.CallParams, body: S.DecisionBody, response: { 200: S.Decision, default: S.ApiError } } },
    async (request) => {
      const { tenant: tenantId, runId, callId } = request.params;
      const { approve, reason } = request.body;
      // Members of the tenant only may learn whether a run or call exists.
      const member = (await principalOf(request, tenantId)).roles.length > 0;
      const audit = { action: approve ? 'approval.grant' : 'approval.reject', resource: `run/${runId}/call/${callId}` };
      if (!member) await guard(request, { tenantId, action: 'decideApproval', resource: uid.tool(tenantId, '-'), context: { runId, approve }, audit, record: true });
      // What tool the parked call is decides the policy; a call that is not parked is CALL_NOT_PENDING (saying what waits).
      const tenant = await options.tenantClient(tenantId);
      const parked = await parkedCall(tenant, runId, callId);
      const tool = parked.call.tool;
      const { caller: by } = await guard(request, {
        tenantId,
        action: 'decideApproval',
        resource: uid.tool(tenantId, tool),
        context: { runId, approve, reason: reason ?? '' },
        audit: { ...audit, details: { tool, step: parked.call.step } },
        record: true,
      });
      return decide(tenant, runId, { callId, approved: approve, by: callerRef(by), ...(reason ? { reason } : {}) }, parked);
    },
  );

  // ---------------------------------------------------------------- audit

  app.get<{ Params: { tenant: string }; Querystring: { after?: number; limit?: number } }>(
    '/api/v1/tenants/:tenant/audit',
    { schema: { operationId: 'listAudit', summary: "the tenant's audit log, oldest first", params: S.TenantParams, querystring: S.Page, response: { 200: S.AuditList, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      await guard(request, { tenantId, action: 'readAudit', resource: tenantResource(tenantId), audit: { action: 'audit.read', resource: 'audit' }, record: false });
      const after = request.query.after ?? 0;
      const limit = request.query.limit ?? 100;
      const entries = [];
      for await (const row of options.audit.read(tenantId)) {
        if (row.seq <= after) continue;
        entries.push(row.entry ? { ...row.entry, hash: row.hash } : { seq: row.seq, unreadable: row.unreadable });
        if (entries.length >= limit) break;
      }
      return { tenant: tenantId, entries };
    },
  );

  app.get<{ Params: { tenant: string } }>(
    '/api/v1/tenants/:tenant/audit/verify',
    { schema: { operationId: 'verifyAudit', summary: "recompute the audit log's hash chain", params: S.TenantParams, response: { 200: S.AuditVerify, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      await guard(request, { tenantId, action: 'readAudit', resource: tenantResource(tenantId), audit: { action: 'audit.verify', resource: 'audit' }, record: false });
      return { tenant: tenantId, ...(await options.audit.verify(tenantId)) };
    },
  );

  // ---------------------------------------------------------------- API keys

  app.get<{ Params: { tenant: string } }>(
    '/api/v1/tenants/:tenant/api-keys',
    { schema: { operationId: 'listApiKeys', summary: "the tenant's service API keys (never their secrets)", params: S.TenantParams, response: { 200: S.ApiKeyList, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      await guard(request, { tenantId, action: 'manageApiKeys', resource: tenantResource(tenantId), audit: { action: 'apikey.list', resource: 'api-keys' }, record: false });
      return { tenant: tenantId, keys: await options.identities.listApiKeys(tenantId) };
    },
  );

  app.post<{ Params: { tenant: string }; Body: { name: string; roles: string[]; ttlDays: number } }>(
    '/api/v1/tenants/:tenant/api-keys',
    { schema: { operationId: 'createApiKey', summary: 'create a service API key; its token is shown once', params: S.TenantParams, body: S.ApiKeyCreate, response: { 201: S.ApiKeyCreated, default: S.ApiError } } },
    async (request, reply) => {
      const tenantId = request.params.tenant;
      const { name, roles, ttlDays } = request.body;
      const defined = new Set(options.config().tenants.find((t) => t.id === tenantId)?.roles.map((r) => r.name) ?? []);
      const { caller: who } = await guard(request, {
        tenantId,
        action: 'manageApiKeys',
        resource: tenantResource(tenantId),
        audit: { action: 'apikey.create', resource: `api-key/${name}`, details: { keyRoles: roles.join(','), ttlDays } },
        record: true,
      });
      const unknown = roles.filter((r) => !defined.has(r));
      if (unknown.length) throw new ClawError('API_KEY_ROLE_UNKNOWN', `tenant '${tenantId}' has no role ${unknown.map((r) => `'${r}'`).join(', ')}`, { hint: `use roles from claw.yaml: ${[...defined].join(', ') || '(none defined)'}` });
      // A key never holds more than its creator: every action its roles grant, the creator's roles grant too.
      const own = await principalOf(request, tenantId);
      const roleDefs = options.config().tenants.find((t) => t.id === tenantId)?.roles ?? [];
      const grants = (names: readonly string[]) => new Set(roleDefs.filter((r) => names.includes(r.name)).flatMap((r) => [...grantedActions(r.can)]));
      const mine = grants(own.roles);
      const beyond = [...grants(roles)].filter((a) => !mine.has(a));
      if (beyond.length) throw new ClawError('ADMIN_FORBIDDEN', `${callerRef(who)} cannot give a key ${beyond.join(', ')}, which its own roles do not grant`, { hint: 'a key holds at most what whoever creates it may do' });
      const created = await options.identities.createApiKey({ tenantId, name, roles, createdBy: callerRef(who), ttlDays });
      return reply.code(201).send(created);
    },
  );

  app.delete<{ Params: { tenant: string; keyId: string } }>(
    '/api/v1/tenants/:tenant/api-keys/:keyId',
    { schema: { operationId: 'revokeApiKey', summary: 'revoke a service API key now', params: S.KeyParams, response: { 200: S.Revoked, default: S.ApiError } } },
    async (request) => {
      const { tenant: tenantId, keyId } = request.params;
      await guard(request, { tenantId, action: 'manageApiKeys', resource: tenantResource(tenantId), audit: { action: 'apikey.revoke', resource: `api-key/${keyId}` }, record: true });
      if (!(await options.identities.revokeApiKey(tenantId, keyId))) throw new ClawError('NOT_FOUND', `tenant '${tenantId}' has no active API key '${keyId}'`, { hint: 'list the keys with GET …/api-keys' });
      return { tenant: tenantId, id: keyId, revoked: true };
    },
  );

  // ---------------------------------------------------------------- secrets (names only)

  app.get<{ Params: { tenant: string } }>(
    '/api/v1/tenants/:tenant/secrets',
    { schema: { operationId: 'listSecrets', summary: "the tenant's secret names (never values)", params: S.TenantParams, response: { 200: S.SecretList, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      await guard(request, { tenantId, action: 'listSecrets', resource: tenantResource(tenantId), audit: { action: 'secret.list', resource: 'secrets' }, record: false });
      if (!options.secrets) throw new ClawError('NOT_FOUND', 'this process has no secret store', { hint: 'ask the gateway that serves the admin API' });
      const changed = options.secrets.listChanged ? await options.secrets.listChanged(tenantId) : undefined;
      return { tenant: tenantId, names: (await options.secrets.list(tenantId)).sort(), ...(changed ? { changed } : {}) };
    },
  );

  app.put<{ Params: { tenant: string; name: string }; Body: { value: string } }>(
    '/api/v1/tenants/:tenant/secrets/:name',
    { schema: { operationId: 'setSecret', summary: 'set a secret (the value is encrypted under the tenant key and never returned)', params: S.SecretParams, body: S.SecretBody, response: { 200: S.SecretChanged, default: S.ApiError } } },
    async (request) => {
      const { tenant: tenantId, name } = request.params;
      const secrets = need(options.secrets, 'secret store');
      await guard(request, { tenantId, action: 'setSecret', resource: uid.secret(tenantId, name), audit: { action: 'secret.set', resource: `secret/${name}` }, record: true });
      await secrets.set(tenantId, name, request.body.value);
      return { tenant: tenantId, name, changed: true };
    },
  );

  app.delete<{ Params: { tenant: string; name: string } }>(
    '/api/v1/tenants/:tenant/secrets/:name',
    { schema: { operationId: 'removeSecret', summary: 'remove a secret', params: S.SecretParams, response: { 200: S.SecretChanged, default: S.ApiError } } },
    async (request) => {
      const { tenant: tenantId, name } = request.params;
      const secrets = need(options.secrets, 'secret store');
      await guard(request, { tenantId, action: 'setSecret', resource: uid.secret(tenantId, name), audit: { action: 'secret.remove', resource: `secret/${name}` }, record: true });
      if (!(await secrets.remove(tenantId, name))) throw new ClawError('NOT_FOUND', `tenant '${tenantId}' has no secret '${name}'`, { hint: 'list the names with GET …/secrets' });
      return { tenant: tenantId, name, changed: true };
    },
  );

  // ---------------------------------------------------------------- the tenant key

  const keyState = async (tenantId: string) => {
    const keyring = need(options.keyring, 'tenant keyring');
    try {
      await keyring.forTenant(tenantId);
    } catch (err) {
      if (isClawError(err) && err.code === 'TENANT_KEY_DESTROYED') return { tenant: tenantId, state: 'destroyed' as const };
      if (isClawError(err) && err.code === 'TENANT_KEY_MISSING') return { tenant: tenantId, state: 'missing' as const };
      throw err;
    }
    const versions = options.keyVersions?.(tenantId);
    return { tenant: tenantId, state: 'active' as const, ...(versions ? { versions } : {}) };
  };

  app.get<{ Params: { tenant: string } }>(
    '/api/v1/tenants/:tenant/key',
    { schema: { operationId: 'readKey', summary: "the tenant key's state (and versions where known)", params: S.TenantParams, response: { 200: S.KeyStatus, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      await guard(request, { tenantId, action: 'readKey', resource: tenantResource(tenantId), audit: { action: 'key.read', resource: `key/${tenantId}` }, record: false });
      return keyState(tenantId);
    },
  );

  app.post<{ Params: { tenant: string } }>(
    '/api/v1/tenants/:tenant/key/rotate',
    { schema: { operationId: 'rotateKey', summary: 'rotate the tenant key: new data keys use the new version; existing data stays readable', params: S.TenantParams, response: { 200: S.KeyStatus, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      const keyring = need(options.keyring, 'tenant keyring');
      await guard(request, { tenantId, action: 'rotateKey', resource: tenantResource(tenantId), audit: { action: 'key.rotate', resource: `key/${tenantId}` }, record: true });
      await keyring.rotate(tenantId);
      return keyState(tenantId);
    },
  );

  app.post<{ Params: { tenant: string }; Body: { confirm: string } }>(
    '/api/v1/tenants/:tenant/key/shred',
    { schema: { operationId: 'shredKey', summary: "destroy the tenant key: all the tenant's data becomes unreadable, permanently", params: S.TenantParams, body: S.ShredBody, response: { 200: S.KeyStatus, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      const keyring = need(options.keyring, 'tenant keyring');
      // Typed confirmation first: a mistyped tenant changes nothing and records nothing.
      if (request.body.confirm !== tenantId) throw new ClawError('REQUEST_INVALID', `confirm with the tenant id '${tenantId}' to shred its key`, { hint: 'shredding cannot be undone: every ciphertext of the tenant becomes unreadable' });
      await guard(request, { tenantId, action: 'shredKey', resource: tenantResource(tenantId), audit: { action: 'key.shred', resource: `key/${tenantId}` }, record: true });
      await keyring.destroy(tenantId);
      return keyState(tenantId);
    },
  );

  // ---------------------------------------------------------------- runs and traces

  app.get<{ Params: { tenant: string }; Querystring: { agent?: string; status?: RunStatus; limit?: number } }>(
    '/api/v1/tenants/:tenant/runs',
    { schema: { operationId: 'listRuns', summary: "the tenant's runs from its traces, of the agents whose runs the caller may list", params: S.TenantParams, querystring: S.RunsQuery, response: { 200: S.RunList, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      const traces = need(options.traces, 'trace reader');
      const { ids: agents, allowed: listable } = await agentsAllowed(request, tenantId, 'listRuns');
      if (listable.size === 0 || (request.query.agent && !listable.has(request.query.agent))) {
        await guard(request, { tenantId, action: 'listRuns', resource: uid.agent(tenantId, request.query.agent ?? agents[0] ?? '-'), audit: { action: 'runs.list', resource: 'runs' }, record: false });
      }
      const { agent, status, limit } = request.query;
      const runs = await traces.list(tenantId, { ...(agent ? { agentId: agent } : {}), ...(status ? { status } : {}), ...(limit ? { limit } : {}) });
      return { tenant: tenantId, runs: runs.filter((r) => listable.has(r.agentId)) };
    },
  );

  app.get<{ Params: { tenant: string; runId: string }; Querystring: { decrypt?: boolean } }>(
    '/api/v1/tenants/:tenant/runs/:runId',
    { schema: { operationId: 'showRun', summary: "a run as a timeline; its content (prompts, arguments, replies) only with decrypt=true, which is authorized and audited", params: S.RunParams, querystring: S.ShowRunQuery, response: { 200: S.Timeline, default: S.ApiError } } },
    async (request) => {
      const { tenant: tenantId, runId } = request.params;
      const traces = need(options.traces, 'trace reader');
      if ((await principalOf(request, tenantId)).roles.length === 0) {
        await guard(request, { tenantId, action: 'readTrace', resource: uid.agent(tenantId, '-'), context: { runId }, audit: { action: 'trace.read', resource: `run/${runId}` }, record: false });
      }
      // Which agent the run is of decides the policy: read the metadata first.
      const sealed = await traces.show(tenantId, runId, false);
      const agent = uid.agent(tenantId, sealed.agentId);
      await guard(request, { tenantId, action: 'readTrace', resource: agent, context: { runId }, audit: { action: 'trace.read', resource: `run/${runId}` }, record: false });
      if (!request.query.decrypt) return sealed;
      await guard(request, { tenantId, action: 'decryptTrace', resource: agent, context: { runId }, audit: { action: 'trace.decrypt', resource: `run/${runId}` }, record: true });
      return traces.show(tenantId, runId, true);
    },
  );

  // ---------------------------------------------------------------- codec (the Temporal Web UI)
  // The Web UI's codec endpoint, for people: the UI forwards its sign-in (configure it with
  // the same provider and client, ID token as bearer) and decodes a run's payloads here.
  // Decoding a tenant's payloads is decryptTrace on every agent of the tenant, recorded.

  const codecOrigins = new Set(options.codecCorsOrigins ?? []);
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/v1/codec/')) return;
    const origin = request.headers.origin;
    if (origin && codecOrigins.has(origin)) {
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin').header('access-control-allow-credentials', 'true');
      reply.header('access-control-allow-methods', 'POST, OPTIONS').header('access-control-allow-headers', 'Authorization, Content-Type, X-Namespace').header('access-control-max-age', '600');
    }
  });
  app.options('/api/v1/codec/decode', { schema: { hide: true } }, async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin || !codecOrigins.has(origin)) throw new ClawError('ADMIN_FORBIDDEN', 'this origin may not call the codec endpoint', { hint: 'add it to CLAW_CODEC_CORS_ORIGINS' });
    return reply.code(204).send();
  });

  app.post<{ Body: { payloads: JsonPayload[] } }>(
    '/api/v1/codec/decode',
    { bodyLimit: 16 * 1024 * 1024, schema: { operationId: 'decodePayloads', summary: "the Temporal Web UI's codec: decode payloads of tenants whose runs the caller may decrypt (recorded)", body: S.Payloads, response: { 200: S.Payloads, default: S.ApiError } } },
    async (request) => {
      const payloads = request.body.payloads.map(fromJson);
      const byTenant = new Map<string, number>();
      for (const p of payloads) {
        const tenant = payloadTenant(p);
        if (tenant !== undefined) byTenant.set(tenant, (byTenant.get(tenant) ?? 0) + 1);
      }
      const keyring = need(options.keyring, 'tenant keyring');
      for (const [tenantId, count] of byTenant) {
        const { ids: agents, denied } = await agentsAllowed(request, tenantId, 'decryptTrace');
        await guard(request, { tenantId, action: 'decryptTrace', resource: uid.agent(tenantId, denied[0] ?? agents[0] ?? '-'), audit: { action: 'payload.decode', resource: 'temporal-payloads', details: { payloads: count } }, record: true });
      }
      const out = [];
      for (const p of payloads) {
        const tenant = payloadTenant(p);
        if (tenant === undefined) {
          out.push(p);
          continue;
        }
        const crypto = await keyring.forTenant(tenant);
        try {
          out.push(...(await tenantPayloadCodec(crypto).decode([p])));
        } catch (err) {
          if (isClawError(err)) throw err;
          throw new ClawError('REQUEST_INVALID', 'a payload could not be read', { hint: "send payloads as the Temporal UI does: { payloads: [{ metadata, data }] }, base64" });
        }
      }
      return { payloads: out.map(toJson) };
    },
  );

  // ---------------------------------------------------------------- agents

  app.get<{ Params: { tenant: string } }>(
    '/api/v1/tenants/:tenant/agents',
    { schema: { operationId: 'listAgents', summary: "the tenant's agents the caller may read: revision, model, tools (and which need a human), channels, schedules", params: S.TenantParams, response: { 200: S.AgentList, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      const agents = need(options.agents, 'agent store');
      const stored = await agents.list(tenantId);
      const { allowed } = await agentsAllowed(request, tenantId, 'readAgent', stored.map((a) => a.id));
      const readable = stored.filter((a) => allowed.has(a.id));
      if (readable.length === 0 && stored.length > 0) {
        await guard(request, { tenantId, action: 'readAgent', resource: uid.agent(tenantId, stored[0]!.id), audit: { action: 'agent.read', resource: 'agents' }, record: false });
      }
      return { tenant: tenantId, agents: readable.map(agentSummary) };
    },
  );

  app.get<{ Params: { tenant: string; agent: string } }>(
    '/api/v1/tenants/:tenant/agents/:agent/revisions',
    { schema: { operationId: 'listAgentRevisions', summary: 'every revision of an applied agent, newest first: who applied it, when, and its spec', params: S.AgentParams, response: { 200: S.AgentRevisions, default: S.ApiError } } },
    async (request) => {
      const { tenant: tenantId, agent: agentId } = request.params;
      const agents = need(options.agents, 'agent store');
      await guard(request, { tenantId, action: 'readAgent', resource: uid.agent(tenantId, agentId), audit: { action: 'agent.read', resource: `agent/${agentId}` }, record: false });
      const revisions = await agents.revisions(tenantId, agentId);
      if (revisions.length === 0) throw new ClawError('NOT_FOUND', `tenant '${tenantId}' has no applied agent '${agentId}'`, { hint: 'list the agents with GET …/agents' });
      return {
        tenant: tenantId,
        id: agentId,
        revisions: revisions.map((r) => ({ ...agentSummary(r), ...(r.source ? { source: isAbsolute(r.source) ? basename(r.source) : r.source } : {}), spec: r.spec })),
      };
    },
  );

  app.put<{ Params: { tenant: string; agent: string }; Body: Record<string, unknown> }>(
    '/api/v1/tenants/:tenant/agents/:agent',
    {
      schema: {
        operationId: 'applyAgent',
        summary: "apply an agent (an agent file's content as JSON): validated, its grants compiled with the tenant's policies, stored as its next revision when it changed",
        params: S.AgentParams,
        body: S.AgentSpec,
        response: { 200: S.AgentApplied, default: S.ApiError },
      },
    },
    async (request) => {
      const { tenant: tenantId, agent: agentId } = request.params;
      const agents = need(options.agents, 'agent store');
      const g = { tenantId, action: 'applyAgent', resource: uid.agent(tenantId, agentId), audit: { action: 'agent.apply', resource: `agent/${agentId}` } } as const;
      // Who may, first (a refused caller learns nothing from validation); recorded once it is valid.
      await guard(request, { ...g, record: false });
      const spec = parseAgentFile(JSON.stringify(request.body), 'the request body');
      if (spec.tenant !== tenantId || spec.id !== agentId) {
        throw new ClawError('REQUEST_INVALID', `the body is agent '${spec.tenant}/${spec.id}', not '${tenantId}/${agentId}'`, { hint: "the body's tenant and id must be the path's" });
      }
      const config = options.config();
      checkAgent(spec, 'the request body', new Set(config.tenants.map((t) => t.id)), toolCatalog(config));
      // Its grants are Cedar policies: the tenant's policies must still compile with it.
      const withIt = { ...config, agents: [...config.agents.filter((a) => !(a.tenant === tenantId && a.id === agentId)), spec] };
      compileTenant(withIt, tenantId, await appliedNow(tenantId));
      const { caller: who } = await guard(request, { ...g, record: true });
      return { tenant: tenantId, id: agentId, ...(await agents.apply(spec, callerRef(who))) };
    },
  );

  // ---------------------------------------------------------------- policies
  // Two kinds, both Cedar, both in force: the install's (base, claw.yaml's grants and roles,
  // the tenant's policy directory: code, changed in the install's repository and reviewed
  // like code) and the tenant's applied policies (applied/<name>.cedar), which people with
  // editPolicy change here, revision by revision, each change validated first and recorded.

  const appliedNow = async (tenantId: string): Promise<PolicySource[]> => (options.policies ? appliedPolicySources(await options.policies.list(tenantId)) : []);
  /** Throws CEDAR_POLICY_* (file:line) when the tenant's policies do not compile with `applied`. */
  function compileTenant(config: ClawConfig, tenantId: string, applied: PolicySource[]): void {
    new CedarAuthorizer().load(tenantInput(config, need(options.configFile, 'claw.yaml')(), tenantId, undefined, applied));
  }
  /** What the tenant's agents may do differently with `after` applied instead of `before`. */
  function diffApplied(tenantId: string, before: PolicySource[], after: PolicySource[]) {
    const config = options.config();
    const configFile = need(options.configFile, 'claw.yaml')();
    return diffPolicies({ config, configFile, extraSources: { [tenantId]: before } }, { config, configFile, extraSources: { [tenantId]: after } }).filter((e) => e.tenant === tenantId);
  }
  const appliedFile = (name: string) => `applied/${name}.cedar`;
  const noAppliedPolicy = (tenantId: string, name: string) => new ClawError('NOT_FOUND', `tenant '${tenantId}' has no applied policy '${name}'`, { hint: 'list the policies with GET …/policies' });
  const without = (applied: PolicySource[], name: string) => applied.filter((p) => p.file !== appliedFile(name));

  /**
   * Apply (`text`) or remove (undefined) an applied policy: who may first, then the tenant's
   * policies compiled with the change and what it does to its agents, then the record, then
   * the change, in force at the next decision.
   */
  async function changePolicy(request: FastifyRequest, tenantId: string, name: string, text: string | undefined) {
    const policies = need(options.policies, 'policy store');
    const g = { tenantId, action: 'editPolicy', resource: tenantResource(tenantId), audit: { action: text === undefined ? 'policy.remove' : 'policy.apply', resource: `policy/${name}` } } as const;
    await guard(request, { ...g, record: false });
    const before = await appliedNow(tenantId);
    if (text === undefined && !before.some((p) => p.file === appliedFile(name))) {
      throw noAppliedPolicy(tenantId, name);
    }
    const after = [...without(before, name), ...(text === undefined ? [] : [{ file: appliedFile(name), text }])];
    compileTenant(options.config(), tenantId, after);
    const changes = diffApplied(tenantId, before, after);
    const { caller: who } = await guard(request, { ...g, audit: { ...g.audit, details: { agentsChanged: changes.length } }, record: true });
    const stored = await policies.apply(tenantId, name, text, callerRef(who));
    await options.refreshTenant?.(tenantId);
    return { tenant: tenantId, file: appliedFile(name), ...stored, changes };
  }

  app.get<{ Params: { tenant: string } }>(
    '/api/v1/tenants/:tenant/policies',
    { schema: { operationId: 'listPolicies', summary: "the Cedar policies in force for the tenant (base, compiled grants and roles, the tenant's own)", params: S.TenantParams, response: { 200: S.PolicyList, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      await guard(request, { tenantId, action: 'readPolicy', resource: tenantResource(tenantId), audit: { action: 'policy.read', resource: 'policies' }, record: false });
      // An absolute path would tell callers where this server keeps its files: the file name is enough.
      const policies = options.authorizer().policies(tenantId).map((p) => ({ id: p.id, effect: p.effect, file: isAbsolute(p.file) ? basename(p.file) : p.file, line: p.line, shadow: p.shadow, annotations: p.annotations, text: p.text }));
      return { tenant: tenantId, policies };
    },
  );

  app.post<{ Params: { tenant: string }; Body: { agent: string; tool: string; args?: Record<string, unknown>; channel?: string } }>(
    '/api/v1/tenants/:tenant/policies/explain',
    { schema: { operationId: 'explainPolicy', summary: "Cedar's decision for a tool call an agent could make, and the policies behind it (nothing runs)", params: S.TenantParams, body: S.ExplainBody, response: { 200: S.Explained, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      await guard(request, { tenantId, action: 'readPolicy', resource: tenantResource(tenantId), audit: { action: 'policy.explain', resource: 'policies' }, record: false });
      const { agent, tool, args, channel } = request.body;
      const decision = options.authorizer().authorizeToolCall({ tenantId, agentId: agent, runId: 'policy-explain', tool, args: args ?? {}, ...(channel ? { channel } : {}) });
      return { tenant: tenantId, agent, tool, ...decision };
    },
  );

  app.post<{ Params: { tenant: string }; Body: { file: string; text: string } }>(
    '/api/v1/tenants/:tenant/policies/diff',
    { schema: { operationId: 'diffPolicy', summary: "what adding a proposed policy file to the tenant's policies would change in what its agents may do (nothing is changed)", params: S.TenantParams, body: S.DiffBody, response: { 200: S.Diffed, default: S.ApiError } } },
    async (request) => {
      const tenantId = request.params.tenant;
      await guard(request, { tenantId, action: 'readPolicy', resource: tenantResource(tenantId), audit: { action: 'policy.diff', resource: 'policies' }, record: false });
      const proposal = { file: `proposed/${request.body.file}`, text: request.body.text };
      const applied = await appliedNow(tenantId);
      return { tenant: tenantId, file: proposal.file, changes: diffApplied(tenantId, applied, [...applied, proposal]) };
    },
  );

  app.put<{ Params: { tenant: string; name: string }; Body: { text: string } }>(
    '/api/v1/tenants/:tenant/policies/:name',
    {
      schema: {
        operationId: 'applyPolicy',
        summary: "apply a tenant policy (applied/<name>.cedar) as its next revision: validated with the tenant's other policies first, in force at the next decision; answers what it changes",
        params: S.PolicyParams,
        body: S.PolicyText,
        response: { 200: S.Diffed, default: S.ApiError },
      },
    },
    async (request) => changePolicy(request, request.params.tenant, request.params.name, request.body.text),
  );

  app.delete<{ Params: { tenant: string; name: string } }>(
    '/api/v1/tenants/:tenant/policies/:name',
    { schema: { operationId: 'removePolicy', summary: 'remove an applied tenant policy (its history stays); answers what its removal changes', params: S.PolicyParams, response: { 200: S.Diffed, default: S.ApiError } } },
    async (request) => changePolicy(request, request.params.tenant, request.params.name, undefined),
  );

  app.get<{ Params: { tenant: string; name: string } }>(
    '/api/v1/tenants/:tenant/policies/:name/revisions',
    { schema: { operationId: 'listPolicyRevisions', summary: 'every revision of an applied tenant policy, newest first: its text, who applied it and when', params: S.PolicyParams, response: { 200: S.PolicyRevisions, default: S.ApiError } } },
    async (request) => {
      const { tenant: tenantId, name } = request.params;
      const policies = need(options.policies, 'policy store');
      await guard(request, { tenantId, action: 'readPolicy', resource: tenantResource(tenantId), audit: { action: 'policy.read', resource: `policy/${name}` }, record: false });
      const revisions = await policies.revisions(tenantId, name);
      if (revisions.length === 0) throw noAppliedPolicy(tenantId, name);
      return {
        tenant: tenantId,
        name,
        revisions: revisions.map((r) => ({ revision: r.revision, appliedAt: r.appliedAt.toISOString(), appliedBy: r.appliedBy, removed: r.text === undefined, ...(r.text !== undefined ? { text: r.text } : {}) })),
      };
    },
  );

  app.get<{ Params: { tenant: string; name: string }; Querystring: { from: number; to: number } }>(
    '/api/v1/tenants/:tenant/policies/:name/diff',
    {
      schema: {
        operationId: 'diffPolicyRevisions',
        summary: "what the tenant's agents may do differently with revision `to` of an applied policy in force instead of revision `from` (0: without it), the other policies as they are now",
        params: S.PolicyParams,
        querystring: S.RevisionDiffQuery,
        response: { 200: S.Diffed, default: S.ApiError },
      },
    },
    async (request) => {
      const { tenant: tenantId, name } = request.params;
      const policies = need(options.policies, 'policy store');
      await guard(request, { tenantId, action: 'readPolicy', resource: tenantResource(tenantId), audit: { action: 'policy.diff', resource: `policy/${name}` }, record: false });
      const revisions = await policies.revisions(tenantId, name);
      const at = (revision: number): PolicySource[] => {
        if (revision === 0) return [];
        const found = revisions.find((r) => r.revision === revision);
        if (!found) throw new ClawError('NOT_FOUND', `policy '${name}' of tenant '${tenantId}' has no revision ${revision}`, { hint: `its revisions: ${revisions.map((r) => r.revision).join(', ') || 'none'}` });
        return found.text === undefined ? [] : [{ file: appliedFile(name), text: found.text }];
      };
      const others = without(await appliedNow(tenantId), name);
      return { tenant: tenantId, file: appliedFile(name), changes: diffApplied(tenantId, [...others, ...at(request.query.from)], [...others, ...at(request.query.to)]) };
    },
  );

  registerScim(app, { identities: options.identities, guard });
  if (options.console) await registerConsole(app, () => options.config().access.oidc);

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}

function agentSummary({ id, revision, appliedAt, appliedBy, spec }: AgentRecord) {
  return {
    id,
    revision,
    appliedAt: appliedAt.toISOString(),
    ...(appliedBy ? { appliedBy } : {}),
    model: { provider: spec.model.provider, ...('model' in spec.model && typeof spec.model.model === 'string' ? { model: spec.model.model } : {}) },
    tools: spec.tools.map((t) => (typeof t === 'string' ? { name: t, approval: 'none' } : { name: t.name, approval: t.approval ?? 'none' })),
    channels: spec.channels.map((c) => c.type),
    schedules: spec.schedules.map((sc) => ({ id: sc.id, cron: sc.cron, timezone: sc.timezone })),
  };
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new ClawError('NOT_AVAILABLE', `this admin API has no ${what}`, { hint: 'the gateway serves these operations; ask the one of your install' });
  return value;
}

export type GuardFn = (request: FastifyRequest, g: Guarded) => Promise<{ caller: Caller; decision: AuthorizationDecision }>;
export type { FastifyReply };
