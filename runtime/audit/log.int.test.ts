/**
 * The audit log on a real PostgreSQL (the fixtures' server), sealed with the local keyring.
 * Tampering is done the way an attacker with database access would: raw SQL on audit_log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { localTenantKeyring } from '../crypto/index.js';
import { MetadataStore } from '../store/metadata.js';
import { AuditLog, canonical, chainHash, verifyChain, type AuditEvent } from './log.js';
import { exportLines, otlpExport, parseExport } from './export.js';
import { AuditArchiver, compareWithStore, readArchive, verifyArchive } from './archive.js';
import { openDirectoryBlobStore } from '../blobs/index.js';
import { readdirSync, readFileSync } from 'node:fs';

const url = inject('postgresUrl');
const stateDir = mkdtempSync(join(tmpdir(), 'claw-audit-'));
const keyring = localTenantKeyring(stateDir);
let log: AuditLog;
let raw: pg.Client;
let n = 0;
const fresh = async () => {
  const tenant = `audit-${Date.now().toString(36)}-${n++}`;
  await keyring.createTenantKey(tenant);
  return tenant;
};

const event = (i: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  actor: { kind: 'user', id: 'alice@acme.example' },
  action: 'approval.decide',
  resource: `run/r${i}/call/c${i}`,
  decision: 'allow',
  determiningPolicies: ['policy0'],
  details: { tool: 'http.get' },
  ...over,
});

async function chainOf(tenant: string, length: number): Promise<void> {
  for (let i = 1; i <= length; i++) await log.append(tenant, event(i));
}

beforeAll(async () => {
  await (await MetadataStore.connect(url)).close(); // migrates
  log = await AuditLog.open(url, keyring);
  raw = new pg.Client({ connectionString: url });
  await raw.connect();
});
afterAll(async () => {
  await log?.close();
  await raw?.end();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('the audit log', () => {
  it('appends, reads back in order, and verifies; the table holds no plaintext', async () => {
    const tenant = await fresh();
    await chainOf(tenant, 5);
    const rows = [];
    for await (const row of log.read(tenant)) rows.push(row);
    expect(rows.map((r) => r.entry?.resource)).toEqual(['run/r1/call/c1', 'run/r2/call/c2', 'run/r3/call/c3', 'run/r4/call/c4', 'run/r5/call/c5']);
    expect(rows[0]!.entry).toMatchObject({ tenantId: tenant, seq: 1, actor: { kind: 'user', id: 'alice@acme.example' }, decision: 'allow', determiningPolicies: ['policy0'] });
    const verified = await log.verify(tenant);
    expect(verified).toMatchObject({ ok: true, entries: 5, head: { seq: 5 } });
    const stored = await raw.query('select entry_ct from audit_log where tenant_id = $1', [tenant]);
    for (const r of stored.rows) expect(Buffer.from(r.entry_ct).toString('latin1')).not.toContain('alice@acme.example');
  });

  it('concurrent appends for one tenant never fork the chain', async () => {
    const tenant = await fresh();
    const heads = await Promise.all(Array.from({ length: 12 }, (_, i) => log.append(tenant, event(i + 1))));
    expect(heads.map((h) => h.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(await log.verify(tenant)).toMatchObject({ ok: true, entries: 12 });
  });

  describe('verify names the first entry that was tampered with', () => {
    it('a deleted entry', async () => {
      const tenant = await fresh();
      await chainOf(tenant, 5);
      await raw.query('delete from audit_log where tenant_id = $1 and seq = 3', [tenant]);
      expect(await log.verify(tenant)).toMatchObject({ ok: false, seq: 3, code: 'AUDIT_ENTRY_MISSING' });
    });

    it('two entries swapped', async () => {
      const tenant = await fresh();
      await chainOf(tenant, 5);
      await raw.query(
        `update audit_log a set entry_ct = b.entry_ct, prev_hash = b.prev_hash, hash = b.hash
           from audit_log b where a.tenant_id = $1 and b.tenant_id = $1 and ((a.seq = 2 and b.seq = 4) or (a.seq = 4 and b.seq = 2))`,
        [tenant],
      );
      expect(await log.verify(tenant)).toMatchObject({ ok: false, seq: 2, code: 'AUDIT_ENTRY_MOVED' });
    });

    it('a ciphertext edited in place', async () => {
      const tenant = await fresh();
      await chainOf(tenant, 4);
      // One bit pattern flipped (XOR, so the byte always changes; setting a fixed value is a no-op 1 time in 256).
      await raw.query(`update audit_log set entry_ct = set_byte(entry_ct, length(entry_ct) - 20, get_byte(entry_ct, length(entry_ct) - 20) # 255) where tenant_id = $1 and seq = 2`, [tenant]);
      expect(await log.verify(tenant)).toMatchObject({ ok: false, seq: 2, code: 'AUDIT_ENTRY_UNREADABLE' });
    });

    it('an entry rewritten by someone holding the key (re-encrypted, the old hashes kept)', async () => {
      const tenant = await fresh();
      await chainOf(tenant, 4);
      const rows = [];
      for await (const row of log.read(tenant)) rows.push(row);
      const forged = { ...rows[2]!.entry!, decision: 'deny' as const };
      const sealed = Buffer.from(await (await keyring.forTenant(tenant)).encrypt(new TextEncoder().encode(canonical(forged)), 'record'));
      await raw.query('update audit_log set entry_ct = $2 where tenant_id = $1 and seq = 3', [tenant, sealed]);
      expect(await log.verify(tenant)).toMatchObject({ ok: false, seq: 3, code: 'AUDIT_HASH_MISMATCH' });
    });

    it('an entry inserted in the middle (the rest renumbered)', async () => {
      const tenant = await fresh();
      await chainOf(tenant, 4);
      await raw.query('update audit_log set seq = seq + 100 where tenant_id = $1 and seq >= 3', [tenant]);
      await raw.query('update audit_log set seq = seq - 99 where tenant_id = $1 and seq >= 103', [tenant]);
      const rows = [];
      for await (const row of log.read(tenant)) rows.push(row);
      const fake = { ...rows[1]!.entry!, seq: 3, resource: 'run/forged/call/x' };
      const sealed = Buffer.from(await (await keyring.forTenant(tenant)).encrypt(new TextEncoder().encode(canonical(fake)), 'record'));
      await raw.query('insert into audit_log (tenant_id, seq, at, entry_ct, prev_hash, hash) values ($1, 3, now(), $2, $3, $4)', [tenant, sealed, rows[1]!.hash, chainHash(rows[1]!.hash, fake)]);
      // The forged entry chains; the first real one after it does not sit where it says.
      expect(await log.verify(tenant)).toMatchObject({ ok: false, seq: 4, code: 'AUDIT_ENTRY_MOVED' });
    });

    it('the tail cut: caught against a head kept from an earlier export', async () => {
      const tenant = await fresh();
      await chainOf(tenant, 5);
      const before = await log.verify(tenant);
      if (!before.ok) throw new Error('expected an intact chain');
      await raw.query('delete from audit_log where tenant_id = $1 and seq >= 4', [tenant]);
      expect(await log.verify(tenant)).toMatchObject({ ok: true, entries: 3 });
      expect(await log.verify(tenant, before.head)).toMatchObject({ ok: false, seq: 5, code: 'AUDIT_HEAD_MISSING' });
    });
  });

  it("another tenant's key opens none of a tenant's entries", async () => {
    const [acme, globex] = [await fresh(), await fresh()];
    await chainOf(acme, 2);
    await raw.query(`insert into audit_log (tenant_id, seq, at, entry_ct, prev_hash, hash)
                       select $2, seq, at, entry_ct, prev_hash, hash from audit_log where tenant_id = $1`, [acme, globex]);
    expect(await log.verify(globex)).toMatchObject({ ok: false, seq: 1, code: 'AUDIT_ENTRY_UNREADABLE' });
  });

  it('exports JSON Lines that re-verify on their own, and an edited export does not', async () => {
    const tenant = await fresh();
    await chainOf(tenant, 6);
    const lines: string[] = [];
    for await (const line of exportLines(log, tenant)) lines.push(line);
    expect(lines).toHaveLength(7);
    const parsed = parseExport(lines.join('\n'));
    expect(verifyChain(parsed.chain, parsed.head)).toMatchObject({ ok: true, entries: 6, head: parsed.head });
    const edited = lines.map((l, i) => (i === 3 ? l.replace('"decision":"allow"', '"decision":"deny"') : l));
    expect(verifyChain(parseExport(edited.join('\n')).chain)).toMatchObject({ ok: false, seq: 4, code: 'AUDIT_HASH_MISMATCH' });
  });

  it('exports OTLP logs that round-trip to the same chain and head; a record removed or edited in the file is caught', async () => {
    const tenant = await fresh();
    await chainOf(tenant, 5);
    await log.append(tenant, event(6, { decision: 'deny', determiningPolicies: ['cedar:default-deny'] }));
    const text = await otlpExport(log, tenant);
    const doc = JSON.parse(text);
    const records = doc.resourceLogs[0].scopeLogs[0].logRecords;
    expect(records).toHaveLength(6);
    const attrs = Object.fromEntries(records[5].attributes.map((a: { key: string; value: Record<string, string> }) => [a.key, Object.values(a.value)[0]]));
    expect(attrs).toMatchObject({ 'claw.audit.actor': 'user:alice@acme.example', 'claw.audit.decision': 'deny', 'claw.audit.policies': 'cedar:default-deny', 'claw.audit.seq': '6' });
    expect(records[5].severityText).toBe('WARN');

    const lines: string[] = [];
    for await (const line of exportLines(log, tenant)) lines.push(line);
    const fromJsonl = parseExport(lines.join('\n'));
    const fromOtlp = parseExport(text);
    expect(fromOtlp).toEqual(fromJsonl);
    expect(verifyChain(fromOtlp.chain, fromOtlp.head)).toMatchObject({ ok: true, entries: 6 });

    const removed = JSON.parse(text);
    removed.resourceLogs[0].scopeLogs[0].logRecords.splice(2, 1);
    expect(verifyChain(parseExport(JSON.stringify(removed)).chain)).toMatchObject({ ok: false, seq: 3, code: 'AUDIT_ENTRY_MISSING' });
    const edited = text.replace('\\"decision\\":\\"deny\\"', '\\"decision\\":\\"allow\\"');
    expect(edited).not.toBe(text);
    expect(verifyChain(parseExport(edited).chain)).toMatchObject({ ok: false, seq: 6, code: 'AUDIT_HASH_MISMATCH' });
  });

  it("lands in the tenant's own storage as sealed segments that re-verify with no database; a store rewritten after archiving is caught", async () => {
    const tenant = await fresh();
    const other = await fresh();
    const blobs = openDirectoryBlobStore(stateDir, keyring);
    const archiver = new AuditArchiver(log, blobs);
    await chainOf(tenant, 3);
    await chainOf(other, 1);
    const errors: string[] = [];
    expect(await archiver.archiveAll((t, e) => errors.push(`${t}: ${(e as Error).message}`))).toBeGreaterThanOrEqual(2);
    expect(errors.filter((e) => e.startsWith(tenant) || e.startsWith(other))).toEqual([]);
    // Nothing new: nothing written. Two more entries: one more segment, continuing the chain.
    expect(await archiver.archive(tenant)).toEqual({ entries: 0, through: 3 });
    await chainOf(tenant, 2);
    expect(await archiver.archive(tenant)).toMatchObject({ segment: 'audit/000000000004-000000000005.jsonl', entries: 2, through: 5 });
    expect(await blobs.list(tenant, 'audit/')).toEqual(['audit/000000000001-000000000003.jsonl', 'audit/000000000004-000000000005.jsonl']);

    // Read back with no database: the whole chain, in order, and it verifies; a fresh archiver (a restarted worker) resumes after it.
    const archived = await readArchive(blobs, tenant);
    expect(archived.chain.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(archived.head).toEqual(await log.head(tenant));
    expect(await verifyArchive(blobs, tenant)).toMatchObject({ ok: true, entries: 5, segments: 2 });
    await chainOf(tenant, 1);
    expect(await new AuditArchiver(log, blobs).archive(tenant)).toMatchObject({ segment: 'audit/000000000006-000000000006.jsonl', entries: 1 });
    expect(await compareWithStore(log, blobs, tenant)).toBeUndefined();

    // Sealed on disk under the tenant's key: no entry text in the files.
    const dir = join(stateDir, 'blobs', tenant);
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) expect(readFileSync(join(f.parentPath, f.name)).toString('latin1')).not.toMatch(/alice@acme|approval\.decide/);

    // The store's entry 2 rewritten by someone holding the key (re-chained from there): the store alone verifies, the archive does not agree.
    const { rows } = await raw.query('select seq, entry_ct, prev_hash from audit_log where tenant_id = $1 order by seq', [tenant]);
    const crypto = await keyring.forTenant(tenant);
    let prev = rows[0].prev_hash as string;
    for (const row of rows) {
      const entry = JSON.parse(new TextDecoder().decode(await crypto.decrypt(row.entry_ct, 'record')));
      if (Number(row.seq) === 2) entry.decision = 'deny';
      const hash = chainHash(prev, entry);
      await raw.query('update audit_log set entry_ct = $3, prev_hash = $4, hash = $5 where tenant_id = $1 and seq = $2', [tenant, row.seq, Buffer.from(await crypto.encrypt(new TextEncoder().encode(canonical(entry)), 'record')), prev, hash]);
      prev = hash;
    }
    expect(await log.verify(tenant)).toMatchObject({ ok: true });
    expect(await compareWithStore(log, blobs, tenant)).toMatchObject({ seq: 2 });
  });

  it('refuses a malformed event with one clear code, recording nothing', async () => {
    const tenant = await fresh();
    await expect(log.append(tenant, event(1, { action: 'Not An Action' }))).rejects.toMatchObject({ code: 'AUDIT_EVENT_INVALID' });
    expect(await log.head(tenant)).toEqual({ seq: 0, hash: '0'.repeat(64) });
  });
});
