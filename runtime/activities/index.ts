/**
 * The agentRun activities, built by a factory over their dependencies (ports), so the
 * worker wires real adapters and tests wire local ones. Errors a user can fix (ClawError)
 * become non-retryable failures typed with their code; a model's rate limit becomes a
 * retryable failure that waits as long as the provider asked.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Agent } from '../../core/config/schema.js';
import { grantName } from '../../core/config/load.js';
import { isClawError } from '../../core/errors.js';
import { ModelError, modelAdapterFor, type ModelTurn, type ToolSpec } from '../models/index.js';
import type { Authorizer, SecretStore, ToolExecutor } from '../ports.js';
import type { MetadataStore } from '../store/metadata.js';
import type { LoadedAgent, ModelCallInput, RunFinishInput, RunStartInput, ToolCallInput, ToolCallOutcome } from '../workflows/types.js';

export interface ActivityDeps {
  store: MetadataStore;
  secrets: SecretStore;
  authorizer: Authorizer;
  tools: ToolExecutor;
  /** Every tool that exists (built-ins and claw.yaml's `tools:`), as the model is told about them. */
  toolCatalog: () => Map<string, ToolSpec>;
  /** Injected for tests of the HTTP adapters; defaults to global fetch. */
  fetch?: typeof fetch;
}

/** Rethrow as a Temporal failure whose type is the stable code. */
function asFailure(err: unknown): never {
  if (err instanceof ModelError) {
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

export function createActivities(deps: ActivityDeps) {
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
      return { agent: record.spec as Agent, revision: record.revision, tools };
    },

    async startRun({ runId, ...run }: RunStartInput): Promise<void> {
      await deps.store.startRun({ id: runId, ...run });
    },

    async finishRun({ tenantId, runId, ...finish }: RunFinishInput): Promise<void> {
      await deps.store.finishRun(tenantId, runId, finish);
    },

    async callModel(input: ModelCallInput): Promise<ModelTurn> {
      try {
        const adapter = await modelAdapterFor(input.model, { tenantId: input.tenantId, secrets: deps.secrets, fetch: deps.fetch });
        return await adapter.complete({ instructions: input.instructions, messages: input.messages, tools: input.tools });
      } catch (err) {
        asFailure(err);
      }
    },

    /** Authorize, then execute; a denial is an answer the model sees, not a failure. */
    async callTool(input: ToolCallInput): Promise<ToolCallOutcome> {
      const request = {
        tenantId: input.tenantId,
        agentId: input.agentId,
        runId: input.runId,
        tool: input.call.tool,
        args: input.call.args,
        channel: input.channel,
        budget: input.budget,
      };
      const decision = await deps.authorizer.authorize(request);
      if (decision.decision === 'deny' || decision.requiresApproval) {
        // Approvals arrive with RUNTIME's signals; until then a call that needs one is not made.
        const reason = decision.decision === 'deny' ? 'denied by policy' : 'requires a human approval, which this run cannot wait for';
        return {
          decision: 'deny',
          ok: false,
          content: JSON.stringify({ error: `tool '${input.call.tool}' ${reason}`, policies: decision.determining.map((p) => p.id) }),
        };
      }
      try {
        const result = await deps.tools.execute({
          ...request,
          callId: input.call.id,
          idempotencyKey: `${input.tenantId}/${input.runId}/${input.step}/${input.call.id}`,
        });
        return {
          decision: 'allow',
          ok: result.ok,
          content: JSON.stringify(result.ok ? result.output : { error: result.error ?? { code: 'TOOL_FAILED', message: 'the tool failed' } }),
        };
      } catch (err) {
        asFailure(err);
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
