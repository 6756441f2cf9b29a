/**
 * Each tenant's audit log: who did what to the tenant's platform (approved a tool call, set a
 * secret, rotated or shredded a key, applied an agent), with the decision and the policies
 * that determined it. Append-only and hash-chained, encrypted under the tenant's key, so the
 * tenant owns it and can prove it whole:
 *
 *   hash[n] = sha256(hash[n-1] + "\n" + canonical(entry[n]))      hash[0] = "0" x 64
 *
 * where entry[n] carries its own seq, time and a random nonce (so a hash in clear gives no
 * way to guess an entry). The table holds the entry's ciphertext and both hashes in clear:
 * `verify` decrypts and recomputes the chain and names the first entry that was removed,
 * reordered, inserted, edited (as ciphertext, or re-encrypted by a key holder). Cutting the
 * tail is only detectable against a head (seq and hash) kept elsewhere: every export ends
 * with it, and `verify` checks one given to it.
 *
 * Appends are serialized per tenant by the primary key (tenant, seq): two writers that read
 * the same head cannot both insert the next seq; the loser re-reads and retries. No fork.
 * A writer remembers the head it last wrote, so an append is one insert (one round trip);
 * a head another writer moved on costs the conflict and a re-read.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { ClawError } from '../../core/errors.js';
import type { TenantKeyring } from '../ports.js';
import { openMigratedPool } from '../store/migrations.js';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditActor = { kind: 'user' | 'apiKey' | 'system'; id: string };

/** What a caller records. */
export interface AuditEvent {
  actor: AuditActor;
  /** e.g. approval.decide, secret.set, secret.remove, key.rotate, key.shred, agent.apply, policy.edit */
  action: string;
  /** What it acted on, e.g. run/<id>/call/<id>, secret/<name>, key/<tenant>. */
  resource: string;
  decision: 'allow' | 'deny';
  /** Cedar policy ids that determined the decision (empty where no policy was evaluated). */
  determiningPolicies: string[];
  details?: Record<string, string | number | boolean>;
}

/** One entry as chained: the event plus its place, time and nonce. */
export interface AuditEntry extends AuditEvent {
  tenantId: string;
  seq: number;
  at: string;
  nonce: string;
}

export interface ChainedEntry {
  entry: AuditEntry;
  prevHash: string;
  hash: string;
}

export interface AuditHead {
  seq: number;
  hash: string;
}

export type VerifyResult =
  | { ok: true; entries: number; head: AuditHead }
  | { ok: false; entries: number; seq: number; code: AuditBreak; message: string };

export type AuditBreak = 'AUDIT_ENTRY_MISSING' | 'AUDIT_ENTRY_MOVED' | 'AUDIT_ENTRY_UNREADABLE' | 'AUDIT_HASH_MISMATCH' | 'AUDIT_HEAD_MISSING';

/** JSON with object keys sorted at every level: one byte string per entry. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function chainHash(prevHash: string, entry: AuditEntry): string {
  return createHash('sha256').update(prevHash).update('\n').update(canonical(entry)).digest('hex');
}

/**
 * Check a chain given in order (from the store, or an export): every seq present once, each
 * entry where it says it is, each hash the one its predecessor and content give.
 */
export function verifyChain(chain: Iterable<{ seq: number; entry?: AuditEntry; prevHash: string; hash: string; unreadable?: string }>, expectHead?: AuditHead): VerifyResult {
  let prev = GENESIS_HASH;
  let expected = 1;
  let count = 0;
  let head: AuditHead = { seq: 0, hash: GENESIS_HASH };
  let hashAtExpected: string | undefined;
  for (const row of chain) {
    const broken = (seq: number, code: AuditBreak, message: string): VerifyResult => ({ ok: false, entries: count, seq, code, message });
    if (row.seq !== expected) return broken(expected, 'AUDIT_ENTRY_MISSING', `entry ${expected} is missing (the next one is ${row.seq})`);
    if (row.unreadable !== undefined) return broken(row.seq, 'AUDIT_ENTRY_UNREADABLE', `entry ${row.seq} does not decrypt under the tenant's key (${row.unreadable})`);
    const entry = row.entry!;
    if (entry.seq !== row.seq) return broken(row.seq, 'AUDIT_ENTRY_MOVED', `entry ${row.seq} holds the content of entry ${entry.seq}`);
    if (row.prevHash !== prev) return broken(row.seq, 'AUDIT_HASH_MISMATCH', `entry ${row.seq} does not follow entry ${row.seq - 1} (its previous hash differs)`);
    const hash = chainHash(prev, entry);
    if (hash !== row.hash) return broken(row.seq, 'AUDIT_HASH_MISMATCH', `entry ${row.seq} was changed after it was written (its hash differs)`);
    if (row.seq === expectHead?.seq) hashAtExpected = hash;
    prev = hash;
    expected += 1;
    count += 1;
    head = { seq: row.seq, hash };
  }
  if (expectHead && expectHead.seq > 0 && hashAtExpected !== expectHead.hash) {
    return { ok: false, entries: count, seq: expectHead.seq, code: 'AUDIT_HEAD_MISSING', message: `entry ${expectHead.seq} with the head hash given is not in the log (entries were cut or rewritten)` };
  }
  return { ok: true, entries: count, head };
}

function checkEvent(event: AuditEvent): void {
  const bad = (field: string, why: string) => new ClawError('AUDIT_EVENT_INVALID', `audit event: ${field} ${why}`, { hint: 'this is a bug in the caller; the action was not recorded' });
  if (!event.actor?.id || !['user', 'apiKey', 'system'].includes(event.actor.kind)) throw bad('actor', 'needs a kind (user, apiKey, system) and an id');
  if (!/^[a-z][a-z0-9_.-]*$/.test(event.action ?? '')) throw bad('action', 'is not a dotted lower-case name');
  if (!event.resource) throw bad('resource', 'is empty');
  if (event.decision !== 'allow' && event.decision !== 'deny') throw bad('decision', "is not 'allow' or 'deny'");
}

export class AuditLog {
  /** The head this writer last wrote or read, per tenant (a hint: the primary key decides). */
  private readonly heads = new Map<string, AuditHead>();

  private constructor(
    private readonly pool: pg.Pool,
    private readonly keyring: TenantKeyring,
    private readonly now: () => Date,
  ) {}

  /** On the metadata store, migrated first (migration 4 is the table): a CLI may reach a store nothing has migrated yet. */
  static async open(databaseUrl: string, keyring: TenantKeyring, options: { now?: () => Date } = {}): Promise<AuditLog> {
    const pool = await openMigratedPool(databaseUrl, 2);
    return new AuditLog(pool, keyring, options.now ?? (() => new Date()));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Append one event to the tenant's chain; returns the chained entry's seq and hash. */
  async append(tenantId: string, event: AuditEvent): Promise<AuditHead> {
    checkEvent(event);
    const crypto = await this.keyring.forTenant(tenantId);
    for (let attempt = 0; ; attempt++) {
      const head = (attempt === 0 ? this.heads.get(tenantId) : undefined) ?? (await this.head(tenantId));
      const entry: AuditEntry = { ...event, tenantId, seq: head.seq + 1, at: this.now().toISOString(), nonce: randomBytes(16).toString('hex') };
      const hash = chainHash(head.hash, entry);
      const sealed = Buffer.from(await crypto.encrypt(new TextEncoder().encode(canonical(entry)), 'record'));
      try {
        await this.pool.query('insert into audit_log (tenant_id, seq, at, entry_ct, prev_hash, hash) values ($1, $2, $3, $4, $5, $6)', [tenantId, entry.seq, entry.at, sealed, head.hash, hash]);
        this.heads.set(tenantId, { seq: entry.seq, hash });
        return { seq: entry.seq, hash };
      } catch (err) {
        // Another writer took this seq first: chain onto its entry instead.
        this.heads.delete(tenantId);
        if ((err as { code?: string }).code !== '23505' || attempt >= 20) throw err;
      }
    }
  }

  async head(tenantId: string): Promise<AuditHead> {
    const { rows } = await this.pool.query<{ seq: string; hash: string }>('select seq, hash from audit_log where tenant_id = $1 order by seq desc limit 1', [tenantId]);
    return rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : { seq: 0, hash: GENESIS_HASH };
  }

  /** Every tenant's head seq (the tenants with a log). */
  async tenantHeads(): Promise<{ tenantId: string; seq: number }[]> {
    const { rows } = await this.pool.query<{ tenant_id: string; seq: string }>('select tenant_id, max(seq) as seq from audit_log group by tenant_id order by tenant_id');
    return rows.map((r) => ({ tenantId: r.tenant_id, seq: Number(r.seq) }));
  }

  /** The chain in order (after seq `after`, if given), decrypted; an entry that does not decrypt is returned as unreadable. */
  async *read(tenantId: string, options: { pageSize?: number; after?: number } = {}): AsyncGenerator<{ seq: number; entry?: AuditEntry; prevHash: string; hash: string; unreadable?: string }> {
    const crypto = await this.keyring.forTenant(tenantId);
    const pageSize = options.pageSize ?? 500;
    let after = options.after ?? 0;
    for (;;) {
      const { rows } = await this.pool.query<{ seq: string; entry_ct: Buffer; prev_hash: string; hash: string }>(
        'select seq, entry_ct, prev_hash, hash from audit_log where tenant_id = $1 and seq > $2 order by seq limit $3',
        [tenantId, after, pageSize],
      );
      for (const row of rows) {
        const seq = Number(row.seq);
        try {
          const entry = JSON.parse(new TextDecoder().decode(await crypto.decrypt(row.entry_ct, 'record'))) as AuditEntry;
          if (entry.tenantId !== tenantId) throw new Error("another tenant's entry");
          yield { seq, entry, prevHash: row.prev_hash, hash: row.hash };
        } catch (err) {
          yield { seq, prevHash: row.prev_hash, hash: row.hash, unreadable: (err as { code?: string }).code ?? (err as Error).message.split('\n')[0]! };
        }
      }
      if (rows.length < pageSize) return;
      after = Number(rows[rows.length - 1]!.seq);
    }
  }

  async verify(tenantId: string, expectHead?: AuditHead): Promise<VerifyResult> {
    const rows = [];
    for await (const row of this.read(tenantId)) rows.push(row);
    return verifyChain(rows, expectHead);
  }
}
