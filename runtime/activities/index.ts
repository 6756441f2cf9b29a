/**
 * The run activities, built by a factory over their dependencies (ports), so the worker
 * wires real adapters and tests wire local ones. Everything with a side effect is here;
 * the workflows only decide.
 *
 * Failures: errors a user can fix (ClawError) become non-retryable failures typed with
 * their code; a provider's 429/5xx/timeout stays retryable and waits as long as the
 * provider asked (`nextRetryDelay` from retry-after). Each attempt of a model call, tool
 * call or reply is written to run_steps (metadata only), which is how retries show in
 * `claw runs show`.
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
import type { AuthorizationDecision, Authorizer, SecretStore, ToolCallRequest, ToolExecutor } from '../ports.js';
import type { MetadataStore } from '../store/metadata.js';
import type {
  LoadedAgent, ModelCallInput, ReplyInput, RunFinishInput, RunStartInput, StepRecordInput, ToolCallInput, ToolCallOutcome,
} from '../workflows/types.js';
import type { RunSteps } from './run-steps.js';

/** CAPABILITY's `runToolCall` (runtime/tools), bound to the worker's tool runtime. */
export type ToolCallFn = (
  request: ToolCallRequest & { callId: string; idempotencyKey: string },
  options: { approved?: boolean },
) => Promise<{ status: 'denied' | 'approval-required' | 'done'; decision: AuthorizationDecision; ok: boolean; content: string }>;

export interface ActivityDeps {
  store: MetadataStore;
  secrets: SecretStore;
  /** Used when `toolCall` is not given: authorize with this, then run with `tools`. */
  authorizer: Authorizer;
  tools: ToolExecutor;
  /** CAPABILITY's tool runtime (Cedar, broker, sandboxes); preferred over authorizer+tools. */
  toolCall?: ToolCallFn;
  /** Every tool that exists (built-ins and claw.yaml's `tools:`), as the model is told about them. */
  toolCatalog: () => Map<string, ToolSpec>;
  /** Per-attempt step records and the reply outbox. Without it, runs show no step detail. */
  steps?: RunSteps;
  /** Outbound channels. Without it, replies are recorded but not delivered. */
  channels?: ChannelSender;
  /** Injected for tests of the HTTP adapters; defaults to global fetch. */
  fetch?: typeof fetch;
  /** How often a model call heartbeats while in flight (ms). */
  heartbeatMs?: number;
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

/** One line about a failure for run_steps: its status and the wait asked for, never content. */
function failureDetail(err: unknown): { code: string; detail: string } {
  if (err instanceof ModelError || err instanceof ChannelError) {
    const parts = [err.status ? `HTTP ${err.status}` : err.code, err.retryable ? 'retryable' : 'not retryable'];
    if (err.retryAfterMs !== undefined) parts.push(`retry after ${err.retryAfterMs} ms`);
    return { code: err.code, detail: parts.join(', ') };
  }
  if (isClawError(err)) return { code: err.code, detail: 'not retryable' };
  return { code: (err as Error)?.name ?? 'ERROR', detail: 'retryable' };
}

export function createActivities(deps: ActivityDeps) {
  const record: RunSteps['record'] = async (step) => {
    // Step records are for people; losing one must not fail the run.
    await deps.steps?.record(step).catch(() => undefined);
  };

  async function agentSpec(tenantId: string, agentId: string): Promise<Agent> {
    const stored = await deps.store.getAgent(tenantId, agentId);
    if (!stored) throw ApplicationFailure.create({ type: 'UNKNOWN_AGENT', message: `tenant '${tenantId}' has no agent '${agentId}'`, nonRetryable: true });
    return stored.spec as Agent;
  }

  async function defaultToolCall(request: ToolCallRequest & { callId: string; idempotencyKey: string }, approved: boolean): Promise<Awaited<ReturnType<ToolCallFn>>> {
    const decision = await deps.authorizer.authorize(request);
    if (decision.decision === 'deny') {
      return { status: 'denied', decision, ok: false, content: JSON.stringify({ error: `tool '${request.tool}' denied by policy`, policies: decision.determining.map((p) => p.id) }) };
    }
    if (decision.requiresApproval && !approved) {
      return { status: 'approval-required', decision, ok: false, content: JSON.stringify({ status: 'AWAITING_APPROVAL', message: `a human must approve this call to ${request.tool}` }) };
    }
    const result = await deps.tools.execute(request);
    return {
      status: 'done',
      decision,
      ok: result.ok,
      content: JSON.stringify(result.ok ? result.output : { error: result.error ?? { code: 'TOOL_FAILED', message: 'the tool failed' } }),
    };
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

    async startRun({ runId, ...run }: RunStartInput): Promise<void> {
      await deps.store.startRun({ id: runId, ...run });
    },

    async finishRun({ tenantId, runId, ...finish }: RunFinishInput): Promise<void> {
      await deps.store.finishRun(tenantId, runId, finish);
    },

    /** Workflow-side steps (approval waits and decisions, the end of a run). */
    async recordStep(step: StepRecordInput): Promise<void> {
      await record({ ...step, attempt: 1 });
    },

    /**
     * One model call. It heartbeats while the provider thinks, so a worker that dies
     * mid-call is noticed within the heartbeat timeout and the call is retried elsewhere;
     * a cancelled run aborts the HTTP request.
     */
    async callModel(input: ModelCallInput): Promise<ModelTurn> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      const started = Date.now();
      const beat = setInterval(() => ctx.heartbeat({ step: input.step }), deps.heartbeatMs ?? 1_000);
      try {
        const adapter = await modelAdapterFor(input.model, { tenantId: input.tenantId, secrets: deps.secrets, fetch: deps.fetch });
        const turn = await adapter.complete({ instructions: input.instructions, messages: input.messages, tools: input.tools }, { signal: ctx.cancellationSignal });
        await record({
          tenantId: input.tenantId, runId: input.runId, seq: input.step, attempt, kind: 'model', name: turn.model, status: 'ok',
          code: turn.kind, durationMs: Date.now() - started, inputTokens: turn.usage.inputTokens, outputTokens: turn.usage.outputTokens,
        });
        return turn;
      } catch (err) {
        const { code, detail } = failureDetail(err);
        const name = input.model.provider === 'scripted' ? 'scripted' : input.model.model;
        await record({ tenantId: input.tenantId, runId: input.runId, seq: input.step, attempt, kind: 'model', name, status: 'error', code, detail, durationMs: Date.now() - started });
        asFailure(err);
      } finally {
        clearInterval(beat);
      }
    },

    /** Authorize, then execute; a denial is an answer the model sees, not a failure. */
    async callTool(input: ToolCallInput): Promise<ToolCallOutcome> {
      const attempt = Context.current().info.attempt;
      const started = Date.now();
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
      try {
        const outcome = deps.toolCall ? await deps.toolCall(request, { approved: input.approved }) : await defaultToolCall(request, input.approved === true);
        await record({
          tenantId: input.tenantId, runId: input.runId, seq: input.step, attempt, kind: 'tool', name: input.call.tool, callId: input.call.id,
          status: outcome.status === 'done' ? (outcome.ok ? 'ok' : 'error') : outcome.status === 'denied' ? 'denied' : 'waiting',
          code: `${outcome.decision.decision}${outcome.decision.requiresApproval ? '+approval' : ''}`,
          detail: outcome.decision.determining.map((p) => p.id).join(', ') || undefined,
          durationMs: Date.now() - started,
        });
        return { decision: outcome.decision.decision, status: outcome.status, ok: outcome.ok, content: outcome.content };
      } catch (err) {
        const { code, detail } = failureDetail(err);
        await record({ tenantId: input.tenantId, runId: input.runId, seq: input.step, attempt, kind: 'tool', name: input.call.tool, callId: input.call.id, status: 'error', code, detail });
        asFailure(err);
      }
    },

    /**
     * Send the run's reply through its channel, at most once per (run, step): the outbox is
     * checked first, and the channel gets the same idempotency key on every attempt.
     */
    async sendReply(input: ReplyInput): Promise<{ delivered: boolean; messageId?: string; duplicate?: boolean }> {
      const attempt = Context.current().info.attempt;
      const idempotencyKey = `${input.tenantId}/${input.runId}/${input.step}/reply`;
      const base = { tenantId: input.tenantId, runId: input.runId, seq: input.step, attempt, kind: 'reply' as const, name: input.replyTo.channel };
      const already = await deps.steps?.sentEffect(idempotencyKey);
      if (already) {
        await record({ ...base, status: 'duplicate', detail: 'already sent; not sent again' });
        return { delivered: true, messageId: already.messageId, duplicate: true };
      }
      if (!deps.channels) {
        await record({ ...base, status: 'error', code: 'CHANNELS_NOT_WIRED', detail: 'recorded only' });
        return { delivered: false };
      }
      const agent = await agentSpec(input.tenantId, input.agentId);
      const channel = agent.channels.find((c) => c.type === input.replyTo.channel);
      if (!channel) {
        throw ApplicationFailure.create({ type: 'CHANNEL_NOT_CONFIGURED', message: `agent '${input.agentId}' has no ${input.replyTo.channel} channel any more`, nonRetryable: true });
      }
      const started = Date.now();
      try {
        const sent = await deps.channels.send({ tenantId: input.tenantId, channel, replyTo: input.replyTo, text: input.text, idempotencyKey });
        await deps.steps?.recordEffect({ idempotencyKey, tenantId: input.tenantId, runId: input.runId, channel: channel.type, messageId: sent.messageId });
        await record({ ...base, status: 'sent', detail: sent.messageId ? `message ${sent.messageId}` : undefined, durationMs: Date.now() - started });
        return { delivered: true, messageId: sent.messageId };
      } catch (err) {
        const { code, detail } = failureDetail(err);
        await record({ ...base, status: 'error', code, detail, durationMs: Date.now() - started });
        asFailure(err);
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
