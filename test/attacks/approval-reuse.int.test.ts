/**
 * Approvals as an attacker (a prompt-injected model, or anyone who can signal) would abuse
 * them, on the real dev server with a real tenant Worker: the model reuses the id of an
 * approved call for a new, different call; a decision is sent for other arguments than the
 * ones parked. Neither may run a call no human approved.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decide, pendingApprovals, runningRun } from '../../runtime/approvals/service.js';
import type { Agent } from '../../core/config/schema.js';
import { loopbackServer } from '../../runtime/models/loopback.test-helper.js';
import { approvalSignal } from '../../runtime/workflows/signals.js';
import { eventually, startHarness, testSecrets, type Harness } from '../../runtime/workflows/testing/harness.js';
import type { PendingApproval } from '../../runtime/workflows/types.js';

let h: Harness;
let model: Awaited<ReturnType<typeof loopbackServer>>;

const callEcho = (id: string, text: string) => ({
  body: { model: 'gpt-loop', choices: [{ message: { content: null, tool_calls: [{ id, type: 'function', function: { name: 'echo', arguments: JSON.stringify({ text }) } }] } }], usage: { prompt_tokens: 10, completion_tokens: 5 } },
});

beforeAll(async () => {
  model = await loopbackServer([callEcho('dup', 'benign'), callEcho('dup', 'exfiltrate'), { body: { model: 'gpt-loop', choices: [{ message: { content: 'done' } }], usage: { prompt_tokens: 10, completion_tokens: 2 } } }]);
  h = await startHarness({ temporalAddress: inject('temporalAddress'), postgresUrl: inject('postgresUrl'), tenantPrefix: 'apratk', deps: { secrets: testSecrets({ OPENAI_API_KEY: 'sk-loop' }) } });
  const agent: Agent = h.agent({
    id: 'reuser',
    tools: [{ name: 'echo', approval: 'required' }],
    model: { provider: 'openai', model: 'gpt-loop', apiKeySecret: 'OPENAI_API_KEY', baseUrl: model.url, maxTokens: 64 } as Agent['model'],
  });
  await h.store.applyAgent(agent);
}, 120_000);

afterAll(async () => {
  await h?.close();
  await model?.close();
});

async function parkedAt(runId: string, step: number): Promise<PendingApproval> {
  const handle = await runningRun(h.tenant, runId);
  return eventually(async () => (await pendingApprovals(h.tenant, handle)).find((p) => p.step === step), `run ${runId} parked at step ${step}`, 60_000, 100);
}

describe('approval attacks on the real dev server', () => {
  it('a reused call id does not inherit an approval, and a decision for other arguments is ignored', async () => {
    const { runId, handle } = await h.start({ agentId: 'reuser', message: 'go' });
    const first = await parkedAt(runId, 2);
    expect(first).toMatchObject({ callId: 'dup', tool: 'echo', args: { text: 'benign' } });
    expect(await decide(h.tenant, runId, { callId: 'dup', approved: true, by: 'alice' })).toMatchObject({ approved: true, args: { text: 'benign' } });

    // The model comes back with the same id for a different call: it must wait for a human again.
    const second = await parkedAt(runId, 4);
    expect(second).toMatchObject({ callId: 'dup', args: { text: 'exfiltrate' } });

    // A decision bound to the arguments that were approved before does not approve these.
    await handle.signal(approvalSignal, { callId: 'dup', step: 4, argsJson: JSON.stringify({ text: 'benign' }), approved: true, by: 'mallory' });
    // Nor one for another step.
    await handle.signal(approvalSignal, { callId: 'dup', step: 2, argsJson: JSON.stringify({ text: 'exfiltrate' }), approved: true, by: 'mallory' });
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await pendingApprovals(h.tenant, handle)).map((p) => p.step)).toEqual([4]);

    await decide(h.tenant, runId, { callId: 'dup', approved: false, by: 'alice', reason: 'no' });
    expect(await handle.result()).toMatchObject({ status: 'completed', toolCalls: 2 });
    const toolResults = h.modelCalls.filter((c) => c.runId === runId).at(-1)!.messages.filter((m) => m.role === 'tool');
    expect(toolResults.map((m) => (m as { content: string }).content)).toEqual(['{"text":"benign"}', expect.stringContaining('APPROVAL_REJECTED')]);
  });
});
