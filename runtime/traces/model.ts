/**
 * The trace model. A run is a sequence of TraceEvents (runtime/ports.ts); their attributes
 * follow the OpenTelemetry GenAI semantic conventions (names as in semantic-conventions
 * v1.45, "development" status, copied here as the package advises for incubating names)
 * plus `claw.*` attributes for what the conventions do not cover: the authorization
 * decision and its determining policies, approvals, retries, sandbox and budget outcome.
 *
 * In the lake an event is one row: routing metadata and the well-known attributes as
 * typed columns (queryable), every attribute again as JSON, and the content (prompt,
 * completion, tool arguments/result) only as ciphertext (see seal.ts).
 */
import type { TraceEvent } from '../ports.js';

/** OpenTelemetry GenAI attribute names (semantic conventions, gen-ai registry). */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
  agentId: 'gen_ai.agent.id',
  agentName: 'gen_ai.agent.name',
  conversationId: 'gen_ai.conversation.id',
  // Content attributes: only ever exported when a tenant opts in (otlp.ts), never columns.
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  toolCallArguments: 'gen_ai.tool.call.arguments',
  toolCallResult: 'gen_ai.tool.call.result',
  errorType: 'error.type',
  /** OpenTelemetry's HTTP attribute: the provider's status on a failed model call (429, 500, 401, ...). */
  httpStatus: 'http.response.status_code',
} as const;

/** Operation names defined by the conventions. */
export const GEN_AI_OPERATION = { chat: 'chat', executeTool: 'execute_tool', invokeAgent: 'invoke_agent' } as const;

/** Our own attributes (the `claw.` namespace). */
export const CLAW = {
  tenant: 'claw.tenant.id',
  run: 'claw.run.id',
  decision: 'claw.authz.decision',
  policies: 'claw.authz.policies',
  reasons: 'claw.authz.reasons',
  requiresApproval: 'claw.authz.requires_approval',
  shadowDecision: 'claw.authz.shadow_decision',
  shadowPolicies: 'claw.authz.shadow_policies',
  /** Evaluation errors Cedar reported (policy id: message); metadata, never content. */
  authzErrors: 'claw.authz.errors',
  approval: 'claw.approval.outcome',
  approver: 'claw.approval.approver',
  attempt: 'claw.retry.attempt',
  /** The wait the provider asked for (retry-after) before the next attempt. */
  retryAfterMs: 'claw.retry.after_ms',
  /** Whether the failure is retried (false: the turn ends at once, e.g. a rejected API key). */
  retryable: 'claw.retry.retryable',
  durationMs: 'claw.duration_ms',
  status: 'claw.status',
  sandbox: 'claw.sandbox',
  budgetOutcome: 'claw.budget.outcome',
  stepsUsed: 'claw.budget.steps_used',
  tokensUsed: 'claw.budget.tokens_used',
  channel: 'claw.channel',
} as const;

export const EVENT_KINDS = ['run.start', 'ask', 'model.call', 'tool.call', 'approval', 'tool.result', 'reply', 'run.end', 'error'] as const satisfies readonly TraceEvent['kind'][];

/**
 * The lake's columns, in order. Types are DuckDB's; the AWS (Glue/Athena) and GCP
 * (BigQuery) adapters map them. `content_key` and `content` are ciphertext.
 */
export const LAKE_COLUMNS = [
  { name: 'tenant_id', duck: 'VARCHAR', from: null },
  { name: 'day', duck: 'DATE', from: null },
  { name: 'time', duck: 'TIMESTAMP', from: null },
  { name: 'agent_id', duck: 'VARCHAR', from: null },
  { name: 'run_id', duck: 'VARCHAR', from: null },
  { name: 'seq', duck: 'INTEGER', from: null },
  { name: 'kind', duck: 'VARCHAR', from: null },
  { name: 'operation', duck: 'VARCHAR', from: GEN_AI.operationName },
  { name: 'provider', duck: 'VARCHAR', from: GEN_AI.providerName },
  { name: 'model', duck: 'VARCHAR', from: GEN_AI.requestModel },
  { name: 'input_tokens', duck: 'BIGINT', from: GEN_AI.inputTokens },
  { name: 'output_tokens', duck: 'BIGINT', from: GEN_AI.outputTokens },
  { name: 'tool_name', duck: 'VARCHAR', from: GEN_AI.toolName },
  { name: 'tool_call_id', duck: 'VARCHAR', from: GEN_AI.toolCallId },
  { name: 'decision', duck: 'VARCHAR', from: CLAW.decision },
  { name: 'policies', duck: 'VARCHAR', from: CLAW.policies },
  { name: 'approval', duck: 'VARCHAR', from: CLAW.approval },
  { name: 'attempt', duck: 'INTEGER', from: CLAW.attempt },
  { name: 'duration_ms', duck: 'DOUBLE', from: CLAW.durationMs },
  { name: 'status', duck: 'VARCHAR', from: CLAW.status },
  { name: 'error_type', duck: 'VARCHAR', from: GEN_AI.errorType },
  { name: 'sandbox', duck: 'VARCHAR', from: CLAW.sandbox },
  { name: 'budget_outcome', duck: 'VARCHAR', from: CLAW.budgetOutcome },
  { name: 'attributes', duck: 'VARCHAR', from: null },
  { name: 'content_key', duck: 'VARCHAR', from: null },
  { name: 'content', duck: 'BLOB', from: null },
  { name: 'content_bytes', duck: 'INTEGER', from: null },
] as const;

export type LakeColumn = (typeof LAKE_COLUMNS)[number]['name'];

/** Columns a query may see without the key (everything except the ciphertext). */
export const METADATA_COLUMNS = LAKE_COLUMNS.map((c) => c.name).filter((n) => n !== 'content' && n !== 'content_key');

/** One event as stored: metadata in the clear, content sealed. */
export interface TraceRow {
  tenant_id: string;
  day: string;
  time: string;
  agent_id: string;
  run_id: string;
  seq: number;
  kind: TraceEvent['kind'];
  operation: string | null;
  provider: string | null;
  model: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  tool_name: string | null;
  tool_call_id: string | null;
  decision: string | null;
  /** Determining policy ids, comma-separated (ids cannot contain commas in Cedar @id annotations we emit). */
  policies: string | null;
  approval: string | null;
  attempt: number | null;
  duration_ms: number | null;
  status: string | null;
  error_type: string | null;
  sandbox: string | null;
  budget_outcome: string | null;
  /** All attributes as JSON (metadata only: events.ts never puts content in attributes). */
  attributes: string;
  /** Base64 of the tenant-wrapped data key; null when the event has no content. */
  content_key: string | null;
  /** AES-256-GCM box of the content JSON; null when there is none. */
  content: Uint8Array | null;
  content_bytes: number | null;
}

type Attr = TraceEvent['attributes'][string];

function str(value: Attr | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

function num(value: Attr | undefined): number | null {
  if (value === undefined || value === null || value === '') return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

const NUMERIC = new Set(['input_tokens', 'output_tokens', 'attempt', 'duration_ms']);

/** The metadata part of a row (content is added by the sealer). */
export function toRow(event: TraceEvent, sealed: { key: string; box: Uint8Array; bytes: number } | null): TraceRow {
  const row: Record<string, unknown> = {
    tenant_id: event.tenantId,
    day: event.time.slice(0, 10),
    time: event.time,
    agent_id: event.agentId,
    run_id: event.runId,
    seq: event.seq,
    kind: event.kind,
  };
  for (const column of LAKE_COLUMNS) {
    if (!column.from) continue;
    const value = event.attributes[column.from];
    row[column.name] = NUMERIC.has(column.name) ? num(value) : str(value);
  }
  row.attributes = JSON.stringify(event.attributes);
  row.content_key = sealed?.key ?? null;
  row.content = sealed?.box ?? null;
  row.content_bytes = sealed?.bytes ?? null;
  return row as unknown as TraceRow;
}

/** Additional authenticated data binding a sealed content box to its row. */
export function contentAad(row: Pick<TraceRow, 'tenant_id' | 'run_id' | 'seq' | 'kind'>): Buffer {
  return Buffer.from(`claw-trace/v1\u0000${row.tenant_id}\u0000${row.run_id}\u0000${row.seq}\u0000${row.kind}`);
}

/** Order of events within a run: by seq, then attempt, then the natural order of kinds. */
export function compareRows(a: Pick<TraceRow, 'seq' | 'attempt' | 'kind' | 'time'>, b: Pick<TraceRow, 'seq' | 'attempt' | 'kind' | 'time'>): number {
  return (
    a.seq - b.seq ||
    (a.attempt ?? 0) - (b.attempt ?? 0) ||
    EVENT_KINDS.indexOf(a.kind as TraceEvent['kind']) - EVENT_KINDS.indexOf(b.kind as TraceEvent['kind']) ||
    a.time.localeCompare(b.time)
  );
}
