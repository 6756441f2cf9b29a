/**
 * The RunReader of the cloud lakes: run summaries and timelines from the tenant's own
 * `traces` table through its query engine — Athena in the tenant's workgroup and Glue
 * database (aws-lake.ts), BigQuery in the tenant's dataset (gcp-lake.ts). The SQL is the
 * one every lake runs (run-sql.ts), its values bound as the engine's parameters; the rows
 * become a timeline exactly as the local lake's do (runs.ts timelineFromRows), content
 * sealed unless decrypt is asked, then opened with the tenant keyring.
 *
 * What the local reader has and this one does not: the worker's write-ahead log. The
 * gateway runs in another pod, so a run shows here once the worker's flush has landed it.
 */
import { assertTenantId } from '../../core/config/schema.js';
import type { TenantKeyring } from '../ports.js';
import { records, runRowsQuery, summaryFromRecord, summaryQuery, traceRowFromRecord, type RunFilter, type RunSummary, type SqlQuery } from './run-sql.js';
import { openerFor, timelineFromRows, type RunReader, type RunTimeline } from './runs.js';

/** A lake that answers run-sql.ts's queries over one tenant's `traces` only; values as text, NULL as null. */
export interface TraceQueryEngine {
  queryTraces(tenantId: string, query: SqlQuery): Promise<{ columns: string[]; rows: (string | null)[][] }>;
}

export class LakeRunReader implements RunReader {
  constructor(
    readonly engine: TraceQueryEngine,
    private readonly keyring: TenantKeyring,
  ) {}

  async list(tenantId: string, filter: RunFilter): Promise<RunSummary[]> {
    assertTenantId(tenantId);
    const { columns, rows } = await this.engine.queryTraces(tenantId, summaryQuery(filter));
    return records(columns, rows).map(summaryFromRecord);
  }

  async show(tenantId: string, runId: string, decrypt: boolean): Promise<RunTimeline> {
    assertTenantId(tenantId);
    const { columns, rows } = await this.engine.queryTraces(tenantId, runRowsQuery(runId));
    return timelineFromRows(tenantId, runId, records(columns, rows).map(traceRowFromRecord), decrypt ? () => openerFor(this.keyring, tenantId) : undefined);
  }
}
