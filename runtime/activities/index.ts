/**
 * The run activities, built by a factory over their dependencies (ports), so the worker
 * wires real adapters and tests wire local ones. Everything with a side effect is here;
 * the workflows only decide.
 *
 * Failures: errors a user can fix (ClawError) become non-retryable failures typed with
 * their code; a provider's 429/5xx/timeout stays retryable and waits as long as the
 * provider asked (`nextRetryDelay` from retry-after).
 *
 * Traces (DESIGN.md "Traces"): every step of a run goes to the TraceSink as it happens —
 * the ask, each model call attempt (a retry is an attempt that failed), each tool call
 * with its Cedar decision and determining policies, approval waits and decisions, each
 * (scrubbed) result, the reply and the end with its budget outcome. See `traceSeq` for
 * how events are numbered. Recording a trace never fails a run: a failed emit is logged.
 *
 * Exactly once: every effect carries an idempotency key derived from (run, step). Tools get
 * it from the executor; replies go through an outbox (sent_effects) checked before sending.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { durationMs, type Agent } from '../../core/config/schema.js';
import { grantName } from '../../core/config/load.js';
import { isClawError } from '../../core/errors.js';
import { ChannelError, type ChannelSender } from '../channels/outbound.js';
import { ModelError, modelAdapterFor, type ModelTurn, type ToolSpec } from '../models/index.js';
import type { AuthorizationDecision, SecretStore, ToolCallRequest, ToolResult, TraceEvent, TraceSink } from '../ports.js';
import type { MetadataStore } from '../store/metadata.js';
import { traceEvents, type RunContext } from '../traces/events.js';
import type {
  LoadedAgent, ModelCallInput, ReplyInput, RunFinishInput, RunStartInput, StepRecordInput, ToolCallInput, ToolCallOutcome,
} from '../workflows/types.js';
import type { ReplyOutbox } from './outbox.js';

/** runtime/tools' `runToolCall` (Cedar → approval → broker → sandbox → scrub), bound to the worker's tool runtime. */
export type ToolCallFn = (
  request: ToolCallRequest & { callId: string; idempotencyKey: string },
  options: { approved?: boolean },
) => Promise<{
  status: 'denied' | 'approval-required' | 'done';
  decision: AuthorizationDecision;
  ok: boolean;
  /** What the model sees (JSON text), scrubbed. */
  content: string;
  /** When it ran: the scrubbed result, its sandbox and the tool's (scrubbed) log lines. */
  result?: ToolResult & { logs?: string[] };
}>;

export interface ActivityDeps {
  store: MetadataStore;
  secrets: SecretStore;
  /** Every tool call goes through this: the worker binds runtime/tools' runToolCall. */
  toolCall: ToolCallFn;
  /** Every tool that exists (built-ins and claw.yaml's `tools:`), as the model is told about them. */
  toolCatalog: () => Map<string, ToolSpec>;
  /** Where the run's trace goes (the worker's TraceWriter). `flush`, if there, lands a run's events when it ends. */
  traces?: TraceSink & { flush?(): Promise<void> };
  /** Told when a trace emit failed (the run goes on); default: one line on stderr. Never gets content. */
  onTraceError?: (err: unknown, events: Pick<TraceEvent, 'tenantId' | 'runId' | 'seq' | 'kind'>[]) => void;
  /** The reply outbox (exactly-once replies). Without it, a retried send may go out twice. */
  outbox?: Pick<ReplyOutbox, 'sentEffect' | 'recordEffect'>;
  /** Outbound channels. Without it, replies are recorded but not delivered. */
  channels?: ChannelSender;
  /** Injected for tests of the HTTP adapters; defaults to global fetch. */
  fetch?: typeof fetch;
  /** How often a model or tool call heartbeats while in flight (ms). */
  heartbeatMs?: number;
}

/**
 * Where an event sits in its run's trace: `step * 10 + phase`, with `step` the
 * workflow's deterministic step counter (0 for the start), and the attempt number of
 * the activity as its own attribute. Stable across activity retries, worker restarts
 * and workflow replays; monotonic in the order things happen within a step.
 */
export const TRACE_PHASE = {
  start: 0,
  ask: 1,
  /** A model call's attempts, or a tool call's first authorization. */
  call: 0,
  approvalWait: 1,
  approvalDecided: 2,
  /** The authorization again after a human approved. */
  approvedCall: 3,
  result: 4,
  reply: 0,
  end: 5,
} as const;

export function traceSeq(step: number, phase: number): number {
  return step * 10 + phase;
}

/** Rethrow as a Temporal failure whose type is the stable code. */
function asFailure(err: unknown): never {
  if (err instanceof ModelError || err instanceof ChannelError) {
    throw ApplicationFailure.create({
      type: err.code,
      message: err.message,
      nonRetryable: !err.retryable,
      nextRetryDelay: err.retryAfterMs,
    });
  }
  if (isClawError(err)) throw ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: true });
  throw err;
}

/** A failure as trace metadata: its code, HTTP status, the wait asked for; never content. */
function failureDetail(err: unknown): { code: string; status?: number; retryAfterMs?: number; retryable: boolean } {
  if (err instanceof ModelError || err instanceof ChannelError) {
    return { code: err.code, status: err.status, retryAfterMs: err.retryAfterMs, retryable: err.retryable };
  }
  if (isClawError(err)) return { code: err.code, retryable: false };
  return { code: (err as Error)?.name || 'ERROR', retryable: true };
}

export function createActivities(deps: ActivityDeps) {
  const onTraceError =
    deps.onTraceError ??
    ((err, events) => {
      const first = events[0];
      console.error(`traces: could not record ${events.length} event(s) of run ${first?.tenantId}/${first?.runId} (${events.map((e) => `${e.seq}:${e.kind}`).join(', ')}): ${(err as Error)?.message ?? err}`);
    });

  /** Durable when it returns (the writer's WAL); a failure is reported, never thrown into the run. */
  async function emit(...events: TraceEvent[]): Promise<void> {
    if (!deps.traces || events.length === 0) return;
    try {
      await deps.traces.emit(events);
    } catch (err) {
      onTraceError(err, events.map(({ tenantId, runId, seq, kind }) => ({ tenantId, runId, seq, kind })));
    }
  }

  async function agentSpec(tenantId: string, agentId: string): Promise<Agent> {
    const stored = await deps.store.getAgent(tenantId, agentId);
    if (!stored) throw ApplicationFailure.create({ type: 'UNKNOWN_AGENT', message: `tenant '${tenantId}' has no agent '${agentId}'`, nonRetryable: true });
    return stored.spec as Agent;
  }

  return {
    async loadAgent({ tenantId, agentId }: { tenantId: string; agentId: string }): Promise<LoadedAgent> {
      const record = await deps.store.getAgent(tenantId, agentId);
      if (!record) {
        throw ApplicationFailure.create({ type: 'UNKNOWN_AGENT', message: `tenant '${tenantId}' has no agent '${agentId}'`, nonRetryable: true });
      }
      const catalog = deps.toolCatalog();
      const tools = record.spec.tools.map(grantName).flatMap((name) => {
        const spec = catalog.get(name);
        return spec ? [spec] : [];
      });
      const agent = record.spec as Agent;
      return {
        agent, revision: record.revision, tools,
        maxWallTimeMs: durationMs(agent.budget.maxWallTime),
        approvalTimeoutMs: agent.budget.approvalTimeout ? durationMs(agent.budget.approvalTimeout) : undefined,
      };
    },

    async startRun({ runId, channel, ...run }: RunStartInput): Promise<void> {
      await deps.store.startRun({ id: runId, ...run });
      const ctx: RunContext = { tenantId: run.tenantId, agentId: run.agentId, runId };
      await emit(
        traceEvents.runStart(ctx, traceSeq(0, TRACE_PHASE.start), { channel }),
        traceEvents.ask(ctx, traceSeq(0, TRACE_PHASE.ask), { text: run.message, channel }),
      );
    },

    /**
     * The run's end: its record, then the reply and the end in the trace, at the step and
     * with the outcome the workflow says, landed at once.
     */
    async finishRun(finish: RunFinishInput): Promise<void> {
      const { tenantId, agentId, runId, seq, outcome, budget, ...record } = finish;
      await deps.store.finishRun(tenantId, runId, record);
      const ctx: RunContext = { tenantId, agentId, runId };
      const events: TraceEvent[] = [];
      if (finish.status === 'completed' && finish.reply !== undefined) events.push(traceEvents.reply(ctx, traceSeq(seq, TRACE_PHASE.reply), { text: finish.reply }));
      events.push(
        traceEvents.runEnd(ctx, traceSeq(seq, TRACE_PHASE.end), {
          status: outcome,
          budgetOutcome: budget,
          stepsUsed: finish.steps,
          tokensUsed: finish.inputTokens + finish.outputTokens,
          reason: finish.status === 'completed' ? undefined : finish.errorCode,
        }),
      );
      await emit(...events);
      // `claw runs show` right after the run: its events are in the lake, not only in the WAL.
      await deps.traces?.flush?.().catch((err: unknown) => onTraceError(err, []));
    },

    /** Workflow-side steps: approval waits and decisions (the end is recorded by finishRun). */
    async recordStep(step: StepRecordInput): Promise<void> {
      if (step.kind !== 'approval' || !step.callId) return;
      const ctx: RunContext = { tenantId: step.tenantId, agentId: step.agentId, runId: step.runId };
      const outcome = step.status === 'waiting' || step.status === 'approved' || step.status === 'rejected' || step.status === 'timeout' ? step.status : undefined;
      if (!outcome) return;
      const approver = step.detail?.startsWith('by ') ? step.detail.slice(3) : undefined;
      await emit(
        traceEvents.approval(ctx, traceSeq(step.seq, outcome === 'waiting' ? TRACE_PHASE.approvalWait : TRACE_PHASE.approvalDecided), {
          tool: step.name ?? '?',
          callId: step.callId,
          outcome,
          approver,
        }),
      );
    },

    /**
     * One model call. It heartbeats while the provider thinks, so a worker that dies
     * mid-call is noticed within the heartbeat timeout and the call is retried elsewhere;
     * a cancelled run aborts the HTTP request. Each attempt is one event in the trace.
     */
    async callModel(input: ModelCallInput): Promise<ModelTurn> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      const started = Date.now();
      const run: RunContext = { tenantId: input.tenantId, agentId: input.agentId, runId: input.runId };
      const requested = input.model.provider === 'scripted' ? 'scripted' : input.model.model;
      const beat = setInterval(() => ctx.heartbeat({ step: input.step }), deps.heartbeatMs ?? 1_000);
      try {
        const adapter = await modelAdapterFor(input.model, { tenantId: input.tenantId, secrets: deps.secrets, fetch: deps.fetch });
        const turn = await adapter.complete({ instructions: input.instructions, messages: input.messages, tools: input.tools }, { signal: ctx.cancellationSignal });
        await emit(
          traceEvents.modelCall(run, traceSeq(input.step, TRACE_PHASE.call), {
            provider: input.model.provider,
            model: requested,
            inputTokens: turn.usage.inputTokens,
            outputTokens: turn.usage.outputTokens,
            durationMs: Date.now() - started,
            attempt,
            status: 'ok',
            finishReasons: [turn.kind === 'reply' ? 'stop' : 'tool_calls'],
            output: turn.kind === 'reply' ? { text: turn.text } : { text: turn.text, toolCalls: turn.calls },
          }),
        );
        return turn;
      } catch (err) {
        const failure = failureDetail(err);
        await emit(
          traceEvents.modelCall(run, traceSeq(input.step, TRACE_PHASE.call), {
            provider: input.model.provider,
            model: requested,
            durationMs: Date.now() - started,
            attempt,
            status: 'error',
            errorType: failure.code,
            httpStatus: failure.status,
            retryAfterMs: failure.retryAfterMs,
            retryable: failure.retryable,
          }),
        );
        asFailure(err);
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * Authorize (Cedar), then execute; a denial is an answer the model sees, not a failure.
     * It heartbeats while the tool runs, so a worker that dies mid-call is noticed within the
     * heartbeat timeout and the call is retried elsewhere (with the same idempotency key).
     */
    async callTool(input: ToolCallInput): Promise<ToolCallOutcome> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      const started = Date.now();
      const run: RunContext = { tenantId: input.tenantId, agentId: input.agentId, runId: input.runId };
      const request = {
        tenantId: input.tenantId,
        agentId: input.agentId,
        runId: input.runId,
        tool: input.call.tool,
        args: input.call.args,
        channel: input.channel,
        budget: input.budget,
        callId: input.call.id,
        // (run, step, call): stable across activity retries and worker restarts.
        idempotencyKey: `${input.tenantId}/${input.runId}/${input.step}/${input.call.id}`,
      };
      const named = { tool: input.call.tool, callId: input.call.id, attempt };
      const resultSeq = traceSeq(input.step, TRACE_PHASE.result);
      let outcome: Awaited<ReturnType<ToolCallFn>>;
      const beat = setInterval(() => ctx.heartbeat({ step: input.step }), deps.heartbeatMs ?? 1_000);
      try {
        outcome = await deps.toolCall(request, { approved: input.approved });
      } catch (err) {
        const failure = failureDetail(err);
        await emit(
          traceEvents.toolResult(run, resultSeq, {
            ...named,
            result: { ok: false, output: null, error: { code: failure.code, message: 'the tool call failed before it ran' }, sandbox: 'none', durationMs: Date.now() - started },
          }),
        );
        asFailure(err);
      } finally {
        clearInterval(beat);
      }
      const events = [
        traceEvents.toolCall(run, traceSeq(input.step, input.approved ? TRACE_PHASE.approvedCall : TRACE_PHASE.call), {
          ...named,
          decision: outcome.decision,
          args: input.call.args,
          approved: input.approved,
        }),
      ];
      if (outcome.status === 'done') {
        const result: ToolResult = outcome.result ?? { ok: outcome.ok, output: safeJson(outcome.content), sandbox: 'none', durationMs: Date.now() - started };
        events.push(traceEvents.toolResult(run, resultSeq, { ...named, result, logs: outcome.result?.logs }));
      }
      await emit(...events);
      return { decision: outcome.decision.decision, status: outcome.status, ok: outcome.ok, content: outcome.content };
    },

    /**
     * Send the run's reply through its channel, at most once per (run, step): the outbox is
     * checked first, and the channel gets the same idempotency key on every attempt.
     */
    async sendReply(input: ReplyInput): Promise<{ delivered: boolean; messageId?: string; duplicate?: boolean }> {
      const idempotencyKey = `${input.tenantId}/${input.runId}/${input.step}/reply`;
      const already = await deps.outbox?.sentEffect(idempotencyKey);
      if (already) return { delivered: true, messageId: already.messageId, duplicate: true };
      if (!deps.channels) return { delivered: false };
      const agent = await agentSpec(input.tenantId, input.agentId);
      const channel = agent.channels.find((c) => c.type === input.replyTo.channel);
      if (!channel) {
        throw ApplicationFailure.create({ type: 'CHANNEL_NOT_CONFIGURED', message: `agent '${input.agentId}' has no ${input.replyTo.channel} channel any more`, nonRetryable: true });
      }
      try {
        const sent = await deps.channels.send({ tenantId: input.tenantId, channel, replyTo: input.replyTo, text: input.text, idempotencyKey });
        await deps.outbox?.recordEffect({ idempotencyKey, tenantId: input.tenantId, runId: input.runId, channel: channel.type, messageId: sent.messageId });
        return { delivered: true, messageId: sent.messageId };
      } catch (err) {
        asFailure(err);
      }
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export type Activities = ReturnType<typeof createActivities>;
