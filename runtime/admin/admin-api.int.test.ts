/**
 * The admin API's contract, on real parts: PostgreSQL (identity store, audit log), the
 * Temporal dev server (approvals), the local keyring and Cedar. Its OpenAPI 3.1 document is
 * checked by openapi-spec-validator and then fuzzed by schemathesis (bounded): generated
 * requests, valid and not, against the running server, which must never answer 5xx nor
 * answer outside its documented responses. Both tools come from PyPI (scripts/setup.sh);
 * without them the property test says so and skips.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../core/config/load.js';
import { AuditLog } from '../audit/log.js';
import { AppliedAuthorizer } from './applied.js';
import { tenantPayloadCodec } from '../crypto/codec.js';
import { localTenantKeyring } from '../crypto/index.js';
import { Identity } from '../identity/identity.js';
import { IdentityStore } from '../identity/store.js';
import { connectTemporal, tenantClient, type TenantClient } from '../temporal/connection.js';
import { buildAdminApi } from './server.js';
import { openSecretStore } from '../secrets/index.js';
import { localRunReader, type RunFilter } from '../traces/runs.js';
import { MetadataStore } from '../store/metadata.js';

const work = mkdtempSync(join(tmpdir(), 'claw-admin-api-'));
const tenant = `api-${Date.now().toString(36)}`;
const keyring = localTenantKeyring(join(work, 'state'));
let app: FastifyInstance;
let base = '';
let adminKey = '';
let auditorKey = '';
let identities: IdentityStore;
let audit: AuditLog;
let closeTemporal: () => Promise<void>;
let secrets: Awaited<ReturnType<typeof openSecretStore>>;
let metadata: MetadataStore;
/** The filters the admin API passed to its run reader, in order. */
const runFilters: RunFilter[] = [];

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

beforeAll(async () => {
  const configFile = join(work, 'claw.yaml');
  writeFileSync(
    configFile,
    `tenants:
  - id: ${tenant}
    name: Fuzzed
    roles:
      - { name: admin, groups: [admins], can: [all] }
      - { name: auditor, groups: [auditors], can: [readAudit] }
agents:
  - { id: helper, tenant: ${tenant}, model: { provider: scripted, script: [{ reply: hi }] }, tools: [echo] }
`,
  );
  const config = loadConfig(configFile);
  await keyring.createTenantKey(tenant);
  identities = await IdentityStore.open(inject('postgresUrl'));
  audit = await AuditLog.open(inject('postgresUrl'), keyring);
  const connection = await connectTemporal(inject('temporalAddress'));
  closeTemporal = () => connection.close();
  const clients = new Map<string, TenantClient>();
  metadata = await MetadataStore.connect(inject('postgresUrl'), { keyring, max: 2 });
  await metadata.upsertTenant({ id: tenant, name: 'Fuzzed' });
  const applied = await AppliedAuthorizer.open(metadata, config, configFile);
  app = await buildAdminApi({
    config: () => config,
    configFile: () => configFile,
    ...applied.adminOptions(),
    identity: new Identity(identities, () => undefined, () => config),
    identities,
    audit,
    secrets: (secrets = await openSecretStore({ databaseUrl: inject('postgresUrl'), keyring })),
    keyring,
    traces: (() => {
      const reader = localRunReader(join(work, 'state'), keyring);
      return { list: (tenantId: string, filter: RunFilter) => (runFilters.push(filter), reader.list(tenantId, filter)), show: reader.show };
    })(),
    tenantClient: async (id) => {
      let client = clients.get(id);
      if (!client) clients.set(id, (client = tenantClient(connection, id, { payloadCodecs: [tenantPayloadCodec(await keyring.forTenant(id))] })));
      return client;
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  adminKey = (await identities.createApiKey({ tenantId: tenant, name: 'fuzz', roles: ['admin'], createdBy: 'system:test', ttlDays: 1 })).token;
  auditorKey = (await identities.createApiKey({ tenantId: tenant, name: 'audit', roles: ['auditor'], createdBy: 'system:test', ttlDays: 1 })).token;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await Promise.allSettled([identities?.close(), audit?.close(), secrets?.close(), metadata?.close(), closeTemporal?.()]);
  rmSync(work, { recursive: true, force: true });
});

const get = (path: string, key = adminKey) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe('the admin API contract', () => {
  it('publishes an OpenAPI 3.1 document built from its routes, with an operation per route', async () => {
    const doc = (await fetch(`${base}/api/v1/openapi.json`).then((r) => r.json())) as any;
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.values(doc.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(ops).toEqual(expect.arrayContaining(['me', 'listApprovals', 'decideApproval', 'listAudit', 'verifyAudit', 'listApiKeys', 'createApiKey', 'revokeApiKey', 'listSecrets', 'scimCreateUser', 'scimPatchUser', 'scimPatchGroup']));
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('the document validates (openapi-spec-validator)', async (ctx) => {
    if (!has('openapi-spec-validator')) return ctx.skip('openapi-spec-validator is not installed (pip install openapi-spec-validator; scripts/setup.sh does)');
    const file = join(work, 'openapi.json');
    writeFileSync(file, await fetch(`${base}/api/v1/openapi.json`).then((r) => r.text()));
    const result = spawnSync('openapi-spec-validator', [file], { encoding: 'utf8' });
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('answers with the codes it documents: 401 unauthenticated, 403 with the deciding policy, 404 unknown run, 400 bad input', async () => {
    expect(await fetch(`${base}/api/v1/me`).then((r) => r.status)).toBe(401);
    expect(await get('/api/v1/me', 'clawk_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toMatchObject({ status: 401, body: { code: 'AUTH_KEY_INVALID' } });
    expect(await get(`/api/v1/tenants/${tenant}/api-keys`, auditorKey)).toMatchObject({ status: 403, body: { code: 'ADMIN_FORBIDDEN', details: { determiningPolicies: [{ id: 'cedar:default-deny' }] } } });
    const decide = await fetch(`${base}/api/v1/tenants/${tenant}/runs/nope/calls/c1/decision`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: '{"approve":true}' });
    expect(decide.status).toBe(404);
    expect(((await decide.json()) as { code: string }).code).toBe('UNKNOWN_RUN');
    const bad = await fetch(`${base}/api/v1/tenants/${tenant}/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: '{"name":"x","roles":[],"ttlDays":9999}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('REQUEST_INVALID');
    expect((await get(`/api/v1/tenants/${tenant}/approvals`)).body).toEqual({ tenant, pending: [] });
    // The refusal is on record, with the policy.
    const entries = (await get(`/api/v1/tenants/${tenant}/audit`)).body.entries as { action: string; decision: string; actor: { kind: string } }[];
    expect(entries.find((e) => e.action === 'apikey.list')).toMatchObject({ decision: 'deny', actor: { kind: 'apiKey' } });
  });

  it("hands the runs filter to the run reader under its own names (agent is agentId), and answers 404 for a run the lake does not have", async () => {
    runFilters.length = 0;
    expect(await get(`/api/v1/tenants/${tenant}/runs?agent=helper&status=completed&limit=5`)).toEqual({ status: 200, body: { tenant, runs: [] } });
    expect(await get(`/api/v1/tenants/${tenant}/runs`)).toMatchObject({ status: 200 });
    expect(runFilters).toEqual([{ agentId: 'helper', status: 'completed', limit: 5 }, { limit: 50 }]);
    expect(await get(`/api/v1/tenants/${tenant}/runs/r-0123456789abcdef`)).toMatchObject({ status: 404, body: { code: 'RUN_NOT_FOUND' } });
  });

  it('applies agents and tenant policies: authorized, validated first, recorded, kept revision by revision, diffable', async () => {
    const send = (method: string, path: string, body?: unknown, key = adminKey) =>
      fetch(`${base}/api/v1/tenants/${tenant}${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

    // An agent, applied through the API.
    const spec = { id: 'scout', tenant, model: { provider: 'scripted', script: [{ reply: 'hi' }] }, tools: ['echo'] };
    expect(await send('PUT', '/agents/scout', spec, auditorKey)).toMatchObject({ status: 403, body: { code: 'ADMIN_FORBIDDEN', details: { action: 'applyAgent' } } });
    expect(await send('PUT', '/agents/scout', { ...spec, tools: ['no.such.tool'] })).toMatchObject({ status: 400, body: { code: 'UNKNOWN_TOOL' } });
    expect(await send('PUT', '/agents/scout', { ...spec, budget: { maxSteps: 'many' } })).toMatchObject({ status: 400, body: { code: 'CONFIG_INVALID' } });
    expect(await send('PUT', '/agents/scout', { ...spec, id: 'other' })).toMatchObject({ status: 400, body: { code: 'REQUEST_INVALID' } });
    expect(await send('PUT', '/agents/scout', spec)).toMatchObject({ status: 200, body: { id: 'scout', revision: 1, changed: true } });
    expect(await send('PUT', '/agents/scout', spec)).toMatchObject({ status: 200, body: { revision: 1, changed: false } });
    expect(await send('PUT', '/agents/scout', { ...spec, tools: [] })).toMatchObject({ status: 200, body: { revision: 2, changed: true } });
    const agentHistory = await send('GET', '/agents/scout/revisions');
    expect(agentHistory.body.revisions.map((r: any) => [r.revision, r.tools.length, r.appliedBy])).toEqual([
      [2, 0, expect.stringMatching(/^apiKey:/)],
      [1, 1, expect.stringMatching(/^apiKey:/)],
    ]);
    expect((await send('GET', '/agents')).body.agents.find((a: any) => a.id === 'scout')).toMatchObject({ revision: 2, tools: [] });

    // A tenant policy: refused without editPolicy; a syntax error names its file and line; nothing half-applied.
    const noEcho = '@id("fz:no-echo")\n@reason("no echo here")\nforbid (principal, action == Action::"invokeTool:echo", resource);\n';
    expect(await send('PUT', '/policies/no-echo', { text: noEcho }, auditorKey)).toMatchObject({ status: 403, body: { code: 'ADMIN_FORBIDDEN', details: { action: 'editPolicy' } } });
    const broken = await send('PUT', '/policies/no-echo', { text: 'forbid (principal, action, resource) when { nonsense' });
    expect(broken).toMatchObject({ status: 400, body: { code: 'CEDAR_POLICY_SYNTAX', message: expect.stringContaining('applied/no-echo.cedar:1') } });
    expect(await send('GET', '/policies/no-echo/revisions')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });

    const explainEcho = () => send('POST', '/policies/explain', { agent: 'helper', tool: 'echo', args: { text: 'x' } }).then((r) => r.body);
    expect(await explainEcho()).toMatchObject({ decision: 'allow' });
    const put = await send('PUT', '/policies/no-echo', { text: noEcho });
    expect(put).toMatchObject({ status: 200, body: { file: 'applied/no-echo.cedar', revision: 1, changed: true } });
    expect(put.body.changes).toEqual([expect.objectContaining({ agent: 'helper', subject: 'echo', change: 'loses' })]);
    // In force at the next decision, named where it is listed.
    expect(await explainEcho()).toMatchObject({ decision: 'deny', determining: [{ id: 'fz:no-echo' }] });
    expect((await send('GET', '/policies')).body.policies).toContainEqual(expect.objectContaining({ id: 'fz:no-echo', file: 'applied/no-echo.cedar' }));
    expect((await send('PUT', '/policies/no-echo', { text: noEcho })).body).toMatchObject({ revision: 1, changed: false });

    const removed = await send('DELETE', '/policies/no-echo');
    expect(removed).toMatchObject({ status: 200, body: { revision: 2, changed: true } });
    expect(removed.body.changes).toEqual([expect.objectContaining({ agent: 'helper', subject: 'echo', change: 'gains' })]);
    expect(await explainEcho()).toMatchObject({ decision: 'allow' });
    expect(await send('DELETE', '/policies/no-echo')).toMatchObject({ status: 404 });

    // History and the diff between revisions.
    const history = (await send('GET', '/policies/no-echo/revisions')).body.revisions;
    expect(history.map((r: any) => [r.revision, r.removed, r.text])).toEqual([[2, true, undefined], [1, false, noEcho]]);
    expect((await send('GET', '/policies/no-echo/diff?from=0&to=1')).body.changes).toEqual([expect.objectContaining({ agent: 'helper', change: 'loses' })]);
    expect((await send('GET', '/policies/no-echo/diff?from=1&to=2')).body.changes).toEqual([expect.objectContaining({ agent: 'helper', change: 'gains' })]);
    expect(await send('GET', '/policies/no-echo/diff?from=1&to=7')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });

    // Every change and every refusal is on record.
    const log = ((await send('GET', '/audit?limit=1000')).body.entries as { action: string; decision: string; resource: string }[]).map((e) => `${e.action} ${e.resource} ${e.decision}`);
    expect(log).toEqual(expect.arrayContaining(['agent.apply agent/scout deny', 'agent.apply agent/scout allow', 'policy.apply policy/no-echo deny', 'policy.apply policy/no-echo allow', 'policy.remove policy/no-echo allow']));
    // Recorded once it is valid: the refused bodies left no "allow".
    expect(log.filter((l) => l === 'agent.apply agent/scout allow')).toHaveLength(3);
    expect(log.filter((l) => l === 'policy.apply policy/no-echo allow')).toHaveLength(2);
  });

  it('finds no 5xx and no undocumented answer under schemathesis (bounded)', async (ctx) => {
    if (!has('st')) return ctx.skip('schemathesis is not installed (pip install schemathesis; scripts/setup.sh does)');
    // Asynchronously: the server under test answers from this process's event loop.
    const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
      'st',
      ['run', `${base}/api/v1/openapi.json`, '-H', `Authorization: Bearer ${adminKey}`, '--checks', 'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance', '--max-examples', '15', '--seed', '1', '--workers', '1', '--phases', 'examples,fuzzing'],
      // cwd: its cache (.schemathesis/) goes to the test's temp dir, not the repository.
      { cwd: work, env: { ...process.env, NO_COLOR: '1' }, timeout: 240_000 },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`.slice(-4000)).toBe(0);
  }, 300_000);
});
