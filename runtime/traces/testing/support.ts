/**
 * Test helpers shared by the trace tests and benchmarks: a real local keyring in a temp
 * state dir and a synthetic run with every kind of step (the must-show run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TenantKeyring, TraceEvent } from '../../ports.js';
import { localTenantKeyring } from '../../crypto/index.js';
import { traceEvents } from '../events.js';

export function tempStateDir(): { stateDir: string; cleanup: () => void } {
  const stateDir = mkdtempSync(join(tmpdir(), 'claw-traces-'));
  return { stateDir, cleanup: () => rmSync(stateDir, { recursive: true, force: true }) };
}

/** The local target's real keyring (DATA's runtime/crypto, root keys under `<stateDir>/keys`). */
export async function localKeyring(stateDir: string, tenants: string[]): Promise<TenantKeyring> {
  const keyring = localTenantKeyring(stateDir);
  for (const tenant of tenants) await keyring.createTenantKey(tenant);
  return keyring;
}

/** Strings that must never appear in a Parquet or WAL file in the clear. */
export const CANARY = {
  ask: 'CANARY-ASK-7f3a: what is the weather in Oslo',
  completion: 'CANARY-COMPLETION-91c2',
  args: 'CANARY-ARGS-55d0',
  result: 'CANARY-RESULT-0b1e',
  reply: 'CANARY-REPLY-e4d7',
};

/**
 * One run that has everything the issue asks to see: a model call that failed and was
 * retried, a denied tool call, a tool call that needed and got approval, a tool run in a
 * sandbox, and the reply. Times advance 100 ms per event from `start`.
 */
export function mustShowRun(tenantId: string, runId: string, start = new Date('2026-11-25T12:00:00Z'), agentId = 'helper'): TraceEvent[] {
  let tick = 0;
  const ctx = () => ({ tenantId, agentId, runId, time: new Date(start.getTime() + 100 * tick++) });
  const allow = (id: string, approval = false) => ({
    decision: 'allow' as const,
    requiresApproval: approval,
    determining: [{ id: `policy${id}`, annotations: { id, reason: `${id} is permitted` } }],
    errors: [],
  });
  return [
    traceEvents.runStart(ctx(), 0, { channel: 'slack', conversationId: 'C1/T1' }),
    traceEvents.ask(ctx(), 1, { text: CANARY.ask, channel: 'slack' }),
    traceEvents.modelCall(ctx(), 2, { provider: 'anthropic', model: 'claude-sonnet-4-5', durationMs: 120, attempt: 1, status: 'error', errorType: 'rate_limited', input: [{ role: 'user', content: CANARY.ask }] }),
    traceEvents.modelCall(ctx(), 2, { provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 412, outputTokens: 57, durationMs: 840, attempt: 2, status: 'ok', finishReasons: ['tool_use'], input: [{ role: 'user', content: CANARY.ask }], output: { text: CANARY.completion } }),
    traceEvents.toolCall(ctx(), 3, {
      tool: 'shell.exec',
      callId: 'call_1',
      args: { command: `rm -rf / ${CANARY.args}` },
      decision: { decision: 'deny', requiresApproval: false, determining: [{ id: 'policy0', annotations: { id: 'forbid-shell', reason: 'agents may not run shell commands' } }], errors: [] },
    }),
    traceEvents.toolCall(ctx(), 4, { tool: 'gmail.send', callId: 'call_2', args: { to: 'ceo@example.com', body: CANARY.args }, decision: allow('gmail-send-needs-approval', true) }),
    traceEvents.approval(ctx(), 5, { tool: 'gmail.send', callId: 'call_2', outcome: 'approved', approver: 'alice@example.com' }),
    traceEvents.toolResult(ctx(), 6, { tool: 'gmail.send', callId: 'call_2', result: { ok: true, output: { id: 'msg-1' }, sandbox: 'none', durationMs: 35 } }),
    traceEvents.toolCall(ctx(), 7, { tool: 'weather.lookup', callId: 'call_3', args: { city: 'Oslo' }, decision: allow('weather-lookup') }),
    traceEvents.toolResult(ctx(), 8, { tool: 'weather.lookup', callId: 'call_3', result: { ok: true, output: { forecast: CANARY.result }, sandbox: 'isolate', durationMs: 12 } }),
    traceEvents.modelCall(ctx(), 9, { provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 655, outputTokens: 40, durationMs: 610, attempt: 1, status: 'ok', finishReasons: ['end_turn'], output: { text: CANARY.reply } }),
    traceEvents.reply(ctx(), 10, { text: CANARY.reply, channel: 'slack' }),
    traceEvents.runEnd(ctx(), 11, { status: 'completed', budgetOutcome: 'within', stepsUsed: 4, tokensUsed: 1164, durationMs: 2300 }),
  ];
}

/**
 * Every canary found in `files`, looking both at the raw bytes and at every decoded
 * value (Parquet pages are zstd-compressed and dictionary-encoded, so a byte scan alone
 * would miss plaintext; WAL content is base64).
 */
export async function findCanaries(files: string[]): Promise<Array<{ file: string; canary: string }>> {
  const { DuckDBInstance, DuckDBBlobValue } = await import('@duckdb/node-api');
  const { readFileSync } = await import('node:fs');
  const { readSegment } = await import('../wal.js');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const found: Array<{ file: string; canary: string }> = [];
  for (const file of files) {
    const texts: string[] = [readFileSync(file).toString('latin1')];
    if (file.endsWith('.parquet')) {
      const result = await connection.run(`SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`);
      for (const row of await result.getRows()) {
        for (const value of row) texts.push(value instanceof DuckDBBlobValue ? Buffer.from(value.bytes).toString('latin1') : String(value));
      }
    } else if (file.endsWith('.wal')) {
      for (const row of readSegment(file).rows) texts.push(JSON.stringify(row), row.content ? Buffer.from(row.content).toString('latin1') : '');
    }
    for (const canary of Object.values(CANARY)) if (texts.some((t) => t.includes(canary))) found.push({ file, canary });
  }
  connection.closeSync();
  return found;
}

/**
 * The runs every read-side test lists and shows, as the lake gets them: tenant acme's
 * must-show run (agent helper, completed; arriving out of order and in pieces, as
 * activities would emit it), acme's still running run-2 of agent triage a day later,
 * tenant acme-corp's run-1 (another tenant's run of the same id) and its failed run-3,
 * whose one tool call is authorized twice (again after its approval) and whose denied
 * call is recorded twice (a retried activity): each still one call. Batches in emit order.
 */
export function runsFixture(): TraceEvent[][] {
  const run = mustShowRun('acme', 'run-1');
  const ctx = { tenantId: 'acme', agentId: 'triage', runId: 'run-2', time: new Date('2026-11-26T09:00:00Z') };
  let tick = 0;
  const failed = () => ({ tenantId: 'acme-corp', agentId: 'triage', runId: 'run-3', time: new Date(Date.parse('2026-11-27T08:00:00Z') + 250 * tick++) });
  const decision = (allow: boolean, approval = false) => ({
    decision: allow ? ('allow' as const) : ('deny' as const),
    requiresApproval: approval,
    determining: [{ id: 'policy0', annotations: { id: allow ? 'send-needs-approval' : 'forbid-delete', reason: allow ? 'sending needs a human' : 'no deletes' } }],
    errors: [],
  });
  return [
    run.slice(6),
    run.slice(0, 6).reverse(),
    [traceEvents.runStart(ctx, 0), traceEvents.ask(ctx, 1, { text: 'second' })],
    mustShowRun('acme-corp', 'run-1', new Date('2026-11-25T13:00:00Z')),
    [
      traceEvents.runStart(failed(), 0),
      traceEvents.toolCall(failed(), 1, { tool: 'gmail.send', callId: 'call_9', args: { to: 'x@example.com' }, decision: decision(true, true) }),
      traceEvents.approval(failed(), 2, { tool: 'gmail.send', callId: 'call_9', outcome: 'approved', approver: 'bob@example.com' }),
      traceEvents.toolCall(failed(), 3, { tool: 'gmail.send', callId: 'call_9', args: { to: 'x@example.com' }, decision: decision(true), approved: true }),
      traceEvents.toolCall(failed(), 4, { tool: 'files.delete', callId: 'call_8', args: { path: '/' }, decision: decision(false) }),
      traceEvents.toolCall(failed(), 5, { tool: 'files.delete', callId: 'call_8', args: { path: '/' }, decision: decision(false), attempt: 2 }),
      traceEvents.modelCall(failed(), 6, { provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 10, outputTokens: 5, durationMs: 50, attempt: 1, status: 'ok' }),
      traceEvents.runEnd(failed(), 7, { status: 'failed', budgetOutcome: 'within', stepsUsed: 3, tokensUsed: 15 }),
    ],
  ];
}

/** runsFixture landed in the local lake under `stateDir` (keys of acme and acme-corp made there). */
export async function writeRunsFixture(stateDir: string): Promise<TenantKeyring> {
  const [{ openTraceWriter }, { LocalLake }] = await Promise.all([import('../writer.js'), import('../local-lake.js')]);
  const keyring = await localKeyring(stateDir, ['acme', 'acme-corp']);
  const writer = await openTraceWriter({ stateDir, lake: new LocalLake(stateDir), keyring, flushIntervalMs: 60_000 });
  for (const batch of runsFixture()) await writer.emit(batch);
  await writer.close();
  return keyring;
}
