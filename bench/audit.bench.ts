/**
 * Audit append per admin action (issue 15's target: authorization + audit append < 5 ms p99
 * per admin request on the local target). Measured on a real PostgreSQL started here on
 * 127.0.0.1: `AuditLog.append` (read the head, seal the entry under the tenant's key with the
 * local keyring, insert), against the same insert of an already sealed row with no chain
 * and no encryption (the floor any durable record pays). Authorization for people (Cedar
 * `User`/`Role` principals) is not built yet, so this is the audit half only.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { localTenantKeyring } from '../runtime/crypto/index.js';
import { AuditLog } from '../runtime/audit/log.js';
import { MetadataStore } from '../runtime/store/metadata.js';
import { startPostgres } from '../test/fixtures/servers.js';
import { percentile, report, sample } from './lib.js';

const ITERATIONS = 1_000;
const server = await startPostgres();
try {
  const url = server.url;
  await (await MetadataStore.connect(url)).close();
  const keyring = localTenantKeyring(mkdtempSync(join(tmpdir(), 'claw-audit-bench-')));
  await keyring.createTenantKey('acme');
  const log = await AuditLog.open(url, keyring);
  const raw = new pg.Pool({ connectionString: url, max: 2 });
  const sealed = Buffer.alloc(400, 7);
  let i = 0;
  const append = await sample(
    () => log.append('acme', { actor: { kind: 'user', id: 'alice@acme.example' }, action: 'approval.grant', resource: `run/r${++i}/call/c1`, decision: 'allow', determiningPolicies: ['policy3'], details: { tool: 'http.get' } }),
    ITERATIONS,
  );
  let j = 0;
  const floor = await sample(
    () => raw.query('insert into audit_log (tenant_id, seq, at, entry_ct, prev_hash, hash) values ($1, $2, now(), $3, $4, $4)', ['floor', ++j, sealed, 'x'.repeat(64)]),
    ITERATIONS,
  );
  const verifyStart = performance.now();
  const verified = await log.verify('acme');
  const verifyMs = performance.now() - verifyStart;
  report('audit', [
    { name: 'append p50', value: percentile(append, 50), unit: 'ms', baseline: { name: 'bare insert p50', value: percentile(floor, 50) } },
    { name: 'append p99', value: percentile(append, 99), unit: 'ms', baseline: { name: 'bare insert p99', value: percentile(floor, 99) }, target: '< 5 ms', note: 'audit half of the per-admin-request budget' },
    { name: `verify ${verified.entries} entries`, value: verifyMs, unit: 'ms', note: verified.ok ? 'chain intact' : `BROKEN: ${verified.message}` },
  ]);
  await raw.end();
  await log.close();
} finally {
  await server.stop();
}
