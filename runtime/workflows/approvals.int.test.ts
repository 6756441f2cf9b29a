/**
 * Approvals, cancel and budgets of agentRun on the real Temporal dev server and PostgreSQL:
 * a call that needs a human parks the run (the pendingApprovals query shows it), approve
 * runs it, deny and the timeout tell the model why, time parked is not wall time, cancel
 * and the token and wall-time budgets end the run cleanly with the reason recorded; a reply
 * the channel refuses fails the run with the channel's code, recorded and traced. The
 * decisions go through the same functions `claw approve|deny|cancel` use (with the tenant's
 * payload codec), and the `claw` process itself is checked for its argument errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runClaw, type ClawResult } from '../../test/fixtures/claw-cli.js';
import { cancelRun, decide, pendingApprovals, runningRun } from '../../runtime/approvals/service.js';
import type { Agent } from '../../core/config/schema.js';
import { ChannelError, type OutboundMessage } from '../channels/outbound.js';
import { eventually, startHarness, traceOf, type Harness } from './testing/harness.js';
import type { ChatMessage, PendingApproval } from './types.js';

let h: Harness;
/** Every send the channel was asked for: it refuses them all, as Telegram does a revoked bot token. */
const sends: OutboundMessage[] = [];

const gated = (overrides: Partial<Agent> = {}): Agent =>
  h.agent({
    id: 'gated',
    tools: [{ name: 'echo', approval: 'required' }],
    model: { provider: 'scripted', script: [{ toolCalls: [{ tool: 'echo', args: { text: 'launch' } }] }, { reply: 'done' }] },
    ...overrides,
  });

/** What the model was told about the tool call in the run's later model calls. */
function toolMessages(runId: string): Extract<ChatMessage, { role: 'tool' }>[] {
  const last = h.modelCalls.filter((c) => c.runId === runId).at(-1);
  return (last?.messages ?? []).filter((m): m is Extract<ChatMessage, { role: 'tool' }> => m.role === 'tool');
}

async function parked(runId: string): Promise<PendingApproval> {
  const handle = await runningRun(h.tenant, runId);
  const pending = await eventually(async () => {
    const list = await pendingApprovals(h.tenant, handle);
    return list.length > 0 ? list : undefined;
  }, `run ${runId} to park on an approval`);
  expect(pending).toHaveLength(1);
  return pending[0]!;
}

beforeAll(async () => {
  h = await startHarness({
    temporalAddress: inject('temporalAddress'), postgresUrl: inject('postgresUrl'), tenantPrefix: 'appr',
    deps: {
      channels: {
        async send(message) {
          sends.push(message);
          throw new ChannelError('CHANNEL_AUTH_FAILED', 'the telegram API refused the bot token', { retryable: false, status: 401 });
        },
      },
    },
  });
  await h.store.applyAgent(gated());
  await h.store.applyAgent(gated({ id: 'gated-wall', budget: { maxSteps: 8, maxTokens: 20_000, maxWallTime: '4s' } }));
  await h.store.applyAgent(h.agent({
    id: 'spender', tools: ['echo'], budget: { maxSteps: 10, maxTokens: 1000, maxWallTime: '2m' },
    model: { provider: 'scripted', script: [{ toolCalls: [{ tool: 'echo', args: {} }], usage: { inputTokens: 400, outputTokens: 200 } }] },
  }));
  await h.store.applyAgent(h.agent({ id: 'dawdler', tools: [], budget: { maxSteps: 8, maxTokens: 20_000, maxWallTime: '2s' }, model: { provider: 'scripted', script: [{ reply: 'late' }] } }));
  h.modelDelay = (input) => (input.agentId === 'dawdler' ? 6_000 : input.agentId === 'slowpoke' ? 8_000 : 0);
  await h.store.applyAgent(h.agent({ id: 'slowpoke', tools: [], model: { provider: 'scripted', script: [{ reply: 'eventually' }] } }));
  await h.store.applyAgent(h.agent({
    id: 'announcer', tools: [], channels: [{ type: 'telegram', apiBaseUrl: 'http://127.0.0.1:9' }],
    model: { provider: 'scripted', script: [{ reply: 'hear ye' }] },
  }));
});

afterAll(async () => {
  await h?.close();
});

describe('approvals', () => {
  it('parks a call that needs a human; approving it runs the call and the run completes', async () => {
    const { runId, handle } = await h.start({ agentId: 'gated', message: 'launch it' });
    const call = await parked(runId);
    expect(call).toMatchObject({ tool: 'echo', step: 2 });
    expect(await h.store.getRun(runId)).toMatchObject({ status: 'running' });

    // A call id the run is not waiting on is refused, and nothing is sent.
    await expect(decide(h.tenant, runId, { callId: 'not-a-call', approved: true })).rejects.toMatchObject({ code: 'CALL_NOT_PENDING' });

    const decided = await decide(h.tenant, runId, { callId: call.callId, approved: true, by: 'alice' });
    expect(decided).toMatchObject({ runId, callId: call.callId, tool: 'echo', approved: true, by: 'alice' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', reply: '[scripted] done', steps: 2, toolCalls: 1 });
    // The call ran after the approval: the model saw echo's output.
    expect(toolMessages(runId)).toEqual([{ role: 'tool', callId: call.callId, tool: 'echo', content: '{"text":"launch"}' }]);

    // The trace has the wait and the decision with who made it, and the call authorized again.
    expect(traceOf(h.traces, runId, 'approval')).toEqual([
      expect.arrayContaining(['echo', call.callId, 'waiting']),
      expect.arrayContaining(['echo', call.callId, 'approved', 'alice']),
    ]);
    // Both name the run's agent (the workflow hands it over; no lookup).
    expect(h.traces.filter((e) => e.runId === runId && e.kind === 'approval').map((e) => [e.agentId, e.attributes['gen_ai.agent.id']])).toEqual([
      ['gated', 'gated'],
      ['gated', 'gated'],
    ]);

    // Once the run has ended, a decision is refused as such.
    await expect(decide(h.tenant, runId, { callId: call.callId, approved: true })).rejects.toMatchObject({ code: 'RUN_NOT_RUNNING' });
  });

  it('tells the model APPROVAL_REJECTED (with the reason) when a human denies, and the run goes on', async () => {
    const { runId, handle } = await h.start({ agentId: 'gated', message: 'launch it' });
    const call = await parked(runId);
    await decide(h.tenant, runId, { callId: call.callId, approved: false, by: 'bob', reason: 'not on a Friday' });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', reply: '[scripted] done', toolCalls: 1 });
    const [told] = toolMessages(runId);
    expect(told).toMatchObject({ role: 'tool', callId: call.callId, isError: true });
    expect(JSON.parse(told!.content)).toEqual({ error: 'APPROVAL_REJECTED', message: 'a human rejected this call: not on a Friday' });
    const approval = traceOf(h.traces, runId, 'approval');
    expect(approval[1]).toEqual(expect.arrayContaining(['rejected', 'bob']));
    // The reason is content: it is never written into the trace's cleartext attributes.
    expect(JSON.stringify(h.traces.filter((e) => e.runId === runId).map((e) => e.attributes))).not.toContain('Friday');
  });

  it('ends the wait with APPROVAL_TIMEOUT when no one decides, and time parked does not count toward maxWallTime', async () => {
    // maxWallTime is 4 s; the wait alone lasts 7 s, and the run still completes.
    const started = Date.now();
    const { runId, result } = await h.run({ agentId: 'gated-wall', message: 'launch it', approvalTimeoutMs: 7_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(7_000);
    expect(result).toMatchObject({ status: 'completed', reply: '[scripted] done', budget: 'within' });
    const [told] = toolMessages(runId);
    expect(JSON.parse(told!.content)).toEqual({ error: 'APPROVAL_TIMEOUT', message: 'no human approved this call in time' });
    expect(traceOf(h.traces, runId, 'approval')[1]).toEqual(expect.arrayContaining(['timeout']));
    expect(await h.store.getRun(runId)).toMatchObject({ status: 'completed' });
  });

  it('cancels a parked run cleanly with RUN_CANCELLED', async () => {
    const { runId, handle } = await h.start({ agentId: 'gated', message: 'launch it' });
    await parked(runId);
    await cancelRun(h.tenant, runId, 'changed my mind');
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'cancelled', reason: 'RUN_CANCELLED', toolCalls: 1 });
    expect(await h.store.getRun(runId)).toMatchObject({ status: 'failed', errorCode: 'RUN_CANCELLED' });
    expect(traceOf(h.traces, runId, 'run.end')).toEqual([expect.arrayContaining(['cancelled', 'RUN_CANCELLED'])]);
    // The workflow completed (not failed, not terminated).
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    await expect(cancelRun(h.tenant, runId)).rejects.toMatchObject({ code: 'RUN_NOT_RUNNING' });
  });

  it('cancels a run in the middle of a model call', async () => {
    const { runId, handle } = await h.start({ agentId: 'slowpoke', message: 'take your time' });
    await eventually(() => h.modelCalls.some((c) => c.runId === runId), 'the model call to start');
    await cancelRun(h.tenant, runId);
    expect(await handle.result()).toMatchObject({ status: 'cancelled', reason: 'RUN_CANCELLED', steps: 1 });
    expect(await h.store.getRun(runId)).toMatchObject({ status: 'failed', errorCode: 'RUN_CANCELLED' });
  });

  it('refuses decisions for a run that does not exist', async () => {
    await expect(decide(h.tenant, 'r-nope', { callId: 'c', approved: true })).rejects.toMatchObject({ code: 'UNKNOWN_RUN' });
    await expect(cancelRun(h.tenant, 'r-nope')).rejects.toMatchObject({ code: 'UNKNOWN_RUN' });
  });
});

describe('budgets', () => {
  it('ends a run over its token budget cleanly with BUDGET_TOKENS_EXCEEDED recorded', async () => {
    const { runId, result } = await h.run({ agentId: 'spender', message: 'spend' });
    // 600 tokens a call: after two calls (1200 >= 1000) no third call is made.
    expect(result).toMatchObject({ status: 'budget_exceeded', reason: 'BUDGET_TOKENS_EXCEEDED', budget: 'tokens', steps: 2, usage: { inputTokens: 800, outputTokens: 400 } });
    expect(await h.store.getRun(runId)).toMatchObject({ status: 'failed', errorCode: 'BUDGET_TOKENS_EXCEEDED', steps: 2, inputTokens: 800, outputTokens: 400 });
    expect(traceOf(h.traces, runId, 'run.end')).toEqual([expect.arrayContaining(['budget_exceeded', 'tokens', 'BUDGET_TOKENS_EXCEEDED'])]);
  });

  it('ends a run over its wall time cleanly with BUDGET_WALL_TIME_EXCEEDED recorded', async () => {
    const started = Date.now();
    const { runId, result } = await h.run({ agentId: 'dawdler', message: 'hurry' });
    // Ended by the 2 s deadline, not by the 6 s model call finishing.
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(result).toMatchObject({ status: 'budget_exceeded', reason: 'BUDGET_WALL_TIME_EXCEEDED', budget: 'wall_time' });
    expect(await h.store.getRun(runId)).toMatchObject({ status: 'failed', errorCode: 'BUDGET_WALL_TIME_EXCEEDED' });
    expect(traceOf(h.traces, runId, 'run.end')).toEqual([expect.arrayContaining(['budget_exceeded', 'wall_time', 'BUDGET_WALL_TIME_EXCEEDED'])]);
  });
});

describe('replies', () => {
  it('a reply the channel refuses fails the run with the channel\'s code: recorded as failed, run.end in the trace', async () => {
    const { runId, handle } = await h.start({ agentId: 'announcer', message: 'announce it', replyTo: { channel: 'telegram', chatId: '42' } });
    const failure = await handle.result().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'CHANNEL_AUTH_FAILED' });
    // Non-retryable: one attempt, at the reply's step (model call 1, reply 2).
    expect(sends.filter((m) => m.idempotencyKey.includes(runId)).map((m) => m.idempotencyKey)).toEqual([`${h.tenantId}/${runId}/2/reply`]);
    expect(await h.store.getRun(runId)).toMatchObject({ status: 'failed', errorCode: 'CHANNEL_AUTH_FAILED', steps: 1, toolCalls: 0 });
    expect(await h.outbox.sentEffect(`${h.tenantId}/${runId}/2/reply`)).toBeUndefined();
    // The run's end is in the trace, at the reply's step; no reply event (nothing went out).
    const events = h.traces.filter((e) => e.runId === runId);
    expect(events.map((e) => `${e.seq}:${e.kind}`)).toEqual(['0:run.start', '1:ask', '10:model.call', '25:run.end']);
    expect(traceOf(h.traces, runId, 'run.end')).toEqual([expect.arrayContaining(['failed', 'within', 'CHANNEL_AUTH_FAILED'])]);
  });
});

// ------------------------------------------------------------------ the `claw` process

describe('claw approve|deny|cancel|runs pending (the CLI process)', () => {
  const work = mkdtempSync(join(tmpdir(), 'claw-approve-cli-'));
  const state = join(work, 'state');
  const claw = (args: string[]) => runClaw(args, { stateDir: state, cwd: work });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function expectOneLine(result: ClawResult, code: string, mention: string) {
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^error ${code}: `));
    expect(lines[0]).toContain(mention);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
  }

  it('turns argument errors into one line with a stable code', async () => {
    expectOneLine(await claw(['approve']), 'USAGE', "missing required argument 'run'");
    expectOneLine(await claw(['approve', 'r-1']), 'USAGE', "missing required argument 'call'");
    expectOneLine(await claw(['deny', 'r-1', 'c-1', '--bogus']), 'USAGE', "unknown option '--bogus'");
    expectOneLine(await claw(['cancel']), 'USAGE', "'claw cancel --help'");
    expectOneLine(await claw(['runs', 'pending']), 'USAGE', "'claw runs pending --help'");
    expectOneLine(await claw(['approve', 'r 1', 'c-1']), 'USAGE', "run id 'r 1'");
    expectOneLine(await claw(['approve', 'r-1', 'c-1', '--tenant', 'Not_A_Tenant']), 'USAGE', 'tenant id');
  });

  it('says the platform is not up (under the given --state-dir; --json honoured anywhere)', async () => {
    writeFileSync(join(work, 'claw.yaml'), 'apiVersion: claw.dev/v1\nname: claw\ntarget: local\ntenants: [{ id: acme, name: Acme }]\n');
    expectOneLine(await claw(['approve', 'r-1', 'c-1']), 'PLATFORM_NOT_RUNNING', state);
    const json = await claw(['cancel', 'r-1', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ type: 'error', code: 'PLATFORM_NOT_RUNNING', hint: expect.stringContaining('claw up') });
    const usage = await claw(['--json', 'approve', 'r-1']);
    expect(JSON.parse(usage.stdout)).toMatchObject({ type: 'error', code: 'USAGE' });
  });
});
