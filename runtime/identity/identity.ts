/**
 * Who is calling the admin API, and which roles they hold in a tenant.
 *
 * `Authorization: Bearer <token>` carries either a service API key (`clawk_…`, store.ts)
 * or an ID token of the install's OpenID Provider (oidc.ts). A person's roles in a tenant
 * are the tenant's `roles:` (claw.yaml) whose groups meet the person's groups: those in
 * the token, and those the tenant's directory (SCIM) puts them in. A person the directory
 * holds as deprovisioned is refused before any role is looked at. A key acts only in its
 * own tenant, with the roles it was created with that the tenant still defines.
 */
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import type { AdminPrincipal } from '../authz/authorizer.js';
import type { OidcVerifier } from './oidc.js';
import type { ApiKeyRecord, IdentityStore } from './store.js';

export type Caller =
  | { kind: 'user'; id: string; subject: string; groups: string[]; expiresAt: Date }
  | { kind: 'apiKey'; id: string; key: ApiKeyRecord };

/** How the caller is named in the audit log and in `createdBy`. */
export const callerRef = (caller: Caller) => `${caller.kind}:${caller.id}`;

export class Identity {
  constructor(
    private readonly store: IdentityStore,
    private readonly oidc: () => OidcVerifier | undefined,
    private readonly config: () => ClawConfig,
  ) {}

  /** The caller of a request, from its Authorization header (AUTH_REQUIRED when there is none). */
  async authenticate(authorization: string | undefined): Promise<Caller> {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m) throw new ClawError('AUTH_REQUIRED', 'this API needs a bearer token', { hint: "sign in with 'claw login', or send a service API key as 'Authorization: Bearer clawk_…'" });
    const token = m[1]!;
    if (token.startsWith('clawk_')) {
      const key = await this.store.resolveApiKey(token);
      return { kind: 'apiKey', id: key.id, key };
    }
    const oidc = this.oidc();
    if (!oidc) throw new ClawError('AUTH_OIDC_NOT_CONFIGURED', 'this install has no sign-in: claw.yaml has no access.oidc', { hint: 'set access.oidc (issuer, clientId), or use a service API key' });
    const person = await oidc.verify(token);
    return { kind: 'user', id: person.username, subject: person.subject, groups: person.groups, expiresAt: person.expiresAt };
  }

  /** The caller as a Cedar principal of `tenantId`, with the roles it holds there now. */
  async principal(caller: Caller, tenantId: string): Promise<AdminPrincipal> {
    const tenant = this.config().tenants.find((t) => t.id === tenantId);
    if (caller.kind === 'apiKey') {
      // A key of another tenant holds no role here (Cedar then denies, and says so).
      const defined = new Set(tenant?.roles.map((r) => r.name) ?? []);
      const roles = caller.key.tenantId === tenantId ? caller.key.roles.filter((r) => defined.has(r)) : [];
      return { kind: 'apiKey', id: caller.id, roles };
    }
    const status = await this.store.personStatus(tenantId, caller.id);
    if (status === 'inactive') {
      throw new ClawError('AUTH_USER_DEPROVISIONED', `'${caller.id}' has been deprovisioned in tenant '${tenantId}'`, { hint: "the tenant's identity provider removed this person; ask its admins" });
    }
    const groups = new Set([...caller.groups, ...(status === 'active' ? await this.store.groupsOf(tenantId, caller.id) : [])]);
    const roles = (tenant?.roles ?? []).filter((r) => r.groups.some((g) => groups.has(g))).map((r) => r.name);
    return { kind: 'user', id: caller.id, roles };
  }

  /** Every tenant the caller holds a role in, with those roles (for `GET /me` and the console's tenant picker). */
  async memberships(caller: Caller): Promise<{ tenant: string; roles: string[] }[]> {
    const out: { tenant: string; roles: string[] }[] = [];
    for (const tenant of this.config().tenants) {
      if (caller.kind === 'apiKey' && caller.key.tenantId !== tenant.id) continue;
      const principal = await this.principal(caller, tenant.id).catch(() => undefined);
      if (principal && principal.roles.length) out.push({ tenant: tenant.id, roles: [...principal.roles] });
    }
    return out;
  }
}
