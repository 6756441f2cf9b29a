/**
 * conversation: one workflow per (tenant, agent, channel, thread), fed by the gateway's
 * signalWithStart. It serializes the thread's messages into runs — each message is one
 * agentRun child (`<tenant>/run/<runId>`), answered in order, with the conversation's
 * recent history — and drops redeliveries: a delivery id already seen is ignored, and a
 * run id is derived from the delivery id, so even a redelivery that reaches a later
 * execution maps to a run Temporal refuses to start twice.
 *
 * History stays small: the workflow continues-as-new (carrying its queue, the recent
 * delivery ids and the recent turns) when Temporal suggests it or after
 * `turnsPerExecution` turns; it completes after a day without messages, and the next
 * message starts it afresh.
 *
 * A conversation still on a legacy per-tenant queue (started before the shared queue)
 * moves itself: at its next turn it continues-as-new onto the shared queue, carrying
 * everything, behind a patch so histories recorded before the move replay unchanged.
 */
import {
  ApplicationFailure, ParentClosePolicy, WorkflowIdReusePolicy, condition, executeChild, log, makeContinueAsNewFunc, patched, setHandler, workflowInfo,
} from '@temporalio/workflow';
import type { InboundMessage } from '../channels/types.js';
import { agentRun } from './agent-run.js';
import { LEGACY_TASK_QUEUE_PREFIX, RUNTIME_TASK_QUEUE, agentRunWorkflowId, runIdFor } from './names.js';
import { inboundSignal } from './signals.js';
import type { AgentRunResult, ChatMessage, ConversationInput } from './types.js';

const SEEN_KEPT = 1_000;
const HISTORY_KEPT = 20;
const IDLE_MS = 24 * 60 * 60 * 1000;
const DEFAULT_TURNS_PER_EXECUTION = 200;
/** The patch id of the move from a legacy per-tenant queue to the shared one. */
export const MOVE_TO_SHARED_QUEUE_PATCH = 'claw-shared-task-queue';

function childFailureCode(err: unknown): string {
  let cause: unknown = err;
  while (cause && typeof cause === 'object') {
    if (cause instanceof ApplicationFailure && cause.type) return cause.type;
    cause = (cause as { cause?: unknown }).cause;
  }
  return 'RUN_FAILED';
}

export async function conversation(input: ConversationInput): Promise<{ turns: number }> {
  const { key } = input;
  const queue: InboundMessage[] = [];
  const seen = new Set<string>(input.seen ?? []);
  const history: ChatMessage[] = [...(input.history ?? [])];
  let turns = input.turns ?? 0;
  let turnsHere = 0;

  const accept = (message: InboundMessage) => {
    if (seen.has(message.deliveryId)) return; // a redelivery (channel retry, second gateway)
    seen.add(message.deliveryId);
    queue.push(message);
  };
  // What continue-as-new carried was accepted (so is in `seen`) but not handled yet: it is
  // queued as given, not deduplicated against `seen` — that would drop it.
  for (const message of input.initial ?? []) {
    if (!queue.some((queued) => queued.deliveryId === message.deliveryId)) queue.push(message);
    seen.add(message.deliveryId);
  }
  setHandler(inboundSignal, accept);

  const conversationId = workflowInfo().workflowId;
  for (;;) {
    if (queue.length === 0) {
      const more = await condition(() => queue.length > 0, IDLE_MS);
      if (!more) return { turns };
    }
    const onLegacyQueue = workflowInfo().taskQueue.startsWith(LEGACY_TASK_QUEUE_PREFIX);
    const moving = onLegacyQueue && patched(MOVE_TO_SHARED_QUEUE_PATCH);
    if (moving || turnsHere >= (input.turnsPerExecution ?? DEFAULT_TURNS_PER_EXECUTION) || workflowInfo().continueAsNewSuggested) {
      // Everything not yet handled travels with us; signals that arrive meanwhile go to the next execution.
      await makeContinueAsNewFunc<typeof conversation>(moving ? { taskQueue: RUNTIME_TASK_QUEUE } : {})({
        key, initial: queue.splice(0), seen: [...seen].slice(-SEEN_KEPT), history: history.slice(-HISTORY_KEPT), turns, turnsPerExecution: input.turnsPerExecution,
      });
    }
    const message = queue.shift()!;
    // (A schedule's fires are separate executions whose workflow ids carry the fire time.)
    const runId = runIdFor(conversationId, message.deliveryId);
    turns++;
    turnsHere++;
    let result: AgentRunResult | undefined;
    try {
      result = await executeChild(agentRun, {
        workflowId: agentRunWorkflowId(key.tenantId, runId),
        args: [{
          tenantId: key.tenantId, agentId: key.agentId, runId, message: message.text, channel: key.channel,
          history: history.slice(-HISTORY_KEPT), replyTo: message.replyTo,
        }],
        // A run id is used once, ever: a redelivery that slipped past `seen` cannot run twice.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        // A run outlives a terminated conversation (it still answers, and is recorded).
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    } catch (err) {
      // A failed run (e.g. MODEL_AUTH_FAILED) is recorded by the run itself; the
      // conversation goes on with the next message. An already-started id is a duplicate.
      const code = childFailureCode(err);
      if ((err as Error)?.name !== 'WorkflowExecutionAlreadyStartedError') log.warn('run ended without a reply', { runId, code });
    }
    if (result?.status === 'completed' && result.reply !== undefined) {
      history.push({ role: 'user', content: message.text }, { role: 'assistant', content: result.reply });
      history.splice(0, Math.max(0, history.length - HISTORY_KEPT));
    }
  }
}
