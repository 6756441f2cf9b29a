/**
 * End to end on the local target with the real `claw` binary (node bin/claw.js): a temp
 * --state-dir and free ports in claw.yaml's `local:` section. The walking skeleton, data
 * surviving down/up, and each bad input of issue #2: one line, a stable code, a non-zero
 * exit, and nothing changed.
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '@temporalio/client';
import { tenantPayloadCodec } from '../runtime/crypto/codec.js';
import { localTenantKeyring } from '../runtime/crypto/index.js';
import { tenantClient } from '../runtime/temporal/connection.js';
import { legacyTaskQueueFor, runWorkflowId } from '../runtime/temporal/names.js';
import { runClaw, type ClawResult as Result } from './fixtures/claw-cli.js';
import { freePort, freePorts } from './fixtures/ports.js';

const work = mkdtempSync(join(tmpdir(), 'claw-e2e-'));
const stateDir = join(work, 'state');

function claw(args: string[], options: { state?: string } = {}): Promise<Result> {
  return runClaw(args, { stateDir: options.state ?? stateDir, cwd: work });
}

/** The one-line error contract: `error CODE: message — hint`, exit 1, nothing on stdout. */
function expectError(result: Result, code: string, ...mentions: string[]): void {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^error ${code}: `));
  for (const text of mentions) expect(lines[0]).toContain(text);
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
}

function pidFiles(dir: string): string[] {
  const run = join(dir, 'run');
  // run/platform.json stays after down: it tells status/logs which platform lived here.
  return existsSync(run) ? readdirSync(run).filter((f) => f.endsWith('.pid')) : [];
}

const ports: Record<string, number> = {};
let firstRunId = '';

beforeAll(async () => {
  const names = ['temporalPort', 'temporalUiPort', 'gatewayPort', 'codecServerPort', 'storePort', 'workerPort'];
  const free = await freePorts(names.length);
  names.forEach((name, i) => (ports[name] = free[i]!));
  const init = await claw(['init']);
  expect(init.code, init.stderr).toBe(0);
  appendFileSync(join(work, 'claw.yaml'), `local:\n${Object.entries(ports).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`);
}, 120_000);

afterAll(async () => {
  await claw(['down']);
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('claw on the local target (end to end)', () => {
  it('refuses to send before the platform is up', async () => {
    expectError(await claw(['send', '--tenant', 'acme', '--agent', 'helper', 'hello']), 'PLATFORM_NOT_RUNNING', "'claw up'");
    expect(pidFiles(stateDir)).toEqual([]);
  });

  it('brings every component up, healthy, and is idempotent', async () => {
    const up = await claw(['up']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/temporal +started/);
    const status = await claw(['--json', 'status']);
    const components = JSON.parse(status.stdout).components as { name: string; state: string; pid?: number }[];
    expect(components.filter((c) => c.state !== 'not installed').every((c) => c.state === 'running')).toBe(true);
    expect(components.map((c) => c.name)).toEqual(expect.arrayContaining(['temporal', 'store', 'worker']));
    expect(existsSync(join(stateDir, 'temporal', 'temporal.db'))).toBe(true);

    const again = await claw(['--json', 'up']);
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout).components as { name: string; started: boolean; pid?: number }[];
    expect(second.every((c) => !c.started)).toBe(true);
    expect(second.map((c) => c.pid)).toEqual(components.map((c) => c.pid));
  });

  it('sends a message through Temporal and prints the labelled scripted reply', async () => {
    const sent = await claw(['--json', 'send', '--tenant', 'acme', '--agent', 'helper', 'hello']);
    expect(sent.code, sent.stderr).toBe(0);
    const reply = JSON.parse(sent.stdout);
    expect(reply).toMatchObject({ type: 'reply', status: 'completed', model: 'scripted', reply: '[scripted] Hello from helper! I am running on the local target.' });
    firstRunId = reply.runId;

    const tool = await claw(['send', '--tenant', 'acme', '--agent', 'helper', 'what time is it?']);
    expect(tool.code, tool.stderr).toBe(0);
    expect(tool.stdout).toContain('[scripted] I checked the clock for you.');
    expect(tool.stdout).toContain('1 tool call(s)');

    const logs = await claw(['logs', 'worker']);
    expect(logs.stdout).toContain('polling claw-runtime for tenants acme');

    // The run's trace is in the tenant's lake the moment the run ended: the timeline, Cedar's decision and policy.
    const runs = JSON.parse((await claw(['--json', 'runs', 'list', '--tenant', 'acme'])).stdout).runs as { runId: string; toolCalls: number; source: string }[];
    const toolRun = runs.find((r) => r.toolCalls === 1)!;
    expect(toolRun.source).toBe('trace');
    const shown = await claw(['runs', 'show', toolRun.runId]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/agent helper · completed/);
    expect(shown.stdout).toContain('scripted/scripted · attempt 1 · tokens');
    expect(shown.stdout).toContain('time.now [scripted-0-0-0] · ALLOW · policy grant:helper:time.now');
    expect(shown.stdout).toMatch(/result +time\.now \[scripted-0-0-0\] · ok · sandbox none/);
    expect(shown.stdout).toContain('end        completed · budget within');
    expect(shown.stdout).not.toContain('what time is it');
  });

  it('rejects unknown tenants, agents and tools, and changes nothing', async () => {
    expectError(await claw(['send', '--tenant', 'nope', '--agent', 'helper', 'hi']), 'UNKNOWN_TENANT', "'nope'");
    expectError(await claw(['send', '--tenant', 'acme', '--agent', 'nobody', 'hi']), 'UNKNOWN_AGENT', "'nobody'", 'claw agent apply');

    writeFileSync(join(work, 'typo.yaml'), 'id: typo\ntenant: acme\nmodel: { provider: scripted, script: [{ reply: hi }] }\ntools: [time.nowz]\n');
    expectError(await claw(['agent', 'apply', '-f', 'typo.yaml']), 'UNKNOWN_TOOL', "'time.nowz'");
    expectError(await claw(['send', '--tenant', 'acme', '--agent', 'typo', 'hi']), 'UNKNOWN_AGENT');

    writeFileSync(join(work, 'stranger.yaml'), 'id: stranger\ntenant: globex\nmodel: { provider: scripted, script: [{ reply: hi }] }\n');
    expectError(await claw(['agent', 'apply', '-f', 'stranger.yaml']), 'UNKNOWN_TENANT', "'globex'");

    const runs = await claw(['--json', 'runs', 'list']);
    expect(JSON.parse(runs.stdout).runs).toHaveLength(2);
  });

  it('rejects malformed and invalid claw.yaml with the field path and the fix', async () => {
    const good = readFileSync(join(work, 'claw.yaml'), 'utf8');
    writeFileSync(join(work, 'broken.yaml'), good.replace('tenants:', 'tenants:\n  - id: [unclosed'));
    expectError(await claw(['-c', 'broken.yaml', 'up']), 'CONFIG_YAML', 'broken.yaml:');
    writeFileSync(join(work, 'invalid.yaml'), good.replace('target: local', 'target: mars'));
    expectError(await claw(['-c', 'invalid.yaml', 'status']), 'CONFIG_INVALID', 'target', "'local', 'aws' or 'gcp'");
  });

  it('reports a taken Temporal port by number and claw.yaml field, starting nothing', async () => {
    const otherState = join(work, 'other-state');
    const blocker: Server = createServer();
    const taken = await freePort();
    await new Promise<void>((r) => blocker.listen(taken, '127.0.0.1', r));
    try {
      const config = readFileSync(join(work, 'claw.yaml'), 'utf8').replace(/temporalPort: \d+/, `temporalPort: ${taken}`);
      writeFileSync(join(work, 'taken.yaml'), config);
      expectError(await claw(['-c', 'taken.yaml', 'up'], { state: otherState }), 'TEMPORAL_PORT_IN_USE', String(taken), 'local.temporalPort');
      expect(pidFiles(otherState)).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('reports an unwritable state directory', async () => {
    writeFileSync(join(work, 'a-file'), '');
    expectError(await claw(['up'], { state: join(work, 'a-file', 'state') }), 'STATE_DIR_UNWRITABLE', 'a-file');
  });

  it('creates a tenant, applies an agent for it and serves it at once', async () => {
    const created = await claw(['tenant', 'create', 'globex']);
    expect(created.code, created.stderr).toBe(0);
    expect(readFileSync(join(work, 'claw.yaml'), 'utf8')).toMatch(/id: globex/);
    const applied = await claw(['agent', 'apply', '-f', 'stranger.yaml']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('globex/stranger applied as revision 1');
    const sent = await claw(['send', '--tenant', 'globex', '--agent', 'stranger', 'hello']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain('[scripted] hi');
  });

  it('an upgrade finishes a run left on the old per-tenant queue: the restarted worker drains it', async () => {
    // What an earlier release left behind: a run of acme's started on its own queue, sealed with acme's key.
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporalPort}` });
    try {
      const codec = tenantPayloadCodec(await localTenantKeyring(stateDir).forTenant('acme'));
      const legacy = tenantClient(connection, 'acme', { taskQueue: legacyTaskQueueFor('acme'), payloadCodecs: [codec] });
      const runId = 'r-legacy-queue';
      const handle = await legacy.client.workflow.start('agentRun', {
        ...legacy.route, workflowId: runWorkflowId('acme', runId), args: [{ tenantId: 'acme', agentId: 'helper', runId, message: 'hello' }],
      });
      expect((await claw(['down'])).code).toBe(0);
      const up = await claw(['up']);
      expect(up.code, up.stderr).toBe(0);
      expect(await handle.result()).toMatchObject({ status: 'completed', reply: expect.stringContaining('[scripted]') });
      expect((await claw(['logs', 'worker'])).stdout).toContain('draining legacy queues: claw-tenant-acme');
      const shown = await claw(['runs', 'show', runId]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(new RegExp(`run ${runId} · tenant acme · agent helper · completed`));
    } finally {
      await connection.close();
    }
  }, 120_000);

  it('keeps runs across down and up', async () => {
    const down = await claw(['down']);
    expect(down.code, down.stderr).toBe(0);
    expect(pidFiles(stateDir)).toEqual([]);
    const up = await claw(['up']);
    expect(up.code, up.stderr).toBe(0);
    const shown = await claw(['runs', 'show', firstRunId, '--decrypt']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`run ${firstRunId} · tenant acme · agent helper · completed`));
    expect(shown.stdout).toMatch(/#1 +ask\n +hello\n/);
    expect(shown.stdout).toMatch(/reply\n +\[scripted\] Hello from helper! I am running on the local target\.\n/);
    expect(shown.stdout).toContain('end        completed · budget within');
  });

  it('a shredded tenant still in claw.yaml is left out by up and the worker; the other tenants are served', async () => {
    const shred = await claw(['tenant', 'shred', 'globex', '--confirm', 'globex']);
    expect(shred.code, shred.stderr).toBe(0);
    expect(shred.stdout).toContain('remove the tenant from claw.yaml');
    expect((await claw(['down'])).code).toBe(0);

    const up = await claw(['up']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('warning: tenant globex is shredded (its key is destroyed) and was left out');
    const status = await claw(['status']);
    expect(status.stdout).toMatch(/serving tenants: acme\n/);
    expect(status.stdout).toContain('tenant globex cannot run: TENANT_KEY_DESTROYED');

    const sent = await claw(['send', '--tenant', 'acme', '--agent', 'helper', 'still here?']);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain('[scripted]');
    expectError(await claw(['send', '--tenant', 'globex', '--agent', 'stranger', 'hello']), 'TENANT_KEY_DESTROYED', 'globex');
  });
});
