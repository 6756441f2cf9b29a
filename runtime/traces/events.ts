/**
 * Builders for the events of a run. Callers (the worker's activities) use these and never
 * spell attribute names themselves, so every event carries the same conventions.
 * Attributes hold metadata only; prompts, completions, arguments and results go in
 * `content`, which the writer seals under the tenant key before it touches disk.
 */
import type { AuthorizationDecision, ToolResult, TraceEvent } from '../ports.js';
import { CLAW, GEN_AI, GEN_AI_OPERATION } from './model.js';

export interface RunContext {
  tenantId: string;
  agentId: string;
  runId: string;
  /** Event time; defaults to now. */
  time?: Date;
}

type Attributes = TraceEvent['attributes'];

function event(ctx: RunContext, seq: number, kind: TraceEvent['kind'], attributes: Attributes, content?: unknown): TraceEvent {
  if (!Number.isInteger(seq) || seq < 0) throw new Error(`trace seq must be a non-negative integer, got ${seq}`);
  const base: Attributes = { [GEN_AI.agentId]: ctx.agentId, [CLAW.tenant]: ctx.tenantId, [CLAW.run]: ctx.runId };
  const clean: Attributes = {};
  for (const [key, value] of Object.entries({ ...base, ...attributes })) if (value !== undefined) clean[key] = value;
  return {
    tenantId: ctx.tenantId,
    agentId: ctx.agentId,
    runId: ctx.runId,
    seq,
    time: (ctx.time ?? new Date()).toISOString(),
    kind,
    attributes: clean,
    ...(content === undefined ? {} : { content }),
  };
}

export const traceEvents = {
  runStart(ctx: RunContext, seq: number, opts: { channel?: string; conversationId?: string } = {}): TraceEvent {
    return event(ctx, seq, 'run.start', {
      [GEN_AI.operationName]: GEN_AI_OPERATION.invokeAgent,
      [CLAW.channel]: opts.channel ?? null,
      [GEN_AI.conversationId]: opts.conversationId ?? null,
    });
  },

  ask(ctx: RunContext, seq: number, opts: { text: string; channel?: string }): TraceEvent {
    return event(ctx, seq, 'ask', { [CLAW.channel]: opts.channel ?? null }, { text: opts.text });
  },

  modelCall(
    ctx: RunContext,
    seq: number,
    opts: {
      provider: string;
      model: string;
      inputTokens?: number;
      outputTokens?: number;
      durationMs: number;
      attempt?: number;
      status: 'ok' | 'error';
      errorType?: string;
      /** The provider's HTTP status on a failed attempt. */
      httpStatus?: number;
      /** The wait the provider asked for (retry-after), in ms. */
      retryAfterMs?: number;
      /** Whether a failed attempt is retried. */
      retryable?: boolean;
      finishReasons?: string[];
      /** Messages sent (content: sealed). */
      input?: unknown;
      /** Completion received (content: sealed). */
      output?: unknown;
    },
  ): TraceEvent {
    const content = opts.input === undefined && opts.output === undefined ? undefined : { input: opts.input, output: opts.output };
    return event(
      ctx,
      seq,
      'model.call',
      {
        [GEN_AI.operationName]: GEN_AI_OPERATION.chat,
        [GEN_AI.providerName]: opts.provider,
        [GEN_AI.requestModel]: opts.model,
        [GEN_AI.inputTokens]: opts.inputTokens ?? null,
        [GEN_AI.outputTokens]: opts.outputTokens ?? null,
        [GEN_AI.responseFinishReasons]: opts.finishReasons ?? null,
        [CLAW.durationMs]: opts.durationMs,
        [CLAW.attempt]: opts.attempt ?? 1,
        [CLAW.status]: opts.status,
        [GEN_AI.errorType]: opts.errorType ?? null,
        [GEN_AI.httpStatus]: opts.httpStatus ?? null,
        [CLAW.retryAfterMs]: opts.retryAfterMs ?? null,
        [CLAW.retryable]: opts.retryable ?? null,
      },
      content,
    );
  },

  /**
   * An authorization decision on a tool call. `approved`: the re-authorization after a
   * human approved (a policy change made while the call waited still wins).
   */
  toolCall(
    ctx: RunContext,
    seq: number,
    opts: { tool: string; callId: string; decision: AuthorizationDecision; args: unknown; attempt?: number; approved?: boolean },
  ): TraceEvent {
    const { decision } = opts;
    const reasons = decision.determining.map((p) => p.annotations.reason).filter((r): r is string => typeof r === 'string');
    return event(
      ctx,
      seq,
      'tool.call',
      {
        [GEN_AI.operationName]: GEN_AI_OPERATION.executeTool,
        [GEN_AI.toolName]: opts.tool,
        [GEN_AI.toolCallId]: opts.callId,
        [GEN_AI.toolType]: 'function',
        [CLAW.decision]: decision.decision,
        [CLAW.policies]: decision.determining.map((p) => p.annotations.id ?? p.id),
        [CLAW.reasons]: reasons.length > 0 ? reasons : null,
        [CLAW.requiresApproval]: decision.requiresApproval,
        [CLAW.shadowDecision]: decision.shadow?.decision ?? null,
        [CLAW.shadowPolicies]: decision.shadow ? decision.shadow.determining.map((p) => p.annotations.id ?? p.id) : null,
        [CLAW.authzErrors]: decision.errors.length > 0 ? decision.errors : null,
        [CLAW.approval]: opts.approved ? 'approved' : null,
        [CLAW.attempt]: opts.attempt ?? 1,
      },
      { args: opts.args },
    );
  },

  /** A tool call parked for a human ('waiting'), and how that ended. */
  approval(ctx: RunContext, seq: number, opts: { tool: string; callId: string; outcome: 'waiting' | 'approved' | 'rejected' | 'timeout'; approver?: string }): TraceEvent {
    return event(ctx, seq, 'approval', {
      [GEN_AI.toolName]: opts.tool,
      [GEN_AI.toolCallId]: opts.callId,
      [CLAW.approval]: opts.outcome,
      [CLAW.approver]: opts.approver ?? null,
    });
  },

  /** `result` is already scrubbed of every secret the broker handed out; `logs` too. */
  toolResult(ctx: RunContext, seq: number, opts: { tool: string; callId: string; result: ToolResult; attempt?: number; logs?: string[] }): TraceEvent {
    const { result } = opts;
    return event(
      ctx,
      seq,
      'tool.result',
      {
        [GEN_AI.operationName]: GEN_AI_OPERATION.executeTool,
        [GEN_AI.toolName]: opts.tool,
        [GEN_AI.toolCallId]: opts.callId,
        [CLAW.status]: result.ok ? 'ok' : 'error',
        [GEN_AI.errorType]: result.error?.code ?? null,
        [CLAW.sandbox]: result.sandbox,
        [CLAW.durationMs]: result.durationMs,
        [CLAW.attempt]: opts.attempt ?? 1,
      },
      { output: result.output, error: result.error?.message, ...(opts.logs?.length ? { logs: opts.logs } : {}) },
    );
  },

  reply(ctx: RunContext, seq: number, opts: { text: string; channel?: string }): TraceEvent {
    return event(ctx, seq, 'reply', { [CLAW.channel]: opts.channel ?? null }, { text: opts.text });
  },

  runEnd(
    ctx: RunContext,
    seq: number,
    opts: {
      status: 'completed' | 'failed' | 'cancelled' | 'budget_exceeded';
      budgetOutcome: 'within' | 'steps' | 'tokens' | 'wall_time';
      stepsUsed: number;
      tokensUsed: number;
      durationMs?: number;
      /** Why a run did not complete: its stable code (MODEL_AUTH_FAILED, BUDGET_STEPS_EXCEEDED, RUN_CANCELLED, ...). */
      reason?: string;
    },
  ): TraceEvent {
    return event(ctx, seq, 'run.end', {
      [GEN_AI.operationName]: GEN_AI_OPERATION.invokeAgent,
      [CLAW.status]: opts.status,
      [CLAW.budgetOutcome]: opts.budgetOutcome,
      [CLAW.stepsUsed]: opts.stepsUsed,
      [CLAW.tokensUsed]: opts.tokensUsed,
      [CLAW.durationMs]: opts.durationMs ?? null,
      [GEN_AI.errorType]: opts.reason ?? null,
    });
  },

  error(ctx: RunContext, seq: number, opts: { errorType: string; message: string }): TraceEvent {
    return event(ctx, seq, 'error', { [GEN_AI.errorType]: opts.errorType, [CLAW.status]: 'error' }, { message: opts.message });
  },
};
