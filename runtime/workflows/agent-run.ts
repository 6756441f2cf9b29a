/**
 * agentRun: one run (one turn of a conversation) — ask → model → (tools → model)* →
 * reply, durable on Temporal. Everything with side effects is an activity; this code only
 * decides. Activities are imported as types only, so no adapter code reaches the bundle.
 *
 * A run ends in one of three clean ways, each recorded with its reason: completed (the
 * model answered and the reply went out), budget_exceeded (max steps, max tokens or wall
 * time from claw.yaml), cancelled (the `cancel` signal). A failure the run cannot get past
 * (e.g. the provider rejected the API key) fails it at once with that code.
 *
 * A decision binds to the call it was made for (step, call id and arguments, as the
 * approver saw them) and is consumed by it: a later call reusing a model-chosen id does not
 * inherit it, and a decision for other arguments is ignored.
 *
 * A tool call whose authorization requires a human parks the run on the `approval` signal
 * (`claw approve|deny <run> <call>`) for at most `approvalTimeoutMs`; time parked does not
 * count against the wall-time budget.
 */
import {
  ApplicationFailure, CancellationScope, condition, isCancellation, patched, proxyActivities, proxyLocalActivities, setHandler, sleep, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { approvalSignal, cancelSignal, pendingApprovalsQuery } from './signals.js';
import type {
  AgentRunInput, AgentRunResult, ApprovalDecision, BudgetOutcome, ChatMessage, PendingApproval, RunFinishInput, ToolCall,
} from './types.js';

const STORE_RETRY = { initialInterval: '500ms', maximumInterval: '10s', maximumAttempts: 5 };
/** Runs started before STORE_AS_LOCAL_ACTIVITIES replay with the store calls as they ran: activities. */
const storeActivities = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: STORE_RETRY });
/**
 * The store's reads and writes (load the agent, record start, steps and finish) are short
 * PostgreSQL calls on the worker that runs the workflow: as local activities they run inside
 * its workflow task (a marker in the history) instead of a round trip through the server
 * each. Model, tool and channel calls stay activities (long, heartbeating, any worker).
 */
const storeLocal = proxyLocalActivities<Activities>({ startToCloseTimeout: '30s', retry: STORE_RETRY });
const STORE_AS_LOCAL_ACTIVITIES = 'store-as-local-activities';
/** Approvals bound to (step, call id, arguments) and used once. */
const APPROVAL_BINDING = 'approval-binding';

const model = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  // The activity heartbeats every second while the provider thinks: a dead worker is
  // noticed in 10 s, not after the whole start-to-close timeout.
  heartbeatTimeout: '10s',
  // 429/5xx/timeouts retry with this backoff, unless the provider's retry-after says
  // otherwise (the activity sets nextRetryDelay); 400/401/403 are non-retryable.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 6 },
});

const tools = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  // As for the model: the activity heartbeats while the tool runs, so a worker that dies
  // mid-call is noticed in 10 s and the call retried (same idempotency key) elsewhere.
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});

const channel = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

export const DEFAULT_APPROVAL_TIMEOUT_MS = 60 * 60 * 1000;

/** The failure type of an activity error (its ClawError code), if it has one; else `otherwise`. */
function failureCode(err: unknown, otherwise = 'RUN_FAILED'): string {
  let cause: unknown = err;
  while (cause && typeof cause === 'object') {
    if (cause instanceof ApplicationFailure && cause.type) return cause.type;
    cause = (cause as { cause?: unknown }).cause;
  }
  return otherwise;
}

function failureMessage(err: unknown): string {
  let cause: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  while (cause && typeof cause === 'object') {
    if (cause instanceof ApplicationFailure) message = cause.message;
    cause = (cause as { cause?: unknown }).cause;
  }
  return message;
}

/** Ends the run early, cleanly: caught below and turned into a result, not a failure. */
class EarlyEnd extends Error {
  constructor(readonly status: 'budget_exceeded' | 'cancelled', readonly reason: string, readonly budget: BudgetOutcome) {
    super(reason);
  }
}

export async function agentRun(input: AgentRunInput): Promise<AgentRunResult> {
  const { tenantId, agentId, runId } = input;

  // Signals and queries first, so nothing sent early is lost.
  const decisions = new Map<string, ApprovalDecision>();
  const pending = new Map<string, PendingApproval>();
  let cancelled: string | undefined;
  const work = new CancellationScope();
  // Runs started before approvals were bound to their call keep the old matching on replay.
  const bound = patched(APPROVAL_BINDING);
  setHandler(approvalSignal, (decision) => {
    const waiting = pending.get(decision.callId);
    if (!waiting || decisions.has(decision.callId)) return;
    if (bound && (decision.step !== waiting.step || decision.argsJson !== JSON.stringify(waiting.args ?? {}))) return;
    decisions.set(decision.callId, decision);
  });
  setHandler(cancelSignal, ({ reason }) => {
    cancelled ??= reason ?? 'cancelled by request';
    work.cancel();
  });
  setHandler(pendingApprovalsQuery, () => [...pending.values()]);

  const store = patched(STORE_AS_LOCAL_ACTIVITIES) ? storeLocal : storeActivities;
  const { agent, tools: toolSpecs, maxWallTimeMs, approvalTimeoutMs } = await store.loadAgent({ tenantId, agentId }).catch((err: unknown) => {
    // The workflow fails with the activity's code (UNKNOWN_AGENT, ...) as its own type.
    throw ApplicationFailure.nonRetryable(failureMessage(err), failureCode(err));
  });
  await store.startRun({ tenantId, agentId, runId, workflowId: workflowInfo().workflowId, message: input.message, channel: input.channel });

  const messages: ChatMessage[] = [...(input.history ?? []), { role: 'user', content: input.message }];
  const tally = { steps: 0, seq: 0, toolCalls: 0, inputTokens: 0, outputTokens: 0, model: undefined as string | undefined };
  const usage = () => ({ inputTokens: tally.inputTokens, outputTokens: tally.outputTokens });

  // Wall time: a deadline that moves out by the time spent parked on approvals.
  let deadline = Date.now() + maxWallTimeMs;
  let parked = 0;
  let wallExceeded = false;
  const wallClock = (async () => {
    for (;;) {
      await sleep(Math.max(1, deadline - Date.now()));
      if (parked > 0) await condition(() => parked === 0);
      if (Date.now() >= deadline && !wallExceeded) {
        wallExceeded = true;
        work.cancel();
        return;
      }
    }
  })();
  void wallClock;

  async function waitForApproval(call: ToolCall, seq: number): Promise<ApprovalDecision | undefined> {
    pending.set(call.id, { callId: call.id, agentId: input.agentId, tool: call.tool, step: seq, since: new Date().toISOString(), ...(bound ? { args: call.args } : {}) });
    await store.recordStep({ tenantId, agentId, runId, seq, kind: 'approval', name: call.tool, callId: call.id, status: 'waiting' });
    const parkedAt = Date.now();
    parked++;
    try {
      const decided = await condition(() => decisions.has(call.id), input.approvalTimeoutMs ?? approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS);
      const decision = decided ? decisions.get(call.id) : undefined;
      await store.recordStep({
        tenantId, agentId, runId, seq, kind: 'approval', name: call.tool, callId: call.id,
        status: decision ? (decision.approved ? 'approved' : 'rejected') : 'timeout',
        detail: decision?.by ? `by ${decision.by}` : undefined,
      });
      return decision;
    } finally {
      parked--;
      deadline += Date.now() - parkedAt;
      pending.delete(call.id);
      // Single use: the next call with this id waits for a decision of its own.
      if (bound) decisions.delete(call.id);
    }
  }

  async function loop(): Promise<string> {
    for (;;) {
      if (tally.steps >= agent.budget.maxSteps) throw new EarlyEnd('budget_exceeded', 'BUDGET_STEPS_EXCEEDED', 'steps');
      if (tally.inputTokens + tally.outputTokens >= agent.budget.maxTokens) throw new EarlyEnd('budget_exceeded', 'BUDGET_TOKENS_EXCEEDED', 'tokens');
      tally.steps++;
      const turn = await model.callModel({ tenantId, agentId, runId, step: ++tally.seq, model: agent.model, instructions: agent.instructions, messages, tools: toolSpecs });
      tally.model = turn.model;
      tally.inputTokens += turn.usage.inputTokens;
      tally.outputTokens += turn.usage.outputTokens;
      if (turn.kind === 'reply') return turn.text;
      messages.push({ role: 'assistant', content: turn.text, toolCalls: turn.calls });
      for (const call of turn.calls) {
        tally.toolCalls++;
        const seq = ++tally.seq;
        const request = { tenantId, agentId, runId, step: seq, call, channel: input.channel, budget: { stepsUsed: tally.steps, tokensUsed: tally.inputTokens + tally.outputTokens } };
        let outcome = await tools.callTool(request);
        if (outcome.status === 'approval-required') {
          const decision = await waitForApproval(call, seq);
          if (decision?.approved) outcome = await tools.callTool({ ...request, approved: true });
          else {
            const why = decision ? `a human rejected this call${decision.reason ? `: ${decision.reason}` : ''}` : 'no human approved this call in time';
            outcome = { decision: 'deny', status: 'denied', ok: false, content: JSON.stringify({ error: decision ? 'APPROVAL_REJECTED' : 'APPROVAL_TIMEOUT', message: why }) };
          }
        }
        messages.push({ role: 'tool', callId: call.id, tool: call.tool, content: outcome.content, ...(outcome.ok ? {} : { isError: true }) });
      }
    }
  }

  // Activities that record the end must run even when the work scope was cancelled. The end
  // takes the step after the last model or tool call (the reply's step, if there is one).
  const finish = (end: Pick<RunFinishInput, 'status' | 'outcome' | 'budget' | 'reply' | 'errorCode'>) =>
    CancellationScope.nonCancellable(() =>
      store.finishRun({
        tenantId, agentId, runId, seq: tally.seq + 1,
        steps: tally.steps, toolCalls: tally.toolCalls, inputTokens: tally.inputTokens, outputTokens: tally.outputTokens, model: tally.model,
        ...end,
      }),
    );

  let reply: string;
  try {
    reply = await work.run(loop);
  } catch (err) {
    let early: EarlyEnd | undefined;
    if (err instanceof EarlyEnd) early = err;
    else if (isCancellation(err) && wallExceeded) early = new EarlyEnd('budget_exceeded', 'BUDGET_WALL_TIME_EXCEEDED', 'wall_time');
    else if (isCancellation(err) && cancelled !== undefined) early = new EarlyEnd('cancelled', 'RUN_CANCELLED', 'within');
    if (early) {
      // The run ends cleanly: recorded (as failed with the reason as its code) and returned, not thrown.
      await finish({ status: 'failed', outcome: early.status, budget: early.budget, errorCode: early.reason });
      return { runId, status: early.status, reason: early.reason, budget: early.budget, model: tally.model, steps: tally.steps, toolCalls: tally.toolCalls, usage: usage() };
    }
    const code = failureCode(err);
    await finish({ status: 'failed', outcome: 'failed', budget: 'within', errorCode: code });
    throw ApplicationFailure.nonRetryable(failureMessage(err), code);
  }

  let delivered = false;
  if (input.replyTo && input.replyTo.channel !== 'none') {
    const replyTo = input.replyTo;
    try {
      // The reply is its own step: its idempotency key is (run, step), stable across retries.
      const sent = await CancellationScope.nonCancellable(() => channel.sendReply({ tenantId, agentId, runId, step: tally.seq + 1, replyTo, text: reply }));
      delivered = sent.delivered;
    } catch (err) {
      // The answer could not go out (all retries spent, or the channel refused it): the run
      // fails with the channel's code, recorded and traced like any other failure.
      const code = failureCode(err, 'CHANNEL_SEND_FAILED');
      await finish({ status: 'failed', outcome: 'failed', budget: 'within', errorCode: code });
      throw ApplicationFailure.nonRetryable(failureMessage(err), code);
    }
  }
  await finish({ status: 'completed', outcome: 'completed', budget: 'within', reply });
  return { runId, status: 'completed', reply, budget: 'within', model: tally.model, steps: tally.steps, toolCalls: tally.toolCalls, usage: usage(), delivered };
}
