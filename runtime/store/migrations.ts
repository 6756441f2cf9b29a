/**
 * The metadata schema, as numbered migrations applied in order, once each.
 * Routing and accounting metadata is in clear (ids, status, timestamps, sizes, counts);
 * user content (the message and the reply of a run) is ciphertext under the tenant's key
 * (DESIGN.md invariant 1).
 */
import pg from 'pg';
import { ClawError } from '../../core/errors.js';
import type { PGlite } from '@electric-sql/pglite';

export interface Migration {
  version: number;
  name: string;
  /** Single statements (PGlite's extended protocol takes one at a time). */
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'tenants, agents, runs',
    statements: [
      `create table tenants (
         id          text primary key,
         name        text not null,
         created_at  timestamptz not null default now(),
         updated_at  timestamptz not null default now()
       )`,
      `create table agents (
         tenant_id   text not null references tenants(id),
         id          text not null,
         revision    integer not null,
         spec        jsonb not null,
         spec_hash   text not null,
         source      text,
         applied_at  timestamptz not null default now(),
         primary key (tenant_id, id)
       )`,
      `create table runs (
         id             text primary key,
         tenant_id      text not null references tenants(id),
         agent_id       text not null,
         workflow_id    text not null,
         status         text not null check (status in ('running', 'completed', 'failed')),
         model          text,
         steps          integer not null default 0,
         tool_calls     integer not null default 0,
         input_tokens   integer not null default 0,
         output_tokens  integer not null default 0,
         message_bytes  integer not null,
         reply_bytes    integer,
         message_ct     bytea not null,
         reply_ct       bytea,
         error_code     text,
         started_at     timestamptz not null default now(),
         finished_at    timestamptz
       )`,
      `create index runs_by_tenant_time on runs (tenant_id, started_at desc)`,
    ],
  },
  {
    // RUNTIME (runtime/activities/run-steps.ts): what each step of a run did, attempt by
    // attempt (retries, decisions, approvals, budget outcomes) — metadata only, no content —
    // and the outbox of effects already delivered, keyed by their idempotency key.
    // (run_steps was superseded by the run's trace and is dropped by migration 3.)
    version: 2,
    name: 'run steps, sent effects',
    statements: [
      `create table run_steps (
         tenant_id    text not null,
         run_id       text not null,
         seq          integer not null,
         attempt      integer not null,
         kind         text not null check (kind in ('model', 'tool', 'approval', 'reply', 'end')),
         name         text,
         call_id      text,
         status       text not null,
         code         text,
         detail       text,
         duration_ms  integer,
         input_tokens integer,
         output_tokens integer,
         at           timestamptz not null default now(),
         primary key (tenant_id, run_id, seq, kind, attempt)
       )`,
      `create table sent_effects (
         idempotency_key text primary key,
         tenant_id       text not null,
         run_id          text not null,
         channel         text not null,
         message_id      text,
         sent_at         timestamptz not null default now()
       )`,
    ],
  },
  {
    // What each step of a run did is in the run's trace (runtime/traces), encrypted per
    // tenant; nothing writes or reads run_steps any more. sent_effects (the outbox) stays.
    version: 3,
    name: 'drop run steps',
    statements: ['drop table if exists run_steps'],
  },
  {
    // runtime/audit: each tenant's hash-chained audit log. The entry is ciphertext under the
    // tenant's key; the chain's hashes are in clear so anyone holding an export can check it.
    version: 4,
    name: 'audit log',
    statements: [
      `create table audit_log (
         tenant_id  text not null,
         seq        bigint not null,
         at         timestamptz not null,
         entry_ct   bytea not null,
         prev_hash  text not null,
         hash       text not null,
         primary key (tenant_id, seq)
       )`,
    ],
  },
  {
    // runtime/identity: service API keys (only a hash of the secret is kept) and the
    // people and groups a tenant's IdP provisions over SCIM. A key created by a person
    // stops working when that person is deprovisioned.
    version: 5,
    name: 'api keys and people',
    statements: [
      `create table api_keys (
         id           text primary key,
         tenant_id    text not null,
         name         text not null,
         roles        jsonb not null,
         secret_hash  text not null,
         created_by   text not null,
         created_at   timestamptz not null,
         expires_at   timestamptz not null,
         revoked_at   timestamptz
       )`,
      'create index api_keys_tenant on api_keys (tenant_id)',
      `create table people (
         tenant_id     text not null,
         id            text not null,
         user_name     text not null,
         external_id   text,
         display_name  text,
         active        boolean not null,
         deleted_at    timestamptz,
         created_at    timestamptz not null,
         modified_at   timestamptz not null,
         primary key (tenant_id, id),
         unique (tenant_id, user_name)
       )`,
      `create table people_groups (
         tenant_id     text not null,
         id            text not null,
         display_name  text not null,
         external_id   text,
         members       jsonb not null,
         created_at    timestamptz not null,
         modified_at   timestamptz not null,
         primary key (tenant_id, id),
         unique (tenant_id, display_name)
       )`,
    ],
  },
  {
    // Every revision of an applied agent (the console's history, who applied it), and the
    // tenant policies people apply through the admin API (editPolicy), revision by
    // revision; a revision with no text removes the policy. Configuration, not content:
    // in clear, like the agents' specs.
    version: 6,
    name: 'agent revisions, tenant policies',
    statements: [
      'alter table agents add column applied_by text',
      `create table agent_revisions (
         tenant_id   text not null,
         id          text not null,
         revision    integer not null,
         spec        jsonb not null,
         source      text,
         applied_by  text,
         applied_at  timestamptz not null,
         primary key (tenant_id, id, revision)
       )`,
      `insert into agent_revisions (tenant_id, id, revision, spec, source, applied_at)
         select tenant_id, id, revision, spec, source, applied_at from agents`,
      `create table tenant_policies (
         tenant_id   text not null,
         name        text not null,
         revision    integer not null,
         text        text,
         applied_by  text not null,
         applied_at  timestamptz not null default now(),
         primary key (tenant_id, name, revision)
       )`,
    ],
  },
];

interface Queryable {
  query(text: string, params?: unknown[]): Promise<{ rows: any[] }>;
}

async function applyPending(db: Queryable, migrations: Migration[]): Promise<number[]> {
  await db.query(`create table if not exists schema_migrations (
    version integer primary key, name text not null, applied_at timestamptz not null default now())`);
  const { rows } = await db.query('select version from schema_migrations');
  const applied = new Set(rows.map((r: { version: number }) => r.version));
  const done: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements) await db.query(statement);
    await db.query('insert into schema_migrations (version, name) values ($1, $2)', [migration.version, migration.name]);
    done.push(migration.version);
  }
  return done;
}

/** Arbitrary but fixed: serializes concurrent migrators on one Postgres. */
const MIGRATION_LOCK = 0x636c6177;

/** Migrate a Postgres (real, or PGlite over the wire) in one transaction under an advisory lock. */
export async function migratePostgres(pool: pg.Pool, migrations = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const done = await applyPending(client, migrations);
    await client.query('commit');
    return done;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Migrate an embedded PGlite directly (the store process does this before it serves). */
export async function migratePglite(db: PGlite, migrations = MIGRATIONS): Promise<number[]> {
  return db.transaction((tx) => applyPending(tx, migrations));
}

/**
 * A pool on the metadata store, migrated first (a CLI or a service may reach a store nothing
 * has migrated yet); STORE_UNAVAILABLE when it cannot be reached.
 */
export async function openMigratedPool(databaseUrl: string, max: number): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  pool.on('error', () => {});
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end().catch(() => {});
    throw new ClawError('STORE_UNAVAILABLE', `the metadata store is not reachable (${(err as Error).message.split('\n')[0]})`, {
      hint: "start the platform with 'claw up' and check 'claw status'",
      cause: err,
    });
  }
  return pool;
}
