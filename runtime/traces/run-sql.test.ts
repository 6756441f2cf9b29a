/**
 * The read side's SQL (run-sql.ts) proven on DuckDB: the exact texts the Athena and
 * BigQuery adapters send — `?` with positional values, `@name` with named ones (renamed to
 * DuckDB's `$name` here, the only substitution) — run over the same lake as the local
 * reader, and must agree with the local query as it was before it became portable
 * (DuckDB-only: any_value, FILTER, strftime, HAVING on an alias), which is the reference.
 * Values go through the adapters' text path (every value as its text, NULL as null), as
 * Athena's VarCharValue and BigQuery's `f[].v` deliver them.
 *
 * What this cannot prove: that Trino and BigQuery accept the text and resolve it the same
 * way (no engine of theirs here); the text keeps to what the three document in common.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns, openerFor, showRun, timelineFromRows, type RunFilter, type RunSummary } from './runs.js';
import { TenantQuerySession } from './local-lake.js';
import { athenaLiteral, isoMillis, namedSql, positionalSql, records, runRowsQuery, summaryFromRecord, summaryQuery, traceRowFromRecord, type SqlQuery } from './run-sql.js';
import { bigQueryText } from './gcp-lake.js';
import { CANARY, tempStateDir, writeRunsFixture } from './testing/support.js';
import type { TenantKeyring } from '../ports.js';

/** The local summary query before this change, verbatim but for the parameter plumbing. */
function referenceSummaries(session: TenantQuerySession, filter: RunFilter): Promise<RunSummary[]> {
  const where: string[] = [];
  const having: string[] = [];
  const params: Record<string, string | number> = {};
  if (filter.agentId) (where.push('agent_id = $agent'), (params.agent = filter.agentId));
  if (filter.status) (having.push('status = $status'), (params.status = filter.status));
  if (filter.since) (having.push('min(time) >= CAST($since AS TIMESTAMP)'), (params.since = filter.since.toISOString().replace('Z', '')));
  if (filter.until) (having.push('min(time) < CAST($until AS TIMESTAMP)'), (params.until = filter.until.toISOString().replace('Z', '')));
  params.limit = filter.limit ?? 50;
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
  return session.query(sql, params).then(({ rows }) =>
    rows.map((r) => ({
      runId: r.run_id as string, agentId: r.agent_id as string, status: r.status as RunSummary['status'], startedAt: r.started_at as string, lastEventAt: r.last_event_at as string,
      events: r.events as number, inputTokens: r.input_tokens as number, outputTokens: r.output_tokens as number, toolCalls: r.tool_calls as number, denied: r.denied as number,
    })),
  );
}

/** Every value as its text, NULL as null: what Athena (VarCharValue) and BigQuery (`f[].v`) deliver. */
async function asText(session: TenantQuerySession, sql: string, params: Record<string, string | number> | (string | number)[]): Promise<Record<string, string | null>[]> {
  const { columns, rows } = await session.query(sql, params);
  return records(columns, rows.map((r) => columns.map((c) => (r[c] === null ? null : String(r[c])))));
}

/** The Athena text and values, as the AWS adapter sends them (but bound, not as literals). */
const athena = (session: TenantQuerySession, q: SqlQuery) => {
  const { text, values } = positionalSql(q);
  return asText(session, text, values);
};
/** The BigQuery text, `@name` renamed to DuckDB's `$name`. */
const bigquery = (session: TenantQuerySession, q: SqlQuery) => asText(session, namedSql(q, '@').replace(/@([a-z]+)/g, '$$$1'), q.params);

describe('run-sql: the Athena and BigQuery texts on DuckDB agree with the local reader', () => {
  const { stateDir, cleanup } = tempStateDir();
  let keyring: TenantKeyring;
  const sessions: Record<string, TenantQuerySession> = {};

  beforeAll(async () => {
    keyring = await writeRunsFixture(stateDir);
    for (const tenant of ['acme', 'acme-corp']) sessions[tenant] = await TenantQuerySession.open(stateDir, tenant);
  });
  afterAll(() => {
    for (const session of Object.values(sessions)) session.close();
    cleanup();
  });

  const day = (iso: string) => new Date(iso);
  const cases: [string, RunFilter, string[], string?][] = [
    ['no filter', {}, ['run-2', 'run-1']],
    ['another tenant, no filter', {}, ['run-3', 'run-1'], 'acme-corp'],
    ['another tenant, failed', { status: 'failed' }, ['run-3'], 'acme-corp'],
    ['another tenant, agent triage', { agentId: 'triage' }, ['run-3'], 'acme-corp'],
    ['agent helper', { agentId: 'helper' }, ['run-1']],
    ['agent triage', { agentId: 'triage' }, ['run-2']],
    ['an agent without runs', { agentId: 'nobody' }, []],
    ['running', { status: 'running' }, ['run-2']],
    ['completed', { status: 'completed' }, ['run-1']],
    ['failed', { status: 'failed' }, []],
    ['since a day', { since: day('2026-11-26T00:00:00Z') }, ['run-2']],
    ['until a day', { until: day('2026-11-26T00:00:00Z') }, ['run-1']],
    ['since the first event, inclusive', { since: day('2026-11-25T12:00:00.000Z') }, ['run-2', 'run-1']],
    ['until the first event, exclusive', { until: day('2026-11-25T12:00:00.000Z') }, []],
    ['since a millisecond after the start (the start, not any event, counts)', { since: day('2026-11-25T12:00:00.001Z') }, ['run-2']],
    ['limit 1: the newest', { limit: 1 }, ['run-2']],
    ['everything at once', { agentId: 'helper', status: 'completed', since: day('2026-11-25T00:00:00Z'), until: day('2026-11-27T00:00:00Z'), limit: 5 }, ['run-1']],
  ];

  it.each(cases)('summaries: %s', async (_, filter, expected, tenantId = 'acme') => {
    const session = sessions[tenantId]!;
    const reference = await referenceSummaries(session, filter);
    expect(reference.map((r) => r.runId)).toEqual(expected);
    expect((await athena(session, summaryQuery(filter))).map(summaryFromRecord)).toEqual(reference);
    expect((await bigquery(session, summaryQuery(filter))).map(summaryFromRecord)).toEqual(reference);
    expect(await listRuns({ stateDir, tenantId, ...filter })).toEqual(reference);
  });

  it('summaries carry status, counts and tokens as the reference does (not only the ids)', async () => {
    const [running, completed] = (await athena(sessions.acme!, summaryQuery({}))).map(summaryFromRecord);
    expect(running).toEqual({ runId: 'run-2', agentId: 'triage', status: 'running', startedAt: '2026-11-26T09:00:00.000Z', lastEventAt: '2026-11-26T09:00:00.000Z', events: 2, inputTokens: 0, outputTokens: 0, toolCalls: 0, denied: 0 });
    // 13 events; a call authorized again after its approval is one call; one denial.
    expect(completed).toEqual({ runId: 'run-1', agentId: 'helper', status: 'completed', startedAt: '2026-11-25T12:00:00.000Z', lastEventAt: '2026-11-25T12:00:01.200Z', events: 13, inputTokens: 1067, outputTokens: 97, toolCalls: 3, denied: 1 });
    // A call authorized again after its approval, and a denial recorded twice: one call each.
    const [failed] = (await bigquery(sessions['acme-corp']!, summaryQuery({ status: 'failed' }))).map(summaryFromRecord);
    expect(failed).toEqual({ runId: 'run-3', agentId: 'triage', status: 'failed', startedAt: '2026-11-27T08:00:00.000Z', lastEventAt: '2026-11-27T08:00:01.750Z', events: 8, inputTokens: 10, outputTokens: 5, toolCalls: 2, denied: 1 });
  });

  it.each([['acme', 'run-1'], ['acme', 'run-2'], ['acme-corp', 'run-1'], ['acme-corp', 'run-3']])('timeline of %s/%s: sealed and opened, the same as the local reader', async (tenantId, runId) => {
    for (const send of [athena, bigquery]) {
      const rows = (await send(sessions[tenantId]!, runRowsQuery(runId))).map(traceRowFromRecord);
      const sealed = await timelineFromRows(tenantId, runId, rows);
      expect(sealed).toEqual(await showRun({ stateDir, tenantId, runId }));
      expect(sealed.steps.every((s) => s.content === undefined)).toBe(true);
      const opened = await timelineFromRows(tenantId, runId, rows, () => openerFor(keyring, tenantId));
      expect(opened).toEqual(await showRun({ stateDir, tenantId, runId, keyring, decrypt: true }));
      expect(opened.decrypted).toBe(true);
      if (runId === 'run-1') expect(opened.steps.find((s) => s.kind === 'ask')!.content).toEqual({ text: CANARY.ask });
    }
  });

  it('a run id of another tenant is not in this tenant`s rows', async () => {
    await expect(timelineFromRows('acme', 'run-3', (await athena(sessions.acme!, runRowsQuery('run-3'))).map(traceRowFromRecord))).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });
});

describe('run-sql: values never enter the text', () => {
  it('numbers the Athena values in order of appearance: agent, status, since, until; the limit is a checked number', () => {
    const q = summaryQuery({ agentId: 'helper', status: 'completed', since: new Date('2026-11-25T00:00:00Z'), until: new Date('2026-11-27T00:00:00.5Z'), limit: 7 });
    const { text, values } = positionalSql(q);
    expect(values).toEqual(['helper', 'completed', '2026-11-25 00:00:00.000', '2026-11-27 00:00:00.500']);
    expect(text.match(/\?/g)).toHaveLength(4);
    expect(text).toMatch(/LIMIT 7$/);
    expect(text).not.toMatch(/helper|completed|2026/);
    expect(text).toContain('FROM traces\nWHERE agent_id = ?');
    expect(values.map(athenaLiteral)).toEqual(["'helper'", "'completed'", "'2026-11-25 00:00:00.000'", "'2026-11-27 00:00:00.500'"]);
    expect(namedSql(q, '@')).toContain('agent_id = @agent');
    expect(namedSql(q, '@')).toContain('>= CAST(@since AS TIMESTAMP)');
  });

  it('quotes an Athena literal by doubling its quotes, and refuses ids that are not ids before any query', () => {
    expect(athenaLiteral("o'brien")).toBe("'o''brien'");
    expect(athenaLiteral(42)).toBe('42');
    expect(() => summaryQuery({ agentId: "x' OR '1'='1" })).toThrow(expect.objectContaining({ code: 'RUN_FILTER_INVALID' }));
    expect(() => summaryQuery({ status: 'exploded' as never })).toThrow(expect.objectContaining({ code: 'RUN_STATUS_INVALID' }));
    expect(() => summaryQuery({ limit: 0 })).toThrow(expect.objectContaining({ code: 'RUN_FILTER_INVALID' }));
    expect(() => summaryQuery({ limit: 1.5 })).toThrow(expect.objectContaining({ code: 'RUN_FILTER_INVALID' }));
    expect(() => summaryQuery({ since: new Date('nope') })).toThrow(expect.objectContaining({ code: 'RUN_FILTER_INVALID' }));
    expect(() => runRowsQuery("r-1' OR 1=1 --")).toThrow(expect.objectContaining({ code: 'RUN_ID_INVALID' }));
    expect(runRowsQuery('r-0123456789abcdef').params).toEqual({ run: 'r-0123456789abcdef' });
  });

  it('reads timestamps as each engine writes them', () => {
    expect(isoMillis('2026-11-25 12:00:00.1')).toBe('2026-11-25T12:00:00.100Z'); // DuckDB
    expect(isoMillis('2026-11-25 12:00:00.123000')).toBe('2026-11-25T12:00:00.123Z'); // Athena, timestamp(6)
    expect(isoMillis('2026-11-25 12:00:00')).toBe('2026-11-25T12:00:00.000Z');
    expect(isoMillis('2026-11-25T12:00:00.123Z')).toBe('2026-11-25T12:00:00.123Z');
    expect(() => isoMillis('yesterday')).toThrow(/not a lake timestamp/);
    expect(bigQueryText('1764072000123000', 'TIMESTAMP')).toBe('2025-11-25T12:00:00.123Z'); // int64 microseconds
    expect(bigQueryText('1.764072000123E9', 'TIMESTAMP')).toBe('2025-11-25T12:00:00.123Z'); // float seconds
    expect(bigQueryText(null, 'TIMESTAMP')).toBeNull();
    expect(bigQueryText('42', 'INT64')).toBe('42');
  });
});
