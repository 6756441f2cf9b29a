/**
 * The read side's SQL, written once for every lake engine: DuckDB (the local lake), Athena
 * (Trino, over the tenant's Iceberg table) and BigQuery (GoogleSQL). The text uses only
 * what the three engines share — plain aggregates, CASE, coalesce, CAST(... AS TIMESTAMP),
 * to_base64; no output alias that is also a column (engines disagree on which one HAVING
 * and ORDER BY mean) — and
 * names its values as `{name}` placeholders, which each engine gets in its own form:
 * `$name` (DuckDB), `@name` with query parameters (BigQuery), `?` with ExecutionParameters
 * in order of appearance (Athena). No value is ever spliced into the text, and every id
 * that reaches a query is checked first (RUN_FILTER_INVALID, RUN_ID_INVALID).
 *
 * The engines return values differently (DuckDB objects, Athena and BigQuery strings);
 * `summaryFromRecord` and `traceRowFromRecord` turn them into the same RunSummary and
 * TraceRow, so a run reads the same from every lake (runs.ts builds the timeline).
 */
import { ClawError } from '../../core/errors.js';
import { ID_PATTERN, RUN_ID_PATTERN } from '../../core/config/schema.js';
import { LAKE_COLUMNS, type TraceRow } from './model.js';
import { TRACE_TABLE } from './schema.js';

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

/** Which runs to list: of one agent, in one status, started in [since, until), the newest `limit`. */
export interface RunFilter {
  agentId?: string;
  status?: RunStatus;
  since?: Date;
  until?: Date;
  /** Default 50. */
  limit?: number;
}

export const DEFAULT_RUN_LIMIT = 50;

/** SQL whose values are `{name}` placeholders, bound per engine (see the file comment). */
export interface SqlQuery {
  text: string;
  params: Record<string, string | number>;
}

/** A run's status: its run.end event's, else still running. */
const STATUS = "coalesce(max(CASE WHEN kind = 'run.end' THEN status END), 'running')";

/** `2026-11-25 12:00:00.000`: a TIMESTAMP literal every engine casts the same way (UTC, no zone). */
function timestampText(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

function filterInvalid(problem: string, hint: string): ClawError {
  return new ClawError('RUN_FILTER_INVALID', `cannot list runs: ${problem}`, { hint });
}

/** The run summaries of a tenant's `traces`, newest first (the same text for every engine). */
export function summaryQuery(filter: RunFilter = {}): SqlQuery {
  const where: string[] = [];
  const having: string[] = [];
  const params: SqlQuery['params'] = {};
  if (filter.agentId) {
    if (!ID_PATTERN.test(filter.agentId)) throw filterInvalid(`'${filter.agentId}' is not an agent id`, "agent ids are 2-32 lowercase letters, digits and '-', e.g. 'helper'");
    where.push('agent_id = {agent}');
    params.agent = filter.agentId;
  }
  if (filter.status) {
    if (!RUN_STATUSES.includes(filter.status)) {
      throw new ClawError('RUN_STATUS_INVALID', `unknown run status '${filter.status}'`, { hint: `use one of ${RUN_STATUSES.join(', ')}` });
    }
    having.push(`${STATUS} = {status}`);
    params.status = filter.status;
  }
  for (const [name, op] of [['since', '>='], ['until', '<']] as const) {
    const date = filter[name];
    if (date === undefined) continue;
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw filterInvalid(`--${name} is not a time`, 'give an ISO time, or a duration ago (30m, 2h, 7d)');
    having.push(`min(time) ${op} CAST({${name}} AS TIMESTAMP)`);
    params[name] = timestampText(date);
  }
  const limit = filter.limit ?? DEFAULT_RUN_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) throw filterInvalid(`limit ${String(limit)} is not a positive whole number`, 'e.g. --limit 20');
  // The limit is a checked integer, written as a number: Athena and BigQuery differ on parameters in LIMIT.
  const text = `SELECT run_id, min(agent_id) AS agent_id,
  ${STATUS} AS run_status,
  min(time) AS started_at,
  max(time) AS last_event_at,
  count(*) AS events,
  coalesce(sum(input_tokens), 0) AS input_tokens,
  coalesce(sum(output_tokens), 0) AS output_tokens,
  count(DISTINCT CASE WHEN kind = 'tool.call' THEN tool_call_id END) AS tool_calls,
  count(DISTINCT CASE WHEN kind = 'tool.call' AND decision = 'deny' THEN tool_call_id END) AS denied
FROM ${TRACE_TABLE}${where.length ? `\nWHERE ${where.join(' AND ')}` : ''}
GROUP BY run_id${having.length ? `\nHAVING ${having.join(' AND ')}` : ''}
ORDER BY min(time) DESC, run_id
LIMIT ${limit}`;
  return { text, params };
}

/** RUN_ID_INVALID unless `runId` has the shape of a run id (what the admin API accepts too). */
export function assertRunId(runId: string): string {
  if (typeof runId !== 'string' || !RUN_ID_PATTERN.test(runId)) {
    throw new ClawError('RUN_ID_INVALID', `'${String(runId).slice(0, 140)}' is not a run id`, { hint: "run ids are letters, digits, '.', '_' and '-' (e.g. r-1a2b3c4d5e6f7a8b); list them with 'claw runs list'" });
  }
  return runId;
}

/** Every lake column of one run's events; the content box as base64 (BYTES/varbinary/BLOB differ on the wire). */
export function runRowsQuery(runId: string): SqlQuery {
  assertRunId(runId);
  const columns = LAKE_COLUMNS.map((c) => (c.duck === 'BLOB' ? `to_base64(${c.name}) AS ${c.name}` : c.name)).join(', ');
  return { text: `SELECT ${columns} FROM ${TRACE_TABLE} WHERE run_id = {run}`, params: { run: runId } };
}

const PLACEHOLDER = /\{([a-z]+)\}/g;

/** DuckDB (`$name`) and BigQuery (`@name`): named parameters, bound by name. */
export function namedSql(query: SqlQuery, sigil: '$' | '@'): string {
  return query.text.replace(PLACEHOLDER, (_, name: string) => {
    if (!(name in query.params)) throw new Error(`no value for {${name}}`);
    return `${sigil}${name}`;
  });
}

/** Athena: `?` placeholders and their values in order of appearance. */
export function positionalSql(query: SqlQuery): { text: string; values: (string | number)[] } {
  const values: (string | number)[] = [];
  const text = query.text.replace(PLACEHOLDER, (_, name: string) => {
    if (!(name in query.params)) throw new Error(`no value for {${name}}`);
    values.push(query.params[name]!);
    return '?';
  });
  return { text, values };
}

/**
 * An Athena execution parameter: a single constant (Athena refuses anything else), so a
 * string is a quoted literal with its quotes doubled, and a number its digits.
 */
export function athenaLiteral(value: string | number): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  return `'${value.replaceAll("'", "''")}'`;
}

// ------------------------------------------------------------------ results

const TIMESTAMP_TEXT = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:Z| UTC|[+]00(?::?00)?)?$/;

/**
 * A lake timestamp (UTC, no zone) as ISO 8601 with milliseconds, as the timeline shows it:
 * from DuckDB's and Athena's text (`2026-11-25 12:00:00.1`, `... 12:00:00.100000`) or an
 * ISO string.
 */
export function isoMillis(value: unknown): string {
  const m = TIMESTAMP_TEXT.exec(String(value));
  if (!m) throw new Error(`not a lake timestamp: ${String(value).slice(0, 40)}`);
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}

function count(value: unknown): number {
  const n = Number(value ?? 0);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${String(value).slice(0, 40)}`);
  return n;
}

/** One row of summaryQuery, whatever engine returned it (numbers or their text). */
export function summaryFromRecord(r: Record<string, unknown>): RunSummary {
  return {
    runId: String(r.run_id),
    agentId: String(r.agent_id),
    status: String(r.run_status) as RunStatus,
    startedAt: isoMillis(r.started_at),
    lastEventAt: isoMillis(r.last_event_at),
    events: count(r.events),
    inputTokens: count(r.input_tokens),
    outputTokens: count(r.output_tokens),
    toolCalls: count(r.tool_calls),
    denied: count(r.denied),
  };
}

const NUMERIC_TYPES = new Set(['INTEGER', 'BIGINT', 'DOUBLE']);

/**
 * One row of runRowsQuery as a TraceRow, whatever engine returned it (DuckDB's values,
 * Athena's VarCharValue text, BigQuery's `f[].v` text): null stays null, numbers are
 * parsed, the timestamp is ISO with milliseconds, the day `YYYY-MM-DD`, the content box its
 * bytes again.
 */
export function traceRowFromRecord(record: Record<string, unknown>): TraceRow {
  const row: Record<string, unknown> = {};
  for (const column of LAKE_COLUMNS) {
    const value = record[column.name];
    if (value === null || value === undefined) row[column.name] = null;
    else if (NUMERIC_TYPES.has(column.duck)) row[column.name] = count(value);
    else if (column.duck === 'TIMESTAMP') row[column.name] = isoMillis(value);
    else if (column.duck === 'DATE') row[column.name] = String(value).slice(0, 10);
    else if (column.duck === 'BLOB') row[column.name] = Buffer.from(String(value), 'base64');
    else row[column.name] = String(value);
  }
  return row as unknown as TraceRow;
}

/** Rows of columns (as the cloud engines answer) as records by column name. */
export function records<T>(columns: string[], rows: T[][]): Record<string, T>[] {
  return rows.map((values) => Object.fromEntries(columns.map((c, i) => [c, values[i]!])));
}
