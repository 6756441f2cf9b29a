/**
 * The README journey as a newcomer runs it: separate `claw` processes against one `claw up`,
 * with NO env vars beyond PATH and a fresh HOME (no DATABASE_URL, TEMPORAL_ADDRESS or
 * CLAW_*): every command finds the platform from --state-dir. Real components throughout:
 * the Temporal dev server, the store process, worker, gateway; the only stand-in is Slack's
 * Web API (a loopback server that records chat.postMessage), since Slack itself is not here.
 *
 * init -> up -> secrets set -> agent with a slack channel -> a Slack-signed delivery to the
 * gateway -> the run parks a tool call -> runs pending / approve -> reply posted to Slack ->
 * runs show -> down -> up -> the run history is still there. Then the store's bad clients,
 * each followed by a successful `claw send`.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelLoopback, type ChannelLoopback } from '../runtime/channels/loopback.test-helper.js';
import { signSlack } from '../runtime/gateway/signatures.js';
import { socketFile } from '../runtime/store/wire-server.js';
import { eventually } from '../runtime/workflows/testing/harness.js';
import { REPO, type ClawResult } from './fixtures/claw-cli.js';
import { freePorts } from './fixtures/ports.js';

const work = mkdtempSync(join(tmpdir(), 'claw-readme-'));
const home = join(work, 'home');
const stateDir = join(work, 'state');
const SIGNING_SECRET = 'slack-signing-secret-for-the-journey';
const BOT_TOKEN = 'xoxb-journey-token';
let slack: ChannelLoopback;
let storePort: number;

/** `claw <args>` in `cwd` with only PATH and HOME set: what a user's shell gives it. */
function claw(args: string[], options: { stdin?: string; cwd?: string } = {}): Promise<ClawResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(REPO, 'bin', 'claw.js'), '--state-dir', stateDir, ...args], {
      cwd: options.cwd ?? work,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

async function ok(args: string[], options?: { stdin?: string; cwd?: string }): Promise<ClawResult> {
  const result = await claw(args, options);
  expect(result.code, `claw ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result;
}

const json = (r: ClawResult) => JSON.parse(r.stdout.trim().split('\n').at(-1)!);

beforeAll(async () => {
  mkdirSync(home);
  slack = await channelLoopback({ slack: BOT_TOKEN });
  const names = ['temporalPort', 'temporalUiPort', 'gatewayPort', 'codecServerPort', 'storePort', 'workerPort'];
  const free = await freePorts(names.length);
  storePort = free[4]!;
  await ok(['init']);
  appendFileSync(join(work, 'claw.yaml'), `local:\n${names.map((n, i) => `  ${n}: ${free[i]}`).join('\n')}\n`);
}, 60_000);

afterAll(async () => {
  await claw(['down']);
  await slack?.close();
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('the README journey, as separate claw processes with no env vars', () => {
  let runId: string;

  it('up, secrets, a Slack channel, a signed delivery, an approval, the reply, runs show', async () => {
    await ok(['up']);
    await ok(['secrets', 'set', 'SLACK_SIGNING_SECRET', '--tenant', 'acme'], { stdin: SIGNING_SECRET });
    await ok(['secrets', 'set', 'SLACK_BOT_TOKEN', '--tenant', 'acme'], { stdin: BOT_TOKEN });
    expect((await ok(['secrets', 'list', '--tenant', 'acme'])).stdout).not.toContain(SIGNING_SECRET);

    // The agent gets a Slack channel (replies to the loopback Web API) and an echo that needs a human.
    const agentFile = join(work, 'agents', 'helper.yaml');
    writeFileSync(
      agentFile,
      readFileSync(agentFile, 'utf8')
        .replace('  script:\n', '  script:\n    - when: "(?i)launch"\n      toolCalls: [{ tool: echo, args: { text: launched } }]\n    - when: "(?i)launch"\n      reply: "Launch handled."\n')
        .replace('  - echo\n', '  - { name: echo, approval: required }\n')
        .concat(`channels:\n  - type: slack\n    apiBaseUrl: ${slack.url}\n`),
    );
    await ok(['agent', 'apply', '-f', agentFile]);

    const endpoints = json(await ok(['--json', 'channels', 'url', '--tenant', 'acme']));
    const endpoint = endpoints.endpoints.find((e: { type: string }) => e.type === 'slack');
    expect(endpoint.secrets).toEqual([
      { name: 'SLACK_SIGNING_SECRET', purpose: 'verifies deliveries', set: true },
      { name: 'SLACK_BOT_TOKEN', purpose: 'sends replies', set: true },
    ]);

    const body = JSON.stringify({ type: 'event_callback', event_id: 'Ev-journey-1', event: { type: 'message', channel: 'D123', user: 'U1', text: 'launch please', ts: '1733390000.000100' } });
    // The gateway reloads the edited agent file within its 1 s poll; until then the route is unknown.
    const delivered = await eventually(async () => {
      const response = await fetch(endpoint.url, { method: 'POST', headers: { 'content-type': 'application/json', ...signSlack(SIGNING_SECRET, body, Math.floor(Date.now() / 1000)) }, body });
      return response.status === 404 ? undefined : response;
    }, 'the gateway routes the new slack channel', 15_000, 250);
    expect(delivered.status, await delivered.clone().text()).toBe(200);

    const call = await eventually(async () => {
      const pending = json(await ok(['--json', 'runs', 'pending', '--tenant', 'acme'])).pending as { runId: string; callId: string; tool: string }[];
      return pending[0];
    }, 'the parked echo call in claw runs pending', 90_000, 500);
    expect(call.tool).toBe('echo');
    runId = call.runId;
    expect(json(await ok(['--json', 'approve', call.runId, call.callId]))).toMatchObject({ approved: true, runId });

    const [reply] = await slack.waitFor(1, 60_000);
    expect(reply!.body).toMatchObject({ channel: 'D123', text: expect.stringContaining('Launch handled.') });

    const shown = await eventually(async () => {
      const r = await claw(['--json', 'runs', 'show', runId, '--tenant', 'acme']);
      return r.code === 0 && json(r).run?.status === 'completed' ? json(r).run : undefined;
    }, 'runs show: the run completed', 60_000, 500);
    expect(shown).toMatchObject({ runId, agentId: 'helper', totals: { toolCalls: 1, approvals: 1 } });
  });

  it('down and up keep the run history; status, logs and down need only --state-dir', async () => {
    const elsewhere = mkdtempSync(join(work, 'no-config-'));
    const status = json(await ok(['--json', 'status'], { cwd: elsewhere }));
    expect(status.components.map((c: { state: string }) => c.state)).toEqual(['running', 'running', 'running', 'running', 'running']);
    expect((await ok(['logs', 'store', '-n', '5'], { cwd: elsewhere })).stdout).toContain('store: serving');
    await ok(['down'], { cwd: elsewhere });
    await ok(['up']);
    const shown = json(await ok(['--json', 'runs', 'show', runId, '--tenant', 'acme'])).run;
    expect(shown).toMatchObject({ runId, status: 'completed' });
  });

  it('claw up restarts a component that runs but does not answer, and says so', async () => {
    const pidFile = join(stateDir, 'run', 'gateway.pid');
    const stuck = Number(readFileSync(pidFile, 'utf8'));
    process.kill(stuck, 'SIGSTOP'); // alive, but deaf to its health check
    const up = await ok(['up']);
    expect(up.stderr).toContain('restarting gateway: it was running but did not answer its health check');
    expect(up.stdout).toMatch(/^gateway +restarted/m);
    expect(Number(readFileSync(pidFile, 'utf8'))).not.toBe(stuck);
    const status = json(await ok(['--json', 'status']));
    expect(status.components.every((c: { state: string }) => c.state === 'running')).toBe(true);
  });

  it('runtime commands work from a directory without claw.yaml', async () => {
    const elsewhere = mkdtempSync(join(work, 'no-config-'));
    const sent = await ok(['send', '--tenant', 'acme', '--agent', 'helper', 'hello'], { cwd: elsewhere });
    expect(sent.stdout).toContain('Hello from helper');
    expect(json(await ok(['--json', 'runs', 'list'], { cwd: elsewhere })).runs.length).toBeGreaterThanOrEqual(2);
  });

  it('the store URL claw status prints works as printed', async () => {
    const store = json(await ok(['--json', 'status'])).components.find((c: { name: string }) => c.name === 'store');
    const client = new pg.Client({ connectionString: store.address });
    await client.connect();
    try {
      expect((await client.query('select count(*)::int as n from tenants')).rows[0].n).toBeGreaterThanOrEqual(1);
    } finally {
      await client.end();
    }
  });
});

describe('the store survives bad clients: each is followed by a successful claw send', () => {
  const socket = () => socketFile(join(stateDir, 'store'), storePort);
  const send = async () => expect((await ok(['send', '--tenant', 'acme', '--agent', 'helper', 'hello'])).stdout).toContain('Hello from helper');

  it('a malformed startup', async () => {
    await new Promise<void>((resolve) => {
      const s = connect(socket(), () => s.end(Buffer.from([0, 0, 0, 3, 0xde, 0xad])));
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    await send();
  });

  it('wrong credentials (the OS user instead of the URL\'s role)', async () => {
    const wrong = new pg.Client({ host: join(stateDir, 'store'), port: storePort, user: 'root', database: 'postgres' });
    await expect(wrong.connect()).rejects.toMatchObject({ code: '28000' });
    await send();
  });

  it('a client that connects and never speaks', async () => {
    const silent = connect(socket());
    silent.on('error', () => {});
    await send();
    silent.destroy();
  });

  it('a client killed in the middle of a transaction', async () => {
    const child = spawn(process.execPath, ['-e', `
      const pg = require(${JSON.stringify(join(REPO, 'node_modules', 'pg'))});
      const c = new pg.Client({ host: ${JSON.stringify(join(stateDir, 'store'))}, port: ${storePort}, user: 'postgres', database: 'postgres' });
      c.connect().then(() => c.query('begin')).then(() => c.query("update tenants set name = 'hijacked'")).then(() => console.log('in-tx'));
    `]);
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => String(d).includes('in-tx') && resolve()));
    child.kill('SIGKILL');
    await send();
    const store = new pg.Client({ host: join(stateDir, 'store'), port: storePort, user: 'postgres', database: 'postgres' });
    await store.connect();
    expect((await store.query("select count(*)::int as n from tenants where name = 'hijacked'")).rows[0].n).toBe(0);
    await store.end();
  });

  it('64 concurrent clients', async () => {
    const clients = Array.from({ length: 64 }, () => new pg.Client({ host: join(stateDir, 'store'), port: storePort, user: 'postgres', database: 'postgres' }));
    await Promise.all(clients.map((c) => c.connect()));
    const counts = await Promise.all(clients.map((c) => c.query('select count(*)::int as n from tenants')));
    expect(new Set(counts.map((r) => r.rows[0].n)).size).toBe(1);
    await Promise.all(clients.map((c) => c.end()));
    await send();
  });
});
