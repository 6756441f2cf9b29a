/**
 * `claw approve|deny|cancel` and `claw runs pending` as processes (node bin/claw.js) against
 * a local platform brought up with `claw up` (temp --state-dir, free ports), with the
 * starter agent granted `echo` only with a human's approval — the worker's real Cedar tool
 * runtime parks the call. `claw send` blocks on the run while another `claw` decides.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClaw, type ClawResult } from '../../test/fixtures/claw-cli.js';
import { freePorts } from '../../test/fixtures/ports.js';
import { eventually } from './testing/harness.js';

const work = mkdtempSync(join(tmpdir(), 'claw-approve-e2e-'));
const stateDir = join(work, 'state');

function claw(args: string[]): Promise<ClawResult> {
  return runClaw(args, { stateDir, cwd: work, env: { CLAW_USER: 'tester' } });
}

function expectError(result: ClawResult, code: string, mention: string): void {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^error ${code}: `));
  expect(lines[0]).toContain(mention);
  expect(result.code).toBe(1);
}

/** The one call waiting in tenant acme, once `claw runs pending` lists it. */
async function waiting(): Promise<{ runId: string; callId: string; tool: string }> {
  return eventually(async () => {
    const listed = await claw(['--json', 'runs', 'pending', '--tenant', 'acme']);
    expect(listed.code, listed.stderr).toBe(0);
    const pending = JSON.parse(listed.stdout).pending as { runId: string; callId: string; tool: string }[];
    return pending.length === 1 ? pending[0] : undefined;
  }, 'a pending approval in claw runs pending', 90_000, 500);
}

beforeAll(async () => {
  const ports: Record<string, number> = {};
  const names = ['temporalPort', 'temporalUiPort', 'gatewayPort', 'codecServerPort', 'storePort', 'workerPort'];
  const free = await freePorts(names.length);
  names.forEach((name, i) => (ports[name] = free[i]!));
  const init = await claw(['init']);
  expect(init.code, init.stderr).toBe(0);
  appendFileSync(join(work, 'claw.yaml'), `local:\n${Object.entries(ports).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`);
  const agentFile = join(work, 'agents', 'helper.yaml');
  const agent = readFileSync(agentFile, 'utf8')
    .replace('  script:\n', '  script:\n    - when: "(?i)launch"\n      toolCalls: [{ tool: echo, args: { text: launched } }]\n    - when: "(?i)launch"\n      reply: "Launch handled."\n')
    .replace('  - echo\n', '  - { name: echo, approval: required }\n');
  writeFileSync(agentFile, agent);
  // The worker archives the audit log into the tenant's storage every half second here (a minute by default).
  const up = await runClaw(['up'], { stateDir, cwd: work, env: { CLAW_USER: 'tester', CLAW_AUDIT_ARCHIVE_MS: '500' } });
  expect(up.code, up.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  await claw(['down']);
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('claw approve|deny|cancel on a running local platform', () => {
  it('lists the parked call, refuses a wrong call id, approves the right one, and the run answers', async () => {
    const sending = claw(['--json', 'send', '--tenant', 'acme', '--agent', 'helper', 'launch please']);
    const call = await waiting();
    expect(call.tool).toBe('echo');

    expectError(await claw(['approve', call.runId, 'no-such-call']), 'CALL_NOT_PENDING', call.callId);
    expectError(await claw(['approve', 'r-missing', call.callId]), 'UNKNOWN_RUN', 'r-missing');
    expectError(await claw(['approve', call.runId, call.callId, '--tenant', 'globex']), 'UNKNOWN_TENANT', 'globex');

    const approved = await claw(['--json', 'approve', call.runId, call.callId]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ type: 'approval', tenant: 'acme', runId: call.runId, callId: call.callId, approved: true, by: 'tester' });

    const sent = await sending;
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ type: 'reply', runId: call.runId, status: 'completed', reply: '[scripted] Launch handled.', toolCalls: 1 });
    expectError(await claw(['approve', call.runId, call.callId]), 'RUN_NOT_RUNNING', call.runId);
  });

  it('denies with a reason (human output), and the run still answers', async () => {
    const sending = claw(['--json', 'send', '--tenant', 'acme', '--agent', 'helper', 'launch again']);
    const call = await waiting();
    const denied = await claw(['deny', call.runId, call.callId, '--reason', 'not today', '--by', 'dana']);
    expect(denied.code, denied.stderr).toBe(0);
    expect(denied.stdout).toBe(`rejected call ${call.callId} (echo {"text":"launched"}) of run ${call.runId} as dana\n`);
    const sent = await sending;
    expect(JSON.parse(sent.stdout)).toMatchObject({ status: 'completed', reply: '[scripted] Launch handled.' });
  });

  it('cancels a parked run', async () => {
    const sending = claw(['--json', 'send', '--tenant', 'acme', '--agent', 'helper', 'launch once more']);
    const call = await waiting();
    const cancelled = await claw(['--json', 'cancel', call.runId]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toEqual({ type: 'cancel', tenant: 'acme', runId: call.runId });
    const sent = await sending;
    expect(JSON.parse(sent.stdout)).toMatchObject({ runId: call.runId, status: 'cancelled', reason: 'RUN_CANCELLED' });
    const shown = await claw(['--json', 'runs', 'show', call.runId]);
    // Recorded as ended, not completed ('runs show' reads the trace's end: cancelled).
    expect(['cancelled', 'failed']).toContain(JSON.parse(shown.stdout).run.status);
    const none = await claw(['runs', 'pending', '--tenant', 'acme']);
    expect(none.stdout).toBe('no tool call is waiting for an approval\n');
  });

  it("every decision is in the tenant's audit log, with who made it; the chain verifies, and so does its export with no database", async () => {
    const listed = await claw(['--json', 'audit', 'list', '--tenant', 'acme']);
    expect(listed.code, listed.stderr).toBe(0);
    const entries = JSON.parse(listed.stdout).entries as { seq: number; actor: { id: string }; action: string; resource: string; decision: string }[];
    expect(entries.map((e) => [e.seq, e.actor.id, e.action])).toEqual([
      [1, 'tester', 'approval.grant'],
      [2, 'dana', 'approval.reject'],
    ]);
    expect(entries[0]!.resource).toMatch(/^run\/.+\/call\/.+/);

    const verified = await claw(['audit', 'verify', '--tenant', 'acme']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^audit log of acme: 2 entries, chain intact; head 2:[0-9a-f]{64}\n$/);

    const file = join(work, 'acme-audit.jsonl');
    const exported = await claw(['audit', 'export', '--tenant', 'acme', '--out', file]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
    expect((await claw(['audit', 'verify', '--tenant', 'acme', '--in', file])).code).toBe(0);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"actor":{"id":"dana"', '"actor":{"id":"mallory"'));
    const tampered = await claw(['audit', 'verify', '--tenant', 'acme', '--in', file]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain('BROKEN at entry 2 (AUDIT_HASH_MISMATCH)');

    // The running worker landed the log in the tenant's own storage; that copy verifies and the store agrees with it.
    const archived = await eventually(async () => {
      const r = await claw(['audit', 'verify', '--tenant', 'acme', '--archive']);
      return r.code === 0 && r.stdout.includes(': 2 entries') ? r.stdout : undefined;
    }, 'the audit log archived by the worker', 30_000, 500);
    expect(archived).toMatch(/^archived audit log of acme: 2 entries in \d segment\(s\), chain intact, the store agrees; head 2:[0-9a-f]{64}\n$/);
  });
});

