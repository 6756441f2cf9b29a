/**
 * The default SecretStore: one row per (tenant, name) in the metadata database, the value
 * envelope-encrypted under the tenant's key (purpose 'secret', the name sealed inside).
 * Works on PGlite served over the wire (local) and Postgres (cloud) through `pg`.
 */
import pg from 'pg';
import type { SecretStore, TenantKeyring } from '../ports.js';
import { checkSecretName, sealable, unsealed } from './names.js';

const SCHEMA = [
  `create table if not exists claw_secrets (
     tenant_id   text not null,
     name        text not null,
     value_ct    bytea not null,
     updated_at  timestamptz not null default now(),
     primary key (tenant_id, name)
   )`,
];

export class DbSecretStore implements SecretStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly keyring: TenantKeyring,
  ) {}

  static async open(databaseUrl: string, keyring: TenantKeyring): Promise<DbSecretStore> {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    // A dropped idle connection must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    for (const statement of SCHEMA) await pool.query(statement);
    return new DbSecretStore(pool, keyring);
  }

  async get(tenantId: string, name: string): Promise<string | undefined> {
    checkSecretName(name);
    const { rows } = await this.pool.query<{ value_ct: Buffer }>('select value_ct from claw_secrets where tenant_id = $1 and name = $2', [tenantId, name]);
    if (rows.length === 0) return undefined;
    const crypto = await this.keyring.forTenant(tenantId);
    return unsealed(name, await crypto.decrypt(rows[0]!.value_ct, 'secret'));
  }

  async set(tenantId: string, name: string, value: string): Promise<void> {
    checkSecretName(name);
    const crypto = await this.keyring.forTenant(tenantId);
    const sealed = Buffer.from(await crypto.encrypt(sealable(name, value), 'secret'));
    await this.pool.query(
      `insert into claw_secrets (tenant_id, name, value_ct) values ($1, $2, $3)
       on conflict (tenant_id, name) do update set value_ct = excluded.value_ct, updated_at = now()`,
      [tenantId, name, sealed],
    );
  }

  async list(tenantId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>('select name from claw_secrets where tenant_id = $1 order by name', [tenantId]);
    return rows.map((r) => r.name);
  }

  async listChanged(tenantId: string): Promise<{ name: string; updatedAt: string }[]> {
    const { rows } = await this.pool.query<{ name: string; updated_at: Date }>('select name, updated_at from claw_secrets where tenant_id = $1 order by name', [tenantId]);
    return rows.map((r) => ({ name: r.name, updatedAt: new Date(r.updated_at).toISOString() }));
  }

  async remove(tenantId: string, name: string): Promise<boolean> {
    checkSecretName(name);
    const result = await this.pool.query('delete from claw_secrets where tenant_id = $1 and name = $2', [tenantId, name]);
    return (result.rowCount ?? 0) > 0;
  }

  /** Re-encrypt every secret of a tenant under its current key version (`rotate-key --reencrypt`). */
  async reencrypt(tenantId: string): Promise<number> {
    const names = await this.list(tenantId);
    for (const name of names) {
      const value = await this.get(tenantId, name);
      if (value !== undefined) await this.set(tenantId, name, value);
    }
    return names.length;
  }

  /** Tenant ids that have at least one secret (for shred verification). */
  async tenants(): Promise<string[]> {
    const { rows } = await this.pool.query<{ tenant_id: string }>('select distinct tenant_id from claw_secrets order by 1');
    return rows.map((r) => r.tenant_id);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
