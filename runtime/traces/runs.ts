/**
 * The read side behind `claw runs list` and `claw runs show` and the admin API's runs: runs
 * are summarised from a tenant's trace events (the SQL every lake shares: run-sql.ts), and
 * one run's events become a timeline (timelineFromRows, whichever lake they came from), its
 * content opened with the tenant key only when asked. This file is the local lake's reader
 * (a tenant-confined DuckDB session, plus the WAL not landed yet) and the RunReader port;
 * lake-runs.ts is the cloud lakes' (Athena, BigQuery).
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
import { namedSql, runRowsQuery, summaryFromRecord, summaryQuery, traceRowFromRecord, type RunFilter, type RunStatus, type RunSummary } from './run-sql.js';

export { RUN_STATUSES, type RunFilter, type RunStatus, type RunSummary } from './run-sql.js';

export interface ListRunsOptions extends RunFilter {
  stateDir: string;
  tenantId: string;
}

/**
 * The read side as a port: a tenant's run summaries and one run's timeline, from the lake of
 * the target (local: runs.ts over DuckDB; aws: Athena; gcp: BigQuery — lake-runs.ts). The
 * admin API (runtime/admin/server.ts) serves it; the gateway wires its target's.
 */
export interface RunReader {
  list(tenantId: string, filter: RunFilter): Promise<RunSummary[]>;
  /** Content sealed unless `decrypt`, which opens it with the tenant keyring. */
  show(tenantId: string, runId: string, decrypt: boolean): Promise<RunTimeline>;
}

export async function listRuns(options: ListRunsOptions): Promise<RunSummary[]> {
  const { stateDir, tenantId, ...filter } = options;
  const query = summaryQuery(filter);
  const session = await TenantQuerySession.open(stateDir, tenantId);
  try {
    const { rows } = await session.query(namedSql(query, '$'), query.params);
    return rows.map(summaryFromRecord);
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
  const query = runRowsQuery(options.runId);
  // The WAL first: a segment that lands meanwhile is then found in the lake, not missed.
  const pending = walRows(options.stateDir, options.tenantId, options.runId);
  const session = await TenantQuerySession.open(options.stateDir, options.tenantId);
  let rows: TraceRow[];
  try {
    rows = (await session.query(namedSql(query, '$'), query.params)).rows.map(traceRowFromRecord);
  } finally {
    session.close();
  }
  return timelineFromRows(options.tenantId, options.runId, [...rows, ...pending], options.decrypt ? () => openerFor(options.keyring, options.tenantId) : undefined);
}

/** The tenant's content opener (its keyring's key), a failure as one line (decryptError). */
export async function openerFor(keyring: TenantKeyring | undefined, tenantId: string): Promise<ContentOpener> {
  if (!keyring) throw new Error('showRun: decrypt needs a keyring');
  return new ContentOpener(await keyring.forTenant(tenantId).catch((err) => Promise.reject(decryptError(err, tenantId))));
}

/**
 * One run's rows (from any lake, in any order, possibly twice) as its timeline: ordered,
 * de-duplicated, totals summed; content opened only when `open` is given (called once the
 * run is found). RUN_NOT_FOUND when there are no rows.
 */
export async function timelineFromRows(tenantId: string, runId: string, found: TraceRow[], open?: () => Promise<ContentOpener>): Promise<RunTimeline> {
  if (found.length === 0) {
    throw new ClawError('RUN_NOT_FOUND', `no run '${runId}' in the traces of tenant '${tenantId}'`, {
      hint: `list the tenant's runs with 'claw runs list --tenant ${tenantId}'`,
    });
  }
  const opener = open ? await open() : undefined;
  const rows = dedupe([...found].sort(compareRows));
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
        throw decryptError(err, tenantId);
      }
    }
    steps.push(step);
  }
  const end = steps.find((s) => s.kind === 'run.end');
  const models = steps.filter((s) => s.kind === 'model.call');
  const last = rows[rows.length - 1]!;
  return {
    tenantId,
    runId,
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

/** The local target's RunReader: the lake under the state dir (and the WAL not landed yet). */
export function localRunReader(stateDir: string, keyring: TenantKeyring): RunReader {
  return {
    list: (tenantId, filter) => listRuns({ stateDir, tenantId, ...filter }),
    show: (tenantId, runId, decrypt) => showRun({ stateDir, tenantId, runId, decrypt, keyring }),
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
