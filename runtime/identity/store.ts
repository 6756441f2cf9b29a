/**
 * Who may call the admin API besides signed-in people, and who the IdP says still works
 * here. On the metadata store (migration 5):
 *
 * - **Service API keys** for automation: scoped to one tenant and some of its roles,
 *   expiring, revocable. The token is `clawk_<id>_<secret>`; only SHA-256 of the secret is
 *   kept (it is 256 random bits, so a slow hash adds nothing), compared in constant time.
 * - **The directory** the tenant's IdP provisions over SCIM 2.0 (runtime/admin/scim.ts):
 *   people and groups. A person the directory holds as inactive or deleted is refused at
 *   once: their ID tokens (still unexpired) and every API key they created stop working.
 *   A tenant whose IdP does not use SCIM has no rows; its people are who their tokens say.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import pg from 'pg';
import { ClawError } from '../../core/errors.js';
import { openMigratedPool } from '../store/migrations.js';

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string;
  roles: string[];
  /** `user:<name>` or `apiKey:<id>`: who created it (a key dies with its creator). */
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
}

export interface ScimPerson {
  id: string;
  userName: string;
  externalId?: string;
  displayName?: string;
  active: boolean;
  createdAt: string;
  modifiedAt: string;
}

export interface ScimGroup {
  id: string;
  displayName: string;
  externalId?: string;
  members: string[];
  createdAt: string;
  modifiedAt: string;
}

export type PersonStatus = 'active' | 'inactive' | 'unknown';

const KEY_PATTERN = /^clawk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const iso = (v: Date | string | null | undefined) => (v == null ? undefined : new Date(v).toISOString());

/** The longest an API key may live; a key is for automation, not forever. */
export const MAX_KEY_TTL_DAYS = 366;

function keyInvalid(): ClawError {
  // One answer for unknown, malformed and wrong-secret keys: a caller learns nothing about which.
  return new ClawError('AUTH_KEY_INVALID', 'the API key is not valid', { hint: "create a key with 'claw apikey create' (a key is shown once)" });
}

export class IdentityStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => Date,
  ) {}

  static async open(databaseUrl: string, options: { now?: () => Date } = {}): Promise<IdentityStore> {
    const pool = await openMigratedPool(databaseUrl, 4);
    return new IdentityStore(pool, options.now ?? (() => new Date()));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // ---------------------------------------------------------------- API keys

  /** A new key; the token is returned here once and never stored. */
  async createApiKey(input: { tenantId: string; name: string; roles: string[]; createdBy: string; ttlDays: number }): Promise<{ key: ApiKeyRecord; token: string }> {
    if (!Number.isInteger(input.ttlDays) || input.ttlDays < 1 || input.ttlDays > MAX_KEY_TTL_DAYS) {
      throw new ClawError('API_KEY_TTL_INVALID', `an API key lives 1 to ${MAX_KEY_TTL_DAYS} days, not ${input.ttlDays}`, { hint: 'pass --ttl-days between 1 and 366' });
    }
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = this.now();
    const key: ApiKeyRecord = {
      id,
      tenantId: input.tenantId,
      name: input.name,
      roles: [...new Set(input.roles)].sort(),
      createdBy: input.createdBy,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + input.ttlDays * 86_400_000).toISOString(),
    };
    await this.pool.query(
      'insert into api_keys (id, tenant_id, name, roles, secret_hash, created_by, created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8)',
      [id, key.tenantId, key.name, JSON.stringify(key.roles), sha256(secret).toString('hex'), key.createdBy, key.createdAt, key.expiresAt],
    );
    return { key, token: `clawk_${id}_${secret}` };
  }

  async listApiKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const { rows } = await this.pool.query('select * from api_keys where tenant_id = $1 order by created_at', [tenantId]);
    return rows.map(toKey);
  }

  /** Revoke a key of the tenant; false when it has none by that id (or it was revoked already). */
  async revokeApiKey(tenantId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('update api_keys set revoked_at = $3 where tenant_id = $1 and id = $2 and revoked_at is null', [tenantId, id, this.now().toISOString()]);
    return (rowCount ?? 0) > 0;
  }

  /** The key a token names, if it is valid now: the secret matches, not expired or revoked, and its creator still works here. */
  async resolveApiKey(token: string): Promise<ApiKeyRecord> {
    const m = KEY_PATTERN.exec(token);
    if (!m) throw keyInvalid();
    const { rows } = await this.pool.query('select * from api_keys where id = $1', [m[1]]);
    const row = rows[0];
    if (!row || !timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), sha256(m[2]!))) throw keyInvalid();
    const key = toKey(row);
    if (key.revokedAt) throw new ClawError('AUTH_KEY_REVOKED', `API key ${key.id} was revoked at ${key.revokedAt}`, { hint: "create a new key with 'claw apikey create'" });
    if (new Date(key.expiresAt) <= this.now()) throw new ClawError('AUTH_KEY_EXPIRED', `API key ${key.id} expired at ${key.expiresAt}`, { hint: "create a new key with 'claw apikey create'" });
    if (key.createdBy.startsWith('user:') && (await this.personStatus(key.tenantId, key.createdBy.slice(5))) === 'inactive') {
      throw new ClawError('AUTH_USER_DEPROVISIONED', `API key ${key.id} was created by a person the tenant's directory has deprovisioned`, { hint: 'a key dies with its creator; create a new key as someone who still works here' });
    }
    return key;
  }

  // ---------------------------------------------------------------- the directory (SCIM)

  /** Whether the tenant's directory knows this person, and as active. */
  async personStatus(tenantId: string, userName: string): Promise<PersonStatus> {
    const { rows } = await this.pool.query('select active, deleted_at from people where tenant_id = $1 and lower(user_name) = lower($2)', [tenantId, userName]);
    if (!rows[0]) return 'unknown';
    return rows[0].active && !rows[0].deleted_at ? 'active' : 'inactive';
  }

  /** The directory groups a person is in (display names), beside their token's groups. */
  async groupsOf(tenantId: string, userName: string): Promise<string[]> {
    const { rows } = await this.pool.query(
      `select g.display_name from people_groups g join people p on p.tenant_id = g.tenant_id and g.members ? p.id
        where g.tenant_id = $1 and lower(p.user_name) = lower($2) and p.active and p.deleted_at is null`,
      [tenantId, userName],
    );
    return rows.map((r: { display_name: string }) => r.display_name);
  }

  async createPerson(tenantId: string, input: { userName: string; externalId?: string; displayName?: string; active: boolean }): Promise<ScimPerson> {
    const now = this.now().toISOString();
    const id = randomUUID();
    // A deleted person's name may be provisioned again: the tombstone gives way.
    await this.pool.query('delete from people where tenant_id = $1 and lower(user_name) = lower($2) and deleted_at is not null', [tenantId, input.userName]);
    try {
      await this.pool.query(
        'insert into people (tenant_id, id, user_name, external_id, display_name, active, created_at, modified_at) values ($1, $2, $3, $4, $5, $6, $7, $7)',
        [tenantId, id, input.userName, input.externalId ?? null, input.displayName ?? null, input.active, now],
      );
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new ClawError('SCIM_UNIQUENESS', `userName '${input.userName}' is already provisioned`, { hint: 'update the existing user (PUT or PATCH) instead' });
      throw err;
    }
    return { id, userName: input.userName, ...(input.externalId ? { externalId: input.externalId } : {}), ...(input.displayName ? { displayName: input.displayName } : {}), active: input.active, createdAt: now, modifiedAt: now };
  }

  async getPerson(tenantId: string, id: string): Promise<ScimPerson | undefined> {
    const { rows } = await this.pool.query('select * from people where tenant_id = $1 and id = $2 and deleted_at is null', [tenantId, id]);
    return rows[0] ? toPerson(rows[0]) : undefined;
  }

  async listPeople(tenantId: string, filter?: { userName?: string }): Promise<ScimPerson[]> {
    const { rows } = filter?.userName !== undefined
      ? await this.pool.query('select * from people where tenant_id = $1 and deleted_at is null and lower(user_name) = lower($2)', [tenantId, filter.userName])
      : await this.pool.query('select * from people where tenant_id = $1 and deleted_at is null order by created_at', [tenantId]);
    return rows.map(toPerson);
  }

  async updatePerson(tenantId: string, id: string, change: Partial<Pick<ScimPerson, 'userName' | 'externalId' | 'displayName' | 'active'>>): Promise<ScimPerson | undefined> {
    const current = await this.getPerson(tenantId, id);
    if (!current) return undefined;
    const next = { ...current, ...change, modifiedAt: this.now().toISOString() };
    await this.pool.query('update people set user_name = $3, external_id = $4, display_name = $5, active = $6, modified_at = $7 where tenant_id = $1 and id = $2', [
      tenantId,
      id,
      next.userName,
      next.externalId ?? null,
      next.displayName ?? null,
      next.active,
      next.modifiedAt,
    ]);
    return next;
  }

  /** Deprovision for good: the person stays as a tombstone so their tokens and keys stay refused. */
  async deletePerson(tenantId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('update people set active = false, deleted_at = $3 where tenant_id = $1 and id = $2 and deleted_at is null', [tenantId, id, this.now().toISOString()]);
    if ((rowCount ?? 0) === 0) return false;
    await this.pool.query(`update people_groups set members = members - $2::text where tenant_id = $1 and members ? $2`, [tenantId, id]);
    return true;
  }

  async createGroup(tenantId: string, input: { displayName: string; externalId?: string; members: string[] }): Promise<ScimGroup> {
    const now = this.now().toISOString();
    const id = randomUUID();
    try {
      await this.pool.query(
        'insert into people_groups (tenant_id, id, display_name, external_id, members, created_at, modified_at) values ($1, $2, $3, $4, $5, $6, $6)',
        [tenantId, id, input.displayName, input.externalId ?? null, JSON.stringify([...new Set(input.members)]), now],
      );
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new ClawError('SCIM_UNIQUENESS', `group '${input.displayName}' is already provisioned`, { hint: 'update the existing group instead' });
      throw err;
    }
    return { id, displayName: input.displayName, ...(input.externalId ? { externalId: input.externalId } : {}), members: [...new Set(input.members)], createdAt: now, modifiedAt: now };
  }

  async getGroup(tenantId: string, id: string): Promise<ScimGroup | undefined> {
    const { rows } = await this.pool.query('select * from people_groups where tenant_id = $1 and id = $2', [tenantId, id]);
    return rows[0] ? toGroup(rows[0]) : undefined;
  }

  async listGroups(tenantId: string, filter?: { displayName?: string }): Promise<ScimGroup[]> {
    const { rows } = filter?.displayName !== undefined
      ? await this.pool.query('select * from people_groups where tenant_id = $1 and display_name = $2', [tenantId, filter.displayName])
      : await this.pool.query('select * from people_groups where tenant_id = $1 order by created_at', [tenantId]);
    return rows.map(toGroup);
  }

  async updateGroup(tenantId: string, id: string, change: Partial<Pick<ScimGroup, 'displayName' | 'externalId' | 'members'>>): Promise<ScimGroup | undefined> {
    const current = await this.getGroup(tenantId, id);
    if (!current) return undefined;
    const next = { ...current, ...change, members: [...new Set(change.members ?? current.members)], modifiedAt: this.now().toISOString() };
    await this.pool.query('update people_groups set display_name = $3, external_id = $4, members = $5, modified_at = $6 where tenant_id = $1 and id = $2', [
      tenantId,
      id,
      next.displayName,
      next.externalId ?? null,
      JSON.stringify(next.members),
      next.modifiedAt,
    ]);
    return next;
  }

  async deleteGroup(tenantId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('delete from people_groups where tenant_id = $1 and id = $2', [tenantId, id]);
    return (rowCount ?? 0) > 0;
  }
}

function toKey(row: Record<string, any>): ApiKeyRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    roles: typeof row.roles === 'string' ? JSON.parse(row.roles) : row.roles,
    createdBy: row.created_by,
    createdAt: iso(row.created_at)!,
    expiresAt: iso(row.expires_at)!,
    ...(row.revoked_at ? { revokedAt: iso(row.revoked_at) } : {}),
  };
}

function toPerson(row: Record<string, any>): ScimPerson {
  return {
    id: row.id,
    userName: row.user_name,
    ...(row.external_id ? { externalId: row.external_id } : {}),
    ...(row.display_name ? { displayName: row.display_name } : {}),
    active: row.active,
    createdAt: iso(row.created_at)!,
    modifiedAt: iso(row.modified_at)!,
  };
}

function toGroup(row: Record<string, any>): ScimGroup {
  return {
    id: row.id,
    displayName: row.display_name,
    ...(row.external_id ? { externalId: row.external_id } : {}),
    members: typeof row.members === 'string' ? JSON.parse(row.members) : row.members,
    createdAt: iso(row.created_at)!,
    modifiedAt: iso(row.modified_at)!,
  };
}
