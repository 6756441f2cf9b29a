/**
 * The conversation workflow on the real Temporal dev server, fed exactly as the gateway
 * feeds it (`signalWithStart` of the `inbound` signal, the tenant's payload codec): one
 * thread's messages become runs answered in order with the thread's history; a delivery id
 * seen before starts no second run — five redeliveries, a redelivery after continue-as-new,
 * and one that reaches a fresh execution that never saw it (Temporal refuses the run id).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConversationKey, InboundMessage } from '../channels/types.js';
import { temporalStarter } from '../gateway/starter.js';
import { CLAW } from '../traces/model.js';
import { conversationWorkflowId, runIdFor } from './names.js';
import { eventually, startHarness, type Harness } from './testing/harness.js';
import type { ConversationInput } from './types.js';

let h: Harness;
let key: ConversationKey;
let conversationId: string;

function message(deliveryId: string, text: string): InboundMessage {
  return { deliveryId, text, receivedAt: new Date().toISOString(), replyTo: { channel: 'none' } };
}

/** signalWithStart, as runtime/gateway/starter.ts does it, but with turnsPerExecution lowered. */
async function deliver(m: InboundMessage) {
  const args: [ConversationInput] = [{ key, turnsPerExecution: 2 }];
  return h.tenant.client.workflow.signalWithStart('conversation', {
    workflowId: conversationId, ...h.tenant.route, args, signal: 'inbound', signalArgs: [m],
  });
}

const runOf = (deliveryId: string) => runIdFor(conversationId, deliveryId);

async function answered(deliveryId: string) {
  return eventually(async () => {
    const run = await h.store.getRun(runOf(deliveryId));
    return run && run.status !== 'running' ? run : undefined;
  }, `the run of delivery ${deliveryId}`, 60_000);
}

/** The user/assistant turns the model was given in a run's first call. */
function askedWith(deliveryId: string): string[] {
  const call = h.modelCalls.find((c) => c.runId === runOf(deliveryId));
  return (call?.messages ?? []).map((m) => `${m.role}: ${m.content}`);
}

const runsOfAgent = async () => (await h.store.listRuns({ tenantId: h.tenantId, agentId: 'chat', limit: 100 })).length;

beforeAll(async () => {
  h = await startHarness({ temporalAddress: inject('temporalAddress'), postgresUrl: inject('postgresUrl'), tenantPrefix: 'conv' });
  await h.store.applyAgent(h.agent({ id: 'chat', tools: [], model: { provider: 'scripted', script: [{ reply: 'noted' }] } }));
  key = { tenantId: h.tenantId, agentId: 'chat', channel: 'webhook', thread: 'thread/1' };
  conversationId = conversationWorkflowId(key);
});

afterAll(async () => {
  await h?.tenant.client.workflow.getHandle(conversationId).terminate('test done').catch(() => undefined);
  await h?.close();
});

describe('conversation workflow', () => {
  let firstExecution: string;

  it('answers a thread in order, each run with the history before it', async () => {
    const first = await deliver(message('d1', 'one'));
    firstExecution = first.signaledRunId;
    await deliver(message('d2', 'two'));
    await answered('d1');
    await answered('d2');
    expect(askedWith('d1')).toEqual(['user: one']);
    expect(askedWith('d2')).toEqual(['user: one', 'assistant: [scripted] noted', 'user: two']);
    const d1 = await h.store.getRun(runOf('d1'));
    const d2 = await h.store.getRun(runOf('d2'));
    expect(d1).toMatchObject({ status: 'completed', workflowId: `${h.tenantId}/run/${runOf('d1')}` });
    // The run's start and ask in the trace say which channel the message came in on.
    const opening = h.traces.filter((e) => e.runId === runOf('d1') && (e.kind === 'run.start' || e.kind === 'ask'));
    expect(opening.map((e) => [e.kind, e.attributes[CLAW.channel]])).toEqual([['run.start', 'webhook'], ['ask', 'webhook']]);
    expect(d2!.startedAt.getTime()).toBeGreaterThanOrEqual(d1!.finishedAt!.getTime());
  });

  it('continues as new after turnsPerExecution, keeping the queue, the history and dedup', async () => {
    // Two turns are done; d3 arrives while d4 is queued behind it, and d1 is redelivered.
    await deliver(message('d3', 'three'));
    await deliver(message('d1', 'one (redelivered)'));
    await deliver(message('d4', 'four'));
    await answered('d3');
    await answered('d4');
    const description = await h.tenant.client.workflow.getHandle(conversationId).describe();
    expect(description.runId).not.toBe(firstExecution);
    expect(description.status.name).toBe('RUNNING');
    expect(askedWith('d3')).toEqual(['user: one', 'assistant: [scripted] noted', 'user: two', 'assistant: [scripted] noted', 'user: three']);
    expect(askedWith('d4').at(-1)).toBe('user: four');
    expect(askedWith('d4')).toHaveLength(7);
    // The redelivery of d1 after continue-as-new started nothing.
    expect(h.modelCalls.filter((c) => c.runId === runOf('d1'))).toHaveLength(1);
    expect(await runsOfAgent()).toBe(4);
  });

  it('starts one run for a delivery id delivered five times (also through the gateway starter)', async () => {
    const starter = temporalStarter(() => h.tenant.client);
    await Promise.all([
      ...[1, 2, 3].map(() => deliver(message('d5', 'five'))),
      ...[1, 2].map(() => starter.deliver({ key, message: message('d5', 'five') }, new Date(Date.now() + 30_000))),
    ]);
    await deliver(message('d6', 'six'));
    await answered('d6');
    expect(h.modelCalls.filter((c) => c.runId === runOf('d5'))).toHaveLength(1);
    expect(await runsOfAgent()).toBe(6);
  });

  it('refuses a second run for a delivery that reaches an execution which never saw it', async () => {
    // A fresh conversation execution (no `seen`): the delivery maps to the same run id, which Temporal refuses to start again.
    await h.tenant.client.workflow.getHandle(conversationId).terminate('forget what was seen');
    await deliver(message('d2', 'two (redelivered long after)'));
    await deliver(message('d7', 'seven'));
    await answered('d7');
    expect(h.modelCalls.filter((c) => c.runId === runOf('d2'))).toHaveLength(1);
    expect(await runsOfAgent()).toBe(7);
    // The fresh execution has no history: d7 is answered without the old turns (it was not told d2 again either).
    expect(askedWith('d7')).toEqual(['user: seven']);
  });
});
