/**
 * The read side behind `claw runs list` and `claw runs show`: runs are summarised from a
 * tenant's trace events (always through a tenant-confined query session), and one run's
 * events become a timeline, its content opened with the tenant key only when asked.
 */
import { join } from 'node:path';
import { ClawError, isClawError } from '../../core/errors.js';
import type { TenantKeyring } from '../ports.js';
import { assertTenantId } from '../../core/config/schema.js';
import { TenantQuerySession } from './local-lake.js';
import { listSegments, readSegment, segmentPath } from './wal.js';
import { walRoot } from './writer.js';
import { compareRows, type TraceRow } from './model.js';
import { ContentOpener } from './seal.js';

export const RUN_STATUSES = ['running', 'completed', 'failed', 'cancelled', 'budget_exceeded'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface RunSummary {
  runId: string;
  agentId: string;
  status: RunStatus;
  startedAt: string;
  lastEventAt: string;
  events: number;
  inputTokens: number;
  outputTokens: number;
  toolCalls: number;
  denied: number;
}

export interface ListRunsOptions {
  stateDir: string;
  tenantId: string;
  agentId?: string;
  status?: RunStatus;
  since?: Date;
  until?: Date;
  limit?: number;
}

const ISO = "strftime(time, '%Y-%m-%dT%H:%M:%S.%gZ')";

export async function listRuns(options: ListRunsOptions): Promise<RunSummary[]> {
  if (options.status && !RUN_STATUSES.includes(options.status)) {
    throw new ClawError('RUN_STATUS_INVALID', `unknown run status '${options.status}'`, { hint: `use one of ${RUN_STATUSES.join(', ')}` });
  }
  const where: string[] = [];
  const having: string[] = [];
  const params: Record<string, string | number> = {};
  if (options.agentId) {
    where.push('agent_id = $agent');
    params.agent = options.agentId;
  }
  if (options.status) {
    having.push('status = $status');
    params.status = options.status;
  }
  if (options.since) {
    having.push('min(time) >= CAST($since AS TIMESTAMP)');
    params.since = options.since.toISOString().replace('Z', '');
  }
  if (options.until) {
    having.push('min(time) < CAST($until AS TIMESTAMP)');
    params.until = options.until.toISOString().replace('Z', '');
  }
  params.limit = options.limit ?? 50;
  const sql = `
    SELECT run_id, any_value(agent_id) AS agent_id,
      coalesce(max(CASE WHEN kind = 'run.end' THEN status END), 'running') AS status,
      strftime(min(time), '%Y-%m-%dT%H:%M:%S.%gZ') AS started_at,
      strftime(max(time), '%Y-%m-%dT%H:%M:%S.%gZ') AS last_event_at,
      count(*) AS events,
      coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
      count(DISTINCT tool_call_id) FILTER (WHERE kind = 'tool.call') AS tool_calls,
      count(DISTINCT tool_call_id) FILTER (WHERE kind = 'tool.call' AND decision = 'deny') AS denied
    FROM traces ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    GROUP BY run_id ${having.length ? `HAVING ${having.join(' AND ')}` : ''}
    ORDER BY min(time) DESC, run_id LIMIT $limit`;
  const session = await TenantQuerySession.open(options.stateDir, options.tenantId);
  try {
    const { rows } = await session.query(sql, params);
    return rows.map((r) => ({
      runId: r.run_id as string,
      agentId: r.agent_id as string,
      status: r.status as RunStatus,
      startedAt: r.started_at as string,
      lastEventAt: r.last_event_at as string,
      events: r.events as number,
      inputTokens: r.input_tokens as number,
      outputTokens: r.output_tokens as number,
      toolCalls: r.tool_calls as number,
      denied: r.denied as number,
    }));
  } finally {
    session.close();
  }
}

// ------------------------------------------------------------------ one run

export interface TimelineStep {
  seq: number;
  attempt: number | null;
  kind: TraceRow['kind'];
  time: string;
  /** Milliseconds since the run's first event. */
  offsetMs: number;
  operation: string | null;
  provider: string | null;
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  durationMs: number | null;
  tool: string | null;
  callId: string | null;
  decision: string | null;
  policies: string[];
  reasons: string[];
  requiresApproval: boolean;
  approval: string | null;
  approver: string | null;
  sandbox: string | null;
  status: string | null;
  errorType: string | null;
  /** Failed model call: the provider's HTTP status, the wait it asked for, whether it was retried. */
  httpStatus: number | null;
  retryAfterMs: number | null;
  retryable: boolean | null;
  /** Tool call: what shadow (log-only) policies would have decided, and Cedar's evaluation errors. */
  shadowDecision: string | null;
  shadowPolicies: string[];
  authzErrors: string[];
  finishReasons: string[];
  channel: string | null;
  budgetOutcome: string | null;
  /** Decrypted content (only with decrypt), else undefined; `contentBytes` says whether there is any. */
  content?: unknown;
  contentBytes: number | null;
}

export interface RunTimeline {
  tenantId: string;
  runId: string;
  agentId: string;
  status: RunStatus;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  budgetOutcome: string | null;
  totals: { inputTokens: number; outputTokens: number; modelCalls: number; retries: number; toolCalls: number; denied: number; approvals: number };
  decrypted: boolean;
  steps: TimelineStep[];
}

export interface ShowRunOptions {
  stateDir: string;
  tenantId: string;
  runId: string;
  /** Needed only with `decrypt`. */
  keyring?: TenantKeyring;
  decrypt?: boolean;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string' && value) return value.split(',');
  return [];
}

/**
 * A run's rows still in the tenant's write-ahead log (acknowledged, not yet landed in the
 * lake by the worker's next flush), so a run shows completely the moment it ended.
 */
function walRows(stateDir: string, tenantId: string, runId: string): TraceRow[] {
  const dir = join(walRoot(stateDir), tenantId);
  const rows: TraceRow[] = [];
  for (const segment of listSegments(dir)) {
    try {
      rows.push(...readSegment(segmentPath(dir, segment)).rows.filter((r) => r.run_id === runId && r.tenant_id === tenantId));
    } catch (err) {
      // Landed and removed between listing and reading: its rows are in the lake now.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return rows;
}

/**
 * One row per (seq, kind, attempt, call): a segment read from the WAL just before it
 * landed is in both places, and an activity retried after it emitted emits again.
 */
function dedupe(rows: TraceRow[]): TraceRow[] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    const key = `${row.seq}\u0000${row.kind}\u0000${row.attempt ?? ''}\u0000${row.tool_call_id ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export async function showRun(options: ShowRunOptions): Promise<RunTimeline> {
  assertTenantId(options.tenantId);
  // The WAL first: a segment that lands meanwhile is then found in the lake, not missed.
  const pending = walRows(options.stateDir, options.tenantId, options.runId);
  const session = await TenantQuerySession.open(options.stateDir, options.tenantId);
  let rows: TraceRow[];
  try {
    const result = await session.query(`SELECT * REPLACE (${ISO} AS time, CAST(day AS VARCHAR) AS day) FROM traces WHERE run_id = $run`, { run: options.runId });
    rows = result.rows as unknown as TraceRow[];
  } finally {
    session.close();
  }
  rows.push(...pending);
  if (rows.length === 0) {
    throw new ClawError('RUN_NOT_FOUND', `no run '${options.runId}' in the traces of tenant '${options.tenantId}'`, {
      hint: `list the tenant's runs with 'claw runs list --tenant ${options.tenantId}'`,
    });
  }
  rows.sort(compareRows);
  rows = dedupe(rows);
  let opener: ContentOpener | undefined;
  if (options.decrypt) {
    if (!options.keyring) throw new Error('showRun: decrypt needs a keyring');
    opener = new ContentOpener(await options.keyring.forTenant(options.tenantId).catch((err) => Promise.reject(decryptError(err, options.tenantId))));
  }
  const start = Date.parse(rows[0]!.time);
  const steps: TimelineStep[] = [];
  for (const row of rows) {
    const attrs = JSON.parse(row.attributes) as Record<string, unknown>;
    const step: TimelineStep = {
      seq: row.seq,
      attempt: row.attempt,
      kind: row.kind,
      time: row.time,
      offsetMs: Date.parse(row.time) - start,
      operation: row.operation,
      provider: row.provider,
      model: row.model,
      inputTokens: row.input_tokens,
      outputTokens: row.output_tokens,
      durationMs: row.duration_ms,
      tool: row.tool_name,
      callId: row.tool_call_id,
      decision: row.decision,
      policies: list(row.policies),
      reasons: list(attrs['claw.authz.reasons']),
      requiresApproval: attrs['claw.authz.requires_approval'] === true,
      approval: row.approval,
      approver: (attrs['claw.approval.approver'] as string | null | undefined) ?? null,
      sandbox: row.sandbox,
      status: row.status,
      errorType: row.error_type,
      httpStatus: numberOrNull(attrs['http.response.status_code']),
      retryAfterMs: numberOrNull(attrs['claw.retry.after_ms']),
      retryable: typeof attrs['claw.retry.retryable'] === 'boolean' ? (attrs['claw.retry.retryable'] as boolean) : null,
      shadowDecision: (attrs['claw.authz.shadow_decision'] as string | null | undefined) ?? null,
      shadowPolicies: list(attrs['claw.authz.shadow_policies']),
      authzErrors: list(attrs['claw.authz.errors']),
      finishReasons: list(attrs['gen_ai.response.finish_reasons']),
      channel: (attrs['claw.channel'] as string | null | undefined) ?? null,
      budgetOutcome: row.budget_outcome,
      contentBytes: row.content_bytes,
    };
    if (opener && row.content) {
      try {
        step.content = await opener.open(row);
      } catch (err) {
        throw decryptError(err, options.tenantId);
      }
    }
    steps.push(step);
  }
  const end = steps.find((s) => s.kind === 'run.end');
  const models = steps.filter((s) => s.kind === 'model.call');
  const last = rows[rows.length - 1]!;
  return {
    tenantId: options.tenantId,
    runId: options.runId,
    agentId: rows[0]!.agent_id,
    status: (end?.status as RunStatus | undefined) ?? 'running',
    startedAt: rows[0]!.time,
    endedAt: last.time,
    durationMs: Date.parse(last.time) - start,
    budgetOutcome: end?.budgetOutcome ?? null,
    totals: {
      inputTokens: models.reduce((n, s) => n + (s.inputTokens ?? 0), 0),
      outputTokens: models.reduce((n, s) => n + (s.outputTokens ?? 0), 0),
      modelCalls: models.length,
      retries: models.filter((s) => (s.attempt ?? 1) > 1).length + steps.filter((s) => s.kind === 'tool.result' && (s.attempt ?? 1) > 1).length,
      // A call authorized again after its approval is still one call.
      toolCalls: new Set(steps.filter((s) => s.kind === 'tool.call').map((s) => s.callId)).size,
      denied: new Set(steps.filter((s) => s.kind === 'tool.call' && s.decision === 'deny').map((s) => s.callId)).size,
      approvals: steps.filter((s) => s.kind === 'approval' && s.approval !== 'waiting').length,
    },
    decrypted: Boolean(opener),
    steps,
  };
}

/** A decryption failure as one line that says what it means for traces. */
export function decryptError(err: unknown, tenantId: string): ClawError {
  if (isClawError(err) && err.code === 'TENANT_KEY_DESTROYED') {
    return new ClawError('TENANT_KEY_DESTROYED', `the key of tenant '${tenantId}' was destroyed; trace content cannot be decrypted`, {
      hint: 'metadata (models, tokens, decisions) stays readable without --decrypt',
      cause: err,
    });
  }
  if (isClawError(err)) return err;
  return new ClawError('TRACE_DECRYPT_FAILED', `cannot decrypt trace content of tenant '${tenantId}'`, { hint: 'check the tenant key (claw tenant list)', cause: err });
}
