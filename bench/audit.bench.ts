/**
 * Audit append per admin action (issue 15's target: authorization + audit append < 5 ms p99
 * per admin request on the local target). Measured on a real PostgreSQL started here on
 * 127.0.0.1: `AuditLog.append` (read the head, seal the entry under the tenant's key with the
 * local keyring, insert), against the same insert of an already sealed row with no chain
 * and no encryption (the floor any durable record pays).
 *
 * Then the whole target: Cedar's decision for a person (`authorizeAdmin`: a `User` in the
 * tenant's roles, the role policies compiled from claw.yaml and a tenant forbid) followed by
 * the append, as the admin API's guard does per recorded request; and a whole admin request
 * over HTTP on loopback (the admin API in this process: API key lookup and hash check,
 * directory, Cedar, audit append, the 403 answer) for a refused, recorded request.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { localTenantKeyring } from '../runtime/crypto/index.js';
import { AuditLog } from '../runtime/audit/log.js';
import { MetadataStore } from '../runtime/store/metadata.js';
import { startPostgres } from '../test/fixtures/servers.js';
import { percentile, report, sample } from './lib.js';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../core/config/load.js';
import { CedarAuthorizer } from '../runtime/authz/authorizer.js';
import { uid } from '../policies/cedar/compile.js';
import { buildAdminApi } from '../runtime/admin/server.js';
import { Identity } from '../runtime/identity/identity.js';
import { IdentityStore } from '../runtime/identity/store.js';

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

  // Authorization + append, as the admin API's guard does it.
  const dir = mkdtempSync(join(tmpdir(), 'claw-admin-bench-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'people.cedar'), '@id("acme:deny-needs-reason")\nforbid (principal, action == Action::"decideApproval", resource)\nwhen { !context.approve && context.reason == "" };\n');
  writeFileSync(
    join(dir, 'claw.yaml'),
    'tenants:\n  - id: acme\n    name: Acme\n    policies: policies\n    roles:\n      - { name: admin, groups: [admins], can: [all] }\n      - { name: approver, groups: [approvers], can: [read, decideApproval] }\n      - { name: auditor, groups: [auditors], can: [readAudit] }\nagents:\n  - { id: helper, tenant: acme, model: { provider: scripted, script: [{ reply: hi }] }, tools: [echo] }\n',
  );
  const config = loadConfig(join(dir, 'claw.yaml'));
  const authorizer = CedarAuthorizer.fromConfig(config, join(dir, 'claw.yaml'));
  const principal = { kind: 'user' as const, id: 'ana@acme.example', roles: ['approver'] };
  let k = 0;
  const guarded = await sample(async () => {
    const decision = authorizer.authorizeAdmin({ tenantId: 'acme', principal, action: 'decideApproval', resource: uid.tool('acme', 'echo'), context: { runId: `r${++k}`, approve: true } });
    await log.append('acme', { actor: { kind: 'user', id: principal.id }, action: 'approval.grant', resource: `run/r${k}/call/c1`, decision: decision.decision, determiningPolicies: decision.determining.map((d) => d.id), details: { tool: 'echo' } });
  }, ITERATIONS);
  const authorizeOnly = await sample(() => authorizer.authorizeAdmin({ tenantId: 'acme', principal, action: 'decideApproval', resource: uid.tool('acme', 'echo'), context: { runId: 'r', approve: true } }), ITERATIONS * 5);

  // A whole refused, recorded admin request over HTTP.
  const identities = await IdentityStore.open(url);
  const app = await buildAdminApi({
    config: () => config,
    authorizer: () => authorizer,
    identity: new Identity(identities, () => undefined, () => config),
    identities,
    audit: log,
    tenantClient: () => Promise.reject(new Error('no Temporal in this bench')),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const auditorKey = (await identities.createApiKey({ tenantId: 'acme', name: 'bench', roles: ['auditor'], createdBy: 'system:bench', ttlDays: 1 })).token;
  const refused = await sample(async () => {
    const r = await fetch(`${base}/api/v1/tenants/acme/api-keys`, { headers: { authorization: `Bearer ${auditorKey}` } });
    if (r.status !== 403) throw new Error(`expected 403, got ${r.status}`);
    await r.arrayBuffer();
  }, ITERATIONS);
  const me = await sample(async () => {
    const r = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${auditorKey}` } });
    await r.arrayBuffer();
  }, ITERATIONS);
  await app.close();
  await identities.close();

  const verifyStart = performance.now();
  const verified = await log.verify('acme');
  const verifyMs = performance.now() - verifyStart;
  report('audit', [
    { name: 'append p50', value: percentile(append, 50), unit: 'ms', baseline: { name: 'bare insert p50', value: percentile(floor, 50) } },
    { name: 'append p99', value: percentile(append, 99), unit: 'ms', baseline: { name: 'bare insert p99', value: percentile(floor, 99) }, target: '< 5 ms', note: 'audit half of the per-admin-request budget' },
    { name: 'authorize (person) p50', value: percentile(authorizeOnly, 50), unit: 'ms' },
    { name: 'authorize + append p99', value: percentile(guarded, 99), unit: 'ms', baseline: { name: 'bare insert p99', value: percentile(floor, 99) }, target: '< 5 ms', note: "issue 15's target: Cedar for a User in its roles, then the chained, sealed append" },
    { name: 'admin request refused + recorded p99 (HTTP)', value: percentile(refused, 99), unit: 'ms', baseline: { name: 'GET /me p99 (authentication only)', value: percentile(me, 99) }, target: '< 5 ms', note: 'API key check, Cedar, audit append, 403, over loopback HTTP' },
    { name: `verify ${verified.entries} entries`, value: verifyMs, unit: 'ms', note: verified.ok ? 'chain intact' : `BROKEN: ${verified.message}` },
  ]);
  await raw.end();
  await log.close();
} finally {
  await server.stop();
}
