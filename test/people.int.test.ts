/**
 * People, end to end on the local target, as separate processes: a real OpenID Provider
 * on loopback (oidc-provider, test/fixtures/oidc-op.ts), `claw up` (its gateway serves the
 * admin API), `claw` commands, and HTTP calls a console or a script would make.
 *
 * - sign in (authorization code + PKCE, the console's flow; device code, `claw login`),
 *   get roles from the token's group claim;
 * - approve a parked tool call through the API: the run finishes, the audit log names
 *   the user and the policy that allowed it;
 * - be refused what the role does not allow, with the policy that refused it (recorded);
 * - service API keys: at most the creator's roles, revocable at once;
 * - SCIM: the IdP deprovisions a person, whose unexpired token and API keys stop working
 *   on the next request; `claw audit verify` still finds the chain whole.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../runtime/workflows/testing/harness.js';
import { REPO, runClaw, type ClawResult } from './fixtures/claw-cli.js';
import { CLIENT_ID, REDIRECT_URI, signIn, startOp, type TestOp } from './fixtures/oidc-op.js';
import { freePorts } from './fixtures/ports.js';
import { LOCAL_PORT_NAMES, writePeopleInstall } from './fixtures/people-install.js';

const work = mkdtempSync(join(tmpdir(), 'claw-people-'));
const stateDir = join(work, 'state');
let op: TestOp;
let api = '';
let firstRunId = '';
let ports: number[] = [];

const claw = (args: string[], env: Record<string, string> = {}): Promise<ClawResult> => runClaw(args, { stateDir, cwd: work, env });
async function ok(args: string[], env?: Record<string, string>): Promise<ClawResult> {
  const r = await claw(args, env);
  expect(r.code, `claw ${args.join(" ")}\n${r.stderr}${r.stdout}`).toBe(0);
  return r;
}

/** The console's sign-in: authorization code with PKCE, through the provider's own pages. */
async function consoleSignIn(login: string): Promise<string> {
  const config = await oidc.discovery(new URL(op.issuer), CLIENT_ID, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email groups',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const callback = await signIn(url.href, login);
  const tokens = await oidc.authorizationCodeGrant(config, callback!, { pkceCodeVerifier: verifier, expectedState: state });
  return tokens.id_token!;
}

async function request(token: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  op = await startOp({
    'ana@acme.com': ['acme-approvers'],
    'bo@acme.com': ['acme-admins'],
    'cy@acme.com': ['acme-auditors'],
    'gil@globex.com': ['globex-admins'],
  });
  const free = await freePorts(LOCAL_PORT_NAMES.length);
  ports = free;
  api = `http://127.0.0.1:${free[2]}`;
  writePeopleInstall(work, op.issuer, free);
  await ok(['up']);
}, 180_000);

afterAll(async () => {
  await claw(['down']);
  await op?.close();
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('people: sign-in, roles in Cedar, the admin API and the audit log', () => {
  let ana = '';
  let cy = '';
  let bo = '';

  it('signs in with the real provider; roles come from the group claim, per tenant', async () => {
    [ana, cy, bo] = (await Promise.all(['ana@acme.com', 'cy@acme.com', 'bo@acme.com'].map(consoleSignIn))) as [string, string, string];
    expect((await request(ana, 'GET', '/api/v1/me')).body).toEqual({ kind: 'user', id: 'ana@acme.com', tenants: [{ tenant: 'acme', roles: ['approver'] }] });
    expect((await request(bo, 'GET', '/api/v1/me')).body.tenants).toEqual([{ tenant: 'acme', roles: ['admin'] }]);

    // No token, a forged one, one for another client: 401 with a stable code, nothing else said.
    expect((await request(undefined, 'GET', '/api/v1/me')).body.code).toBe('AUTH_REQUIRED');
    const [h, p] = ana.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), groups: ['acme-admins'] })).toString('base64url')}.${ana.split('.')[2]}`;
    const refused = await request(forged, 'GET', '/api/v1/me');
    expect(refused).toMatchObject({ status: 401, body: { code: 'AUTH_TOKEN_INVALID' } });
  }, 60_000);

  it('approves a parked tool call through the API; the run finishes and the audit log names the user and the policy', async () => {
    const send = spawn(process.execPath, [join(REPO, 'bin', 'claw.js'), '--state-dir', stateDir, '--json', 'send', '--tenant', 'acme', '--agent', 'helper', 'launch please'], { cwd: work, env: { ...process.env, CLAW_STATE_DIR: '' } });
    let sent = '';
    send.stdout.on('data', (d) => (sent += d));
    const finished = new Promise<number | null>((resolve) => send.on('close', resolve));

    const call = await eventually(async () => (await request(ana, 'GET', '/api/v1/tenants/acme/approvals')).body.pending?.[0], 'the parked echo in the approvals list', 60_000, 500);
    expect(call).toMatchObject({ agentId: 'helper', tool: 'echo', args: { text: 'launched' } });
    const decision = `/api/v1/tenants/acme/runs/${call.runId}/calls/${call.callId}/decision`;

    // The auditor's role does not allow deciding: refused, with the policy that decided.
    const byAuditor = await request(cy, 'POST', decision, { approve: true });
    expect(byAuditor.status).toBe(403);
    expect(byAuditor.body).toMatchObject({ code: 'ADMIN_FORBIDDEN', details: { action: 'decideApproval', determiningPolicies: [{ id: 'cedar:default-deny' }] } });
    // The approver may decide, but the tenant's own policy refuses a rejection without a reason.
    const noReason = await request(ana, 'POST', decision, { approve: false });
    expect(noReason.status).toBe(403);
    expect(noReason.body.details.determiningPolicies).toEqual([{ id: 'acme:deny-needs-reason', reason: 'a rejected call must say why, for the model and the record' }]);
    expect(noReason.body.hint).toContain('acme:deny-needs-reason');

    const approved = await request(ana, 'POST', decision, { approve: true });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ approved: true, tool: 'echo', by: 'user:ana@acme.com' });
    firstRunId = call.runId;
    expect(await finished).toBe(0);
    expect(JSON.parse(sent.trim().split('\n').at(-1)!)).toMatchObject({ status: 'completed', reply: expect.stringContaining('Launch handled.') });

    // The auditor reads the log: both refusals and the approval, each with who and which policies.
    const log = await request(cy, 'GET', '/api/v1/tenants/acme/audit');
    expect(log.status).toBe(200);
    const entries = log.body.entries.map((e: any) => [e.actor.id, e.action, e.decision, e.determiningPolicies]);
    expect(entries).toEqual([
      ['cy@acme.com', 'approval.grant', 'deny', ['cedar:default-deny']],
      ['ana@acme.com', 'approval.reject', 'deny', ['acme:deny-needs-reason']],
      ['ana@acme.com', 'approval.grant', 'allow', ['role:approver']],
    ]);
    expect(log.body.entries[2]).toMatchObject({ resource: `run/${call.runId}/call/${call.callId}`, details: { tool: 'echo', roles: 'approver' } });
    // The same log from the CLI, and its chain verifies.
    expect((await ok(['audit', 'list', '--tenant', 'acme'])).stdout).toContain('user:ana@acme.com\tapproval.grant');
    expect((await ok(['audit', 'verify', '--tenant', 'acme'])).stdout).toMatch(/3 entries, chain intact/);
  }, 120_000);

  it("refuses another tenant's admin, and an unknown tenant the same way", async () => {
    const gil = await consoleSignIn('gil@globex.com');
    const foreign = await request(gil, 'GET', '/api/v1/tenants/acme/audit');
    expect(foreign).toMatchObject({ status: 403, body: { code: 'ADMIN_FORBIDDEN' } });
    const unknown = await request(gil, 'GET', '/api/v1/tenants/nosuch/audit');
    expect(unknown).toMatchObject({ status: 403, body: { code: 'ADMIN_FORBIDDEN' } });
  }, 60_000);

  it('runs as timelines, content sealed until an entitled user decrypts (audited); secrets and the key through the API', async () => {
    const runs = (await request(ana, 'GET', '/api/v1/tenants/acme/runs')).body.runs as { runId: string; agentId: string; toolCalls: number; status: string }[];
    const run = runs.find((r) => r.toolCalls === 1)!;
    expect(run).toMatchObject({ agentId: 'helper', status: 'completed' });
    const sealed = await request(ana, 'GET', `/api/v1/tenants/acme/runs/${run.runId}`);
    expect(sealed.body).toMatchObject({ runId: run.runId, decrypted: false });
    const call = sealed.body.steps.find((st: any) => st.kind === 'tool.call');
    expect(call).toMatchObject({ tool: 'echo', decision: 'allow', requiresApproval: true, policies: ['grant:helper:echo'], contentBytes: expect.any(Number) });
    expect(call.content).toBeUndefined();
    const approval = sealed.body.steps.find((st: any) => st.approver);
    expect(approval, JSON.stringify(sealed.body.steps.map((st: any) => st.kind))).toMatchObject({ approver: 'user:ana@acme.com' });
    expect(JSON.stringify(sealed.body)).not.toContain('launch please');
    // The approver's role reads traces but does not decrypt them; the admin's does, and it is recorded.
    expect(await request(ana, 'GET', `/api/v1/tenants/acme/runs/${run.runId}?decrypt=true`)).toMatchObject({ status: 403, body: { code: 'ADMIN_FORBIDDEN' } });
    const opened = await request(bo, 'GET', `/api/v1/tenants/acme/runs/${run.runId}?decrypt=true`);
    expect(opened.body.decrypted).toBe(true);
    expect(JSON.stringify(opened.body)).toContain('launch please');

    // The Temporal Web UI's codec endpoint with a person's sign-in: a payload of the run, as
    // Temporal holds it (sealed), decodes for the admin (recorded) and not for the approver.
    const connection = await Connection.connect({ address: `127.0.0.1:${ports[0]}` });
    const history = await connection.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: `acme/run/${run.runId}` } });
    await connection.close();
    const input = history.history!.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const wire = { metadata: Object.fromEntries(Object.entries(input.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(input.data!).toString('base64') };
    expect(Buffer.from(wire.data, 'base64').toString()).not.toContain('launch please');
    expect(await request(ana, 'POST', '/api/v1/codec/decode', { payloads: [wire] })).toMatchObject({ status: 403, body: { code: 'ADMIN_FORBIDDEN' } });
    const decoded = await request(bo, 'POST', '/api/v1/codec/decode', { payloads: [wire] });
    expect(decoded.status, JSON.stringify(decoded.body)).toBe(200);
    expect(Buffer.from(decoded.body.payloads[0].data, 'base64').toString()).toContain('launch please');
    const preflight = await fetch(`${api}/api/v1/codec/decode`, { method: 'OPTIONS', headers: { origin: `http://127.0.0.1:${ports[1]}`, 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(`http://127.0.0.1:${ports[1]}`);

    // Policies in force, and an explanation, for readers; the auditor's role holds neither.
    const policies = (await request(ana, 'GET', '/api/v1/tenants/acme/policies')).body.policies.map((p: { id: string }) => p.id);
    expect(policies).toEqual(expect.arrayContaining(['base:tenant-isolation', 'grant:helper:echo', 'role:approver', 'acme:deny-needs-reason']));
    expect((await request(ana, 'POST', '/api/v1/tenants/acme/policies/explain', { agent: 'helper', tool: 'echo', args: { text: 'x' } })).body).toMatchObject({
      decision: 'allow',
      requiresApproval: true,
      determining: [{ id: 'grant:helper:echo' }],
    });
    expect((await request(cy, 'GET', '/api/v1/tenants/acme/policies')).body.code).toBe('ADMIN_FORBIDDEN');

    // Secrets: set by the admin, names listed for readers, values never returned.
    expect((await request(bo, 'PUT', '/api/v1/tenants/acme/secrets/GITHUB_TOKEN', { value: 'ghp_not_a_real_token' })).body).toEqual({ tenant: 'acme', name: 'GITHUB_TOKEN', changed: true });
    expect((await request(ana, 'PUT', '/api/v1/tenants/acme/secrets/GITHUB_TOKEN', { value: 'x' })).body.code).toBe('ADMIN_FORBIDDEN');
    const names = await request(ana, 'GET', '/api/v1/tenants/acme/secrets');
    expect(names.body.names).toContain('GITHUB_TOKEN');
    expect(names.body.changed).toEqual(expect.arrayContaining([{ name: 'GITHUB_TOKEN', updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]));
    expect(JSON.stringify(names.body)).not.toContain('ghp_');

    // The key: readers see its versions; the admin rotates it.
    expect((await request(ana, 'GET', '/api/v1/tenants/acme/key')).body).toEqual({ tenant: 'acme', state: 'active', versions: [1] });
    expect((await request(ana, 'POST', '/api/v1/tenants/acme/key/rotate')).body.code).toBe('ADMIN_FORBIDDEN');
    expect((await request(bo, 'POST', '/api/v1/tenants/acme/key/rotate')).body).toEqual({ tenant: 'acme', state: 'active', versions: [1, 2] });
    // Shredding takes the tenant id typed again; globex's admin shreds globex, and acme is untouched.
    const gil = await consoleSignIn('gil@globex.com');
    expect((await request(gil, 'POST', '/api/v1/tenants/globex/key/shred', { confirm: 'acme' })).body.code).toBe('REQUEST_INVALID');
    expect((await request(gil, 'POST', '/api/v1/tenants/acme/key/shred', { confirm: 'acme' })).body.code).toBe('ADMIN_FORBIDDEN');
    expect((await request(gil, 'POST', '/api/v1/tenants/globex/key/shred', { confirm: 'globex' })).body).toEqual({ tenant: 'globex', state: 'destroyed' });
    expect((await request(bo, 'GET', '/api/v1/tenants/acme/key')).body.state).toBe('active');

    const actions = (await request(cy, 'GET', '/api/v1/tenants/acme/audit')).body.entries.map((e: any) => `${e.actor.id} ${e.action} ${e.decision}`);
    expect(actions).toEqual(expect.arrayContaining(['ana@acme.com trace.decrypt deny', 'bo@acme.com trace.decrypt allow', 'ana@acme.com payload.decode deny', 'bo@acme.com payload.decode allow', 'bo@acme.com secret.set allow', 'bo@acme.com key.rotate allow']));
  }, 60_000);

  it('claw login (device code) signs the CLI in; claw whoami and claw apikey use the API', async () => {
    const login = spawn(process.execPath, [join(REPO, 'bin', 'claw.js'), '--state-dir', stateDir, 'login'], { cwd: work, env: { ...process.env, CLAW_STATE_DIR: '' } });
    let err = '';
    let out = '';
    login.stderr.on('data', (d) => (err += d));
    login.stdout.on('data', (d) => (out += d));
    const done = new Promise<number | null>((resolve) => login.on('close', resolve));
    const url = await eventually(async () => /open (\S+) and confirm/.exec(err)?.[1], 'claw login shows where to confirm', 30_000, 100);
    await signIn(url, 'bo@acme.com');
    expect(await done, err).toBe(0);
    expect(out).toContain('signed in as bo@acme.com');

    expect((await ok(['whoami'])).stdout).toMatch(/^user bo@acme\.com .*\n {2}acme: admin/);

    // Signed in, the platform commands act through the API as bo.
    expect((await ok(['secrets', 'list', '--tenant', 'acme'])).stdout.trim().split('\n')).toContain('GITHUB_TOKEN');
    const shown = await ok(['runs', 'show', firstRunId, '--tenant', 'acme', '--decrypt']);
    expect(shown.stdout).toContain('launch please');
    const listedAudit = (await ok(['audit', 'list', '--tenant', 'acme'])).stdout;
    expect(listedAudit).toMatch(/user:bo@acme\.com\ttrace\.decrypt\trun\/\S+\tallow\trole:admin/);
    expect((await ok(['audit', 'verify', '--tenant', 'acme'])).stdout).toMatch(/chain intact/);

    // Signed in, claw deny goes through the API: Cedar decides, the audit log names bo.
    const send = spawn(process.execPath, [join(REPO, 'bin', 'claw.js'), '--state-dir', stateDir, '--json', 'send', '--tenant', 'acme', '--agent', 'helper', 'launch again'], { cwd: work, env: { ...process.env, CLAW_STATE_DIR: '' } });
    const sendDone = new Promise<number | null>((resolve) => send.on('close', resolve));
    const parked = await eventually(async () => (await request(bo, 'GET', '/api/v1/tenants/acme/approvals')).body.pending?.[0], 'the second parked echo', 60_000, 500);
    expect((await claw(['deny', parked.runId, parked.callId, '--tenant', 'acme'])).stderr).toMatch(/^error ADMIN_FORBIDDEN: .*acme:deny-needs-reason/);
    expect((await ok(['deny', parked.runId, parked.callId, '--tenant', 'acme', '--reason', 'not today'])).stdout).toContain('as user:bo@acme.com');
    expect(await sendDone).toBe(0);
    const last = (await request(cy, 'GET', '/api/v1/tenants/acme/audit?after=3')).body.entries.map((e: any) => [e.actor.id, e.action, e.decision, e.determiningPolicies]);
    expect(last).toEqual(expect.arrayContaining([['bo@acme.com', 'approval.reject', 'allow', ['role:admin']]]));

    // A key holds at most its creator's roles; the admin creates an auditor key.
    const created = JSON.parse((await ok(['--json', 'apikey', 'create', '--tenant', 'acme', '--name', 'siem-export', '--role', 'auditor', '--ttl-days', '30'])).stdout);
    expect(created.token).toMatch(/^clawk_[0-9a-f]{16}_/);
    const key = created.token as string;
    expect((await request(key, 'GET', '/api/v1/me')).body).toEqual({ kind: 'apiKey', id: created.key.id, tenants: [{ tenant: 'acme', roles: ['auditor'] }] });
    expect((await request(key, 'GET', '/api/v1/tenants/acme/audit')).status).toBe(200);
    expect((await request(key, 'GET', '/api/v1/tenants/acme/api-keys')).body.code).toBe('ADMIN_FORBIDDEN');
    // The approver holds manageApiKeys? No: and it could not give a key more than its own roles anyway.
    expect((await request(ana, 'POST', '/api/v1/tenants/acme/api-keys', { name: 'x', roles: ['admin'] })).body.code).toBe('ADMIN_FORBIDDEN');
    expect((await request(bo, 'POST', '/api/v1/tenants/acme/api-keys', { name: 'x', roles: ['nosuch'] })).body.code).toBe('API_KEY_ROLE_UNKNOWN');

    const listed = (await ok(['apikey', 'list', '--tenant', 'acme'])).stdout;
    expect(listed).toContain(`${created.key.id}\tsiem-export\tauditor\tby user:bo@acme.com`);
    expect(listed).not.toContain(key.split('_')[2]);
    await ok(['apikey', 'revoke', created.key.id, '--tenant', 'acme']);
    expect((await request(key, 'GET', '/api/v1/tenants/acme/audit')).body.code).toBe('AUTH_KEY_REVOKED');
    // Keys from the CLI too: CLAW_API_KEY is what automation sets.
    const bad = await claw(['whoami'], { CLAW_API_KEY: key });
    expect(bad.stderr).toMatch(/^error AUTH_KEY_REVOKED: /);
  }, 120_000);

  it('signed in, claw policy apply and claw agent apply act through the API; the worker enforces an applied policy at its next call', async () => {
    const file = join(work, 'no-echo.cedar');
    writeFileSync(file, '@id("acme:no-echo")\n@reason("no echo this week")\nforbid (principal == Agent::"acme/helper", action == Action::"invokeTool:echo", resource);\n');
    // The approver's role does not edit policies: refused, and nothing changes.
    expect((await request(ana, 'PUT', '/api/v1/tenants/acme/policies/no-echo', { text: readFileSync(file, 'utf8') })).body).toMatchObject({ code: 'ADMIN_FORBIDDEN', details: { action: 'editPolicy' } });
    const applied = await ok(['policy', 'apply', file, '--tenant', 'acme']);
    expect(applied.stdout).toMatch(/^applied\/no-echo\.cedar applied as revision 1\nacme\/helper loses echo: approval → deny/);

    // The worker, another process, decides the next call with it: denied by the applied policy.
    const sent = JSON.parse((await ok(['--json', 'send', '--tenant', 'acme', '--agent', 'helper', 'launch once more'])).stdout.trim().split('\n').at(-1)!);
    expect(sent).toMatchObject({ status: 'completed' });
    const timeline = await eventually(async () => {
      const shown = await request(bo, 'GET', `/api/v1/tenants/acme/runs/${sent.runId}`);
      return shown.status === 200 && shown.body.steps.some((st: any) => st.kind === 'tool.call') ? shown.body : undefined;
    }, 'the run in the lake', 30_000, 500);
    expect(timeline.steps.find((st: any) => st.kind === 'tool.call')).toMatchObject({ tool: 'echo', decision: 'deny', policies: ['acme:no-echo'] });

    expect((await ok(['policy', 'history', 'no-echo', '--tenant', 'acme'])).stdout).toMatch(/^1\t\S+\tuser:bo@acme\.com\n$/);
    expect((await ok(['policy', 'rm', 'no-echo', '--tenant', 'acme'])).stdout).toMatch(/removed as revision 2\nacme\/helper gains echo/);
    expect((await ok(['policy', 'history', 'no-echo', '--tenant', 'acme', '--diff', '0..1'])).stdout).toMatch(/^acme\/helper loses echo/);

    // An agent file applied signed in: the revision names bo, and the audit log has it.
    const agentFile = join(work, 'scout.yaml');
    writeFileSync(agentFile, 'kind: Agent\nid: scout\ntenant: acme\nmodel: { provider: scripted, script: [{ reply: hi }] }\ntools: [echo]\n');
    expect((await ok(['agent', 'apply', '-f', agentFile])).stdout).toBe('agent acme/scout applied as revision 1\n');
    expect((await request(ana, 'GET', '/api/v1/tenants/acme/agents/scout/revisions')).body.revisions).toEqual([expect.objectContaining({ revision: 1, appliedBy: 'user:bo@acme.com', tools: [{ name: 'echo', approval: 'none' }] })]);
    const actions = (await request(cy, 'GET', '/api/v1/tenants/acme/audit?limit=1000')).body.entries.map((e: any) => `${e.actor.id} ${e.action} ${e.resource} ${e.decision}`);
    expect(actions).toEqual(expect.arrayContaining(['ana@acme.com policy.apply policy/no-echo deny', 'bo@acme.com policy.apply policy/no-echo allow', 'bo@acme.com policy.remove policy/no-echo allow', 'bo@acme.com agent.apply agent/scout allow']));

    // Runs and the tenant key from the CLI, signed in: through the API too, as bo.
    expect((await ok(['runs', 'list', '--tenant', 'acme'])).stdout).toContain(sent.runId);
    expect((await ok(['tenant', 'rotate-key', 'acme'])).stdout).toMatch(/^rotated the key of tenant acme \(now version 3\)/);
    expect((await claw(['tenant', 'rotate-key', 'acme', '--reencrypt'])).stderr).toMatch(/^error USAGE: --reencrypt/);
    const rotations = (await request(cy, 'GET', '/api/v1/tenants/acme/audit?limit=1000')).body.entries.filter((e: any) => e.action === 'key.rotate' && e.decision === 'allow');
    expect(rotations.map((e: any) => e.actor.id)).toEqual(['bo@acme.com', 'bo@acme.com']);
  }, 120_000);

  it('SCIM deprovisioning stops a signed-in person and the keys they made, at once', async () => {
    // The IdP's provisioning client: a key with the admin role (manageUsers).
    const scimKey = JSON.parse((await ok(['--json', 'apikey', 'create', '--tenant', 'acme', '--name', 'idp-scim', '--role', 'admin'])).stdout).token as string;
    const scim = (method: string, path: string, body?: unknown) =>
      fetch(`${api}/scim/v2/acme${path}`, { method, headers: { authorization: `Bearer ${scimKey}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) }).then(async (r) => ({ status: r.status, body: (r.status === 204 ? undefined : await r.json()) as any }));

    const created = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ana@acme.com', active: true });
    expect(created.status).toBe(201);
    expect((await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ana@acme.com' })).body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    expect((await scim('GET', '/Users?filter=userName%20eq%20%22ana@acme.com%22')).body).toMatchObject({ totalResults: 1, Resources: [{ id: created.body.id, active: true }] });

    // A directory group feeds roles like the token's claim: ana's SCIM group makes her an auditor too.
    const group = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'acme-auditors', members: [{ value: created.body.id }] });
    expect(group.status).toBe(201);
    expect((await request(ana, 'GET', '/api/v1/me')).body.tenants).toEqual([{ tenant: 'acme', roles: ['approver', 'auditor'] }]);

    expect((await request(ana, 'GET', '/api/v1/tenants/acme/audit')).status).toBe(200);

    // The IdP deprovisions her: her unexpired token stops working on the next request.
    const patched = await scim('PATCH', `/Users/${created.body.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] });
    expect(patched).toMatchObject({ status: 200, body: { active: false } });
    expect((await request(ana, 'GET', '/api/v1/tenants/acme/audit')).body.code).toBe('AUTH_USER_DEPROVISIONED');

    // A deleted person is gone from SCIM's view (and stays refused: a tombstone is kept).
    const temp = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'temp@acme.com' });
    expect((await scim('DELETE', `/Users/${temp.body.id}`)).status).toBe(204);
    expect((await scim('GET', `/Users/${temp.body.id}`)).status).toBe(404);

    // Every provisioning change is in the log, and the chain is whole.
    const cyLog = await request(cy, 'GET', '/api/v1/tenants/acme/audit?limit=1000');
    const actions = cyLog.body.entries.map((e: any) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['scim.user.create', 'scim.group.create', 'scim.user.deactivate', 'scim.user.delete', 'apikey.create', 'apikey.revoke']));
    expect((await request(cy, 'GET', '/api/v1/tenants/acme/audit/verify')).body).toMatchObject({ ok: true });

    // Bo made keys (the SCIM client's among them), then is deprovisioned: every key he made dies with him.
    const boKey = JSON.parse((await ok(['--json', 'apikey', 'create', '--tenant', 'acme', '--name', 'bo-ci', '--role', 'auditor'])).stdout).token as string;
    expect((await request(boKey, 'GET', '/api/v1/tenants/acme/audit')).status).toBe(200);
    const boUser = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'bo@acme.com' });
    expect((await scim('DELETE', `/Users/${boUser.body.id}`)).status).toBe(204);
    expect((await request(boKey, 'GET', '/api/v1/tenants/acme/audit')).body.code).toBe('AUTH_USER_DEPROVISIONED');
    expect((await scim('GET', '/Users')).status).toBe(401);
    expect((await request(bo, 'GET', '/api/v1/me')).body.tenants).toEqual([]);
    // Signed out, this machine's operator checks the chain directly (no API, no person).
    await ok(['logout']);
    expect((await ok(['audit', 'verify', '--tenant', 'acme'])).stdout).toMatch(/chain intact/);
    // The README's export for a SIEM, as OTLP logs: the file verifies on its own, with no store or key.
    const exported = join(work, 'audit.json');
    await ok(['audit', 'export', '--tenant', 'acme', '--format', 'otlp', '--out', exported]);
    expect(JSON.parse(readFileSync(exported, 'utf8')).resourceLogs[0].scopeLogs[0].logRecords.length).toBeGreaterThan(10);
    expect((await ok(['audit', 'verify', '--tenant', 'acme', '--in', exported])).stdout).toMatch(/chain intact/);
  }, 120_000);
});
