/**
 * agentRun: the ask → model → (tools → model)* → reply loop of one run, durable on Temporal.
 * Everything with side effects (store, model, tools) is an activity; this code only decides.
 * Activities are imported as types only, so no adapter code reaches the workflow bundle.
 */
import { ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { AgentRunInput, AgentRunResult, ChatMessage, RunFinishInput } from './types.js';

const store = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', maximumInterval: '10s', maximumAttempts: 5 },
});

const model = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  // A provider's retry-after wins over this backoff (the activity sets nextRetryDelay).
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 6 },
});

const tools = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});

/** The failure type of an activity error (its ClawError code), if it has one. */
function failureCode(err: unknown): string {
  let cause: unknown = err;
  while (cause && typeof cause === 'object') {
    if (cause instanceof ApplicationFailure && cause.type) return cause.type;
    cause = (cause as { cause?: unknown }).cause;
  }
  return 'RUN_FAILED';
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

export async function agentRun(input: AgentRunInput): Promise<AgentRunResult> {
  const { tenantId, agentId, runId } = input;
  const { agent, tools: toolSpecs } = await store.loadAgent({ tenantId, agentId }).catch((err: unknown) => {
    throw ApplicationFailure.nonRetryable(failureMessage(err), failureCode(err));
  });
  await store.startRun({ tenantId, agentId, runId, workflowId: workflowInfo().workflowId, message: input.message });

  const messages: ChatMessage[] = [{ role: 'user', content: input.message }];
  const tally = { steps: 0, toolCalls: 0, inputTokens: 0, outputTokens: 0, model: undefined as string | undefined };
  const finish = (rest: Pick<RunFinishInput, 'status' | 'reply' | 'errorCode'>) =>
    store.finishRun({ tenantId, runId, steps: tally.steps, toolCalls: tally.toolCalls, inputTokens: tally.inputTokens, outputTokens: tally.outputTokens, model: tally.model, ...rest });

  try {
    for (;;) {
      if (tally.steps >= agent.budget.maxSteps) {
        throw ApplicationFailure.nonRetryable(`the run used its ${agent.budget.maxSteps} model steps without a reply`, 'BUDGET_STEPS_EXCEEDED');
      }
      if (tally.inputTokens + tally.outputTokens >= agent.budget.maxTokens) {
        throw ApplicationFailure.nonRetryable(`the run used its ${agent.budget.maxTokens} tokens without a reply`, 'BUDGET_TOKENS_EXCEEDED');
      }
      tally.steps++;
      const turn = await model.callModel({ tenantId, agentId, runId, step: tally.steps, model: agent.model, instructions: agent.instructions, messages, tools: toolSpecs });
      tally.model = turn.model;
      tally.inputTokens += turn.usage.inputTokens;
      tally.outputTokens += turn.usage.outputTokens;
      if (turn.kind === 'reply') {
        await finish({ status: 'completed', reply: turn.text });
        return {
          runId, status: 'completed', reply: turn.text, model: turn.model, steps: tally.steps, toolCalls: tally.toolCalls,
          usage: { inputTokens: tally.inputTokens, outputTokens: tally.outputTokens },
        };
      }
      messages.push({ role: 'assistant', content: turn.text, toolCalls: turn.calls });
      for (const call of turn.calls) {
        tally.toolCalls++;
        const outcome = await tools.callTool({
          tenantId, agentId, runId, step: tally.steps, call, channel: input.channel,
          budget: { stepsUsed: tally.steps, tokensUsed: tally.inputTokens + tally.outputTokens },
        });
        messages.push({ role: 'tool', callId: call.id, tool: call.tool, content: outcome.content, ...(outcome.ok ? {} : { isError: true }) });
      }
    }
  } catch (err) {
    const code = failureCode(err);
    await finish({ status: 'failed', errorCode: code });
    throw ApplicationFailure.nonRetryable(failureMessage(err), code);
  }
}
