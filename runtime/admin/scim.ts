/**
 * SCIM 2.0 (RFC 7643 resources, RFC 7644 protocol) so a tenant's IdP provisions and
 * deprovisions its people: `/scim/v2/<tenant>/Users` and `/Groups`, with the operations IdPs
 * use (create, get, list with `filter=userName eq "…"` / `displayName eq "…"`, replace,
 * PATCH `active` and group members, delete). The IdP calls with a service API key whose
 * role grants `manageUsers`; every change is in the tenant's audit log.
 *
 * A person set `active: false` or deleted is refused by the admin API at once (identity.ts):
 * their ID tokens and the API keys they created stop working on the next request. Group
 * membership feeds roles like a token's `groups` claim (claw.yaml `roles[].groups` names
 * the group's displayName).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ClawError, isClawError } from '../../core/errors.js';
import { uid } from '../../policies/cedar/compile.js';
import type { IdentityStore, ScimGroup, ScimPerson } from '../identity/store.js';
import type { Guarded } from './server.js';
import type { Caller } from '../identity/identity.js';
import type { AuthorizationDecision } from '../ports.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const ERROR = SCIM_ERROR;
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Guard = (request: FastifyRequest, g: Guarded) => Promise<{ caller: Caller; decision: AuthorizationDecision }>;

const invalid = (detail: string) => new ClawError('SCIM_INVALID', detail, { hint: 'see RFC 7644 for the request format' });
const notFound = (what: string, id: string) => new ClawError('NOT_FOUND', `no ${what} '${id}'`, { hint: 'list them with GET …/Users or …/Groups' });

function userResource(base: string, p: ScimPerson) {
  return {
    schemas: [USER],
    id: p.id,
    userName: p.userName,
    ...(p.externalId ? { externalId: p.externalId } : {}),
    ...(p.displayName ? { displayName: p.displayName } : {}),
    active: p.active,
    meta: { resourceType: 'User', created: p.createdAt, lastModified: p.modifiedAt, location: `${base}/Users/${p.id}` },
  };
}

function groupResource(base: string, g: ScimGroup) {
  return {
    schemas: [GROUP],
    id: g.id,
    displayName: g.displayName,
    ...(g.externalId ? { externalId: g.externalId } : {}),
    members: g.members.map((value) => ({ value, $ref: `${base}/Users/${value}` })),
    meta: { resourceType: 'Group', created: g.createdAt, lastModified: g.modifiedAt, location: `${base}/Groups/${g.id}` },
  };
}

/** The one filter form IdPs send: `<attr> eq "<value>"`. */
function eqFilter(filter: string | undefined, attr: string): string | undefined {
  if (filter === undefined) return undefined;
  const m = new RegExp(`^\\s*${attr}\\s+eq\\s+"((?:[^"\\\\]|\\\\.)*)"\\s*$`, 'i').exec(filter);
  if (!m) throw invalid(`only the filter ${attr} eq "<value>" is supported, not '${filter}'`);
  return JSON.parse(`"${m[1]}"`) as string;
}

function list<T>(items: T[], startIndex = 1, count = 100) {
  const start = Math.max(1, startIndex);
  const page = items.slice(start - 1, start - 1 + Math.max(0, count));
  return { schemas: [LIST], totalResults: items.length, startIndex: start, itemsPerPage: page.length, Resources: page };
}

function userInput(body: Record<string, unknown>): { userName: string; externalId?: string; displayName?: string; active: boolean } {
  if (typeof body.userName !== 'string' || !body.userName.trim()) throw invalid('userName is required');
  const name = body.name as { formatted?: unknown } | undefined;
  const displayName = typeof body.displayName === 'string' ? body.displayName : typeof name?.formatted === 'string' ? name.formatted : undefined;
  return {
    userName: body.userName.trim(),
    ...(typeof body.externalId === 'string' ? { externalId: body.externalId } : {}),
    ...(displayName ? { displayName } : {}),
    active: body.active === undefined ? true : body.active === true || body.active === 'true' || body.active === 'True',
  };
}

const memberIds = (value: unknown): string[] => (Array.isArray(value) ? value.map((m) => String((m as { value?: unknown }).value ?? '')).filter(Boolean) : []);

const Body = { type: 'object', additionalProperties: true } as const;
const Resource = { type: 'object', additionalProperties: true, description: 'a SCIM resource or list response (RFC 7643)' } as const;
const ScimError = {
  type: 'object',
  required: ['schemas', 'status', 'detail', 'code'],
  properties: { schemas: { type: 'array', items: { type: 'string' } }, status: { type: 'string' }, scimType: { type: 'string' }, detail: { type: 'string' }, code: { type: 'string' } },
} as const;
const ok = { 200: Resource, default: ScimError } as const;
const created = { 201: Resource, default: ScimError } as const;
const deleted = { 204: { type: 'null', description: 'deleted' }, default: ScimError } as const;
const Tenant = { type: 'object', required: ['tenant'], properties: { tenant: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,30}[a-z0-9]$' } } } as const;
const TenantId = { type: 'object', required: ['tenant', 'id'], properties: { tenant: Tenant.properties.tenant, id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const Query = { type: 'object', properties: { filter: { type: 'string', maxLength: 512 }, startIndex: { type: 'integer', minimum: 1 }, count: { type: 'integer', minimum: 0, maximum: 1000 } } } as const;

export function registerScim(app: FastifyInstance, deps: { identities: IdentityStore; guard: Guard }): void {
  app.register(
    async (scim) => {
      scim.addContentTypeParser('application/scim+json', { parseAs: 'string' }, scim.getDefaultJsonParser('error', 'error'));
      scim.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, _request, reply) => {
        const code = isClawError(error) ? error.code : error.validation ? 'SCIM_INVALID' : 'INTERNAL';
        const status = { SCIM_INVALID: 400, SCIM_UNIQUENESS: 409, NOT_FOUND: 404, ADMIN_FORBIDDEN: 403 }[code] ?? (code.startsWith('AUTH_') ? 401 : error.statusCode && error.statusCode < 500 ? error.statusCode : 500);
        const scimType = code === 'SCIM_UNIQUENESS' ? { scimType: 'uniqueness' } : code === 'SCIM_INVALID' ? { scimType: 'invalidValue' } : {};
        return reply.code(status).send({ schemas: [ERROR], status: String(status), ...scimType, detail: status >= 500 ? 'the SCIM endpoint failed' : error.message.split('\n')[0], code });
      });

      const { identities, guard } = deps;
      const base = (request: FastifyRequest, tenant: string) => `${request.protocol}://${request.host}/scim/v2/${tenant}`;
      const allow = (request: FastifyRequest, tenantId: string, action: string, resource: string, record = true) =>
        guard(request, { tenantId, action: 'manageUsers', resource: uid.tenant(tenantId), audit: { action, resource }, record });

      type P = { tenant: string };
      type PI = { tenant: string; id: string };
      type Q = { filter?: string; startIndex?: number; count?: number };

      scim.get<{ Params: P; Querystring: Q }>('/:tenant/Users', { schema: { operationId: 'scimListUsers', tags: ['scim'], params: Tenant, querystring: Query, response: ok } }, async (request) => {
        const { tenant } = request.params;
        await allow(request, tenant, 'scim.user.list', 'scim/Users', false);
        const userName = eqFilter(request.query.filter, 'userName');
        const people = await identities.listPeople(tenant, userName === undefined ? undefined : { userName });
        return list(people.map((p) => userResource(base(request, tenant), p)), request.query.startIndex, request.query.count);
      });

      scim.post<{ Params: P; Body: Record<string, unknown> }>('/:tenant/Users', { schema: { operationId: 'scimCreateUser', tags: ['scim'], params: Tenant, body: Body, response: created } }, async (request, reply) => {
        const { tenant } = request.params;
        const input = userInput(request.body);
        await allow(request, tenant, 'scim.user.create', `person/${input.userName}`);
        const person = await identities.createPerson(tenant, input);
        return reply.code(201).send(userResource(base(request, tenant), person));
      });

      scim.get<{ Params: PI }>('/:tenant/Users/:id', { schema: { operationId: 'scimGetUser', tags: ['scim'], params: TenantId, response: ok } }, async (request) => {
        const { tenant, id } = request.params;
        await allow(request, tenant, 'scim.user.read', `person/${id}`, false);
        const person = await identities.getPerson(tenant, id);
        if (!person) throw notFound('user', id);
        return userResource(base(request, tenant), person);
      });

      scim.put<{ Params: PI; Body: Record<string, unknown> }>('/:tenant/Users/:id', { schema: { operationId: 'scimReplaceUser', tags: ['scim'], params: TenantId, body: Body, response: ok } }, async (request) => {
        const { tenant, id } = request.params;
        const input = userInput(request.body);
        await allow(request, tenant, input.active ? 'scim.user.update' : 'scim.user.deactivate', `person/${input.userName}`);
        const person = await identities.updatePerson(tenant, id, input);
        if (!person) throw notFound('user', id);
        return userResource(base(request, tenant), person);
      });

      scim.patch<{ Params: PI; Body: Record<string, unknown> }>('/:tenant/Users/:id', { schema: { operationId: 'scimPatchUser', tags: ['scim'], params: TenantId, body: Body, response: ok } }, async (request) => {
        const { tenant, id } = request.params;
        const ops = patchOps(request.body);
        const change: Partial<ScimPerson> = {};
        for (const op of ops) {
          if (op.op !== 'replace' && op.op !== 'add') throw invalid(`a User PATCH supports replace and add, not '${op.op}'`);
          const values: Record<string, unknown> = op.path ? { [op.path]: op.value } : ((op.value ?? {}) as Record<string, unknown>);
          for (const [path, value] of Object.entries(values)) {
            if (path === 'active') change.active = value === true || value === 'true' || value === 'True';
            else if (path === 'userName' && typeof value === 'string') change.userName = value;
            else if (path === 'displayName' && typeof value === 'string') change.displayName = value;
            else if (path === 'externalId' && typeof value === 'string') change.externalId = value;
            // Attributes claw does not keep (emails, name.*) are accepted and ignored, as RFC 7644 §3.5.2 allows.
          }
        }
        await allow(request, tenant, change.active === false ? 'scim.user.deactivate' : 'scim.user.update', `person/${id}`);
        const person = await identities.updatePerson(tenant, id, change);
        if (!person) throw notFound('user', id);
        return userResource(base(request, tenant), person);
      });

      scim.delete<{ Params: PI }>('/:tenant/Users/:id', { schema: { operationId: 'scimDeleteUser', tags: ['scim'], params: TenantId, response: deleted } }, async (request, reply) => {
        const { tenant, id } = request.params;
        await allow(request, tenant, 'scim.user.delete', `person/${id}`);
        if (!(await identities.deletePerson(tenant, id))) throw notFound('user', id);
        return reply.code(204).send();
      });

      scim.get<{ Params: P; Querystring: Q }>('/:tenant/Groups', { schema: { operationId: 'scimListGroups', tags: ['scim'], params: Tenant, querystring: Query, response: ok } }, async (request) => {
        const { tenant } = request.params;
        await allow(request, tenant, 'scim.group.list', 'scim/Groups', false);
        const displayName = eqFilter(request.query.filter, 'displayName');
        const groups = await identities.listGroups(tenant, displayName === undefined ? undefined : { displayName });
        return list(groups.map((g) => groupResource(base(request, tenant), g)), request.query.startIndex, request.query.count);
      });

      scim.post<{ Params: P; Body: Record<string, unknown> }>('/:tenant/Groups', { schema: { operationId: 'scimCreateGroup', tags: ['scim'], params: Tenant, body: Body, response: created } }, async (request, reply) => {
        const { tenant } = request.params;
        const body = request.body;
        if (typeof body.displayName !== 'string' || !body.displayName) throw invalid('displayName is required');
        await allow(request, tenant, 'scim.group.create', `group/${body.displayName}`);
        const group = await identities.createGroup(tenant, { displayName: body.displayName, ...(typeof body.externalId === 'string' ? { externalId: body.externalId } : {}), members: memberIds(body.members) });
        return reply.code(201).send(groupResource(base(request, tenant), group));
      });

      scim.get<{ Params: PI }>('/:tenant/Groups/:id', { schema: { operationId: 'scimGetGroup', tags: ['scim'], params: TenantId, response: ok } }, async (request) => {
        const { tenant, id } = request.params;
        await allow(request, tenant, 'scim.group.read', `group/${id}`, false);
        const group = await identities.getGroup(tenant, id);
        if (!group) throw notFound('group', id);
        return groupResource(base(request, tenant), group);
      });

      scim.put<{ Params: PI; Body: Record<string, unknown> }>('/:tenant/Groups/:id', { schema: { operationId: 'scimReplaceGroup', tags: ['scim'], params: TenantId, body: Body, response: ok } }, async (request) => {
        const { tenant, id } = request.params;
        const body = request.body;
        if (typeof body.displayName !== 'string' || !body.displayName) throw invalid('displayName is required');
        await allow(request, tenant, 'scim.group.update', `group/${id}`);
        const group = await identities.updateGroup(tenant, id, { displayName: body.displayName, members: memberIds(body.members) });
        if (!group) throw notFound('group', id);
        return groupResource(base(request, tenant), group);
      });

      scim.patch<{ Params: PI; Body: Record<string, unknown> }>('/:tenant/Groups/:id', { schema: { operationId: 'scimPatchGroup', tags: ['scim'], params: TenantId, body: Body, response: ok } }, async (request) => {
        const { tenant, id } = request.params;
        const ops = patchOps(request.body);
        await allow(request, tenant, 'scim.group.update', `group/${id}`);
        const current = await identities.getGroup(tenant, id);
        if (!current) throw notFound('group', id);
        let members = [...current.members];
        let displayName = current.displayName;
        for (const op of ops) {
          const path = op.path ?? '';
          const removeOne = /^members\[value eq "([^"]+)"\]$/.exec(path);
          if (op.op === 'add' && (path === 'members' || path === '')) members.push(...memberIds(path ? op.value : (op.value as { members?: unknown })?.members));
          else if (op.op === 'remove' && removeOne) members = members.filter((m) => m !== removeOne[1]);
          else if (op.op === 'remove' && path === 'members') members = op.value === undefined ? [] : members.filter((m) => !memberIds(op.value).includes(m));
          else if (op.op === 'replace' && path === 'members') members = memberIds(op.value);
          else if (op.op === 'replace' && (path === 'displayName' || path === '')) {
            const value = path ? op.value : (op.value as { displayName?: unknown })?.displayName;
            if (typeof value === 'string' && value) displayName = value;
          } else throw invalid(`unsupported Group PATCH: ${op.op} ${path || '(no path)'}`);
        }
        const group = await identities.updateGroup(tenant, id, { displayName, members });
        return groupResource(base(request, tenant), group!);
      });

      scim.delete<{ Params: PI }>('/:tenant/Groups/:id', { schema: { operationId: 'scimDeleteGroup', tags: ['scim'], params: TenantId, response: deleted } }, async (request, reply) => {
        const { tenant, id } = request.params;
        await allow(request, tenant, 'scim.group.delete', `group/${id}`);
        if (!(await identities.deleteGroup(tenant, id))) throw notFound('group', id);
        return reply.code(204).send();
      });
    },
    { prefix: '/scim/v2' },
  );
}

function patchOps(body: Record<string, unknown>): { op: string; path?: string; value?: unknown }[] {
  if (!Array.isArray(body.schemas) || !body.schemas.includes(PATCH) || !Array.isArray(body.Operations)) throw invalid(`a PATCH body is a ${PATCH} with Operations`);
  return body.Operations.map((o: Record<string, unknown>) => {
    if (typeof o?.op !== 'string') throw invalid('each operation has an op');
    return { op: o.op.toLowerCase(), ...(typeof o.path === 'string' ? { path: o.path } : {}), ...('value' in o ? { value: o.value } : {}) };
  });
}
