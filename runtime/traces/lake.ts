/**
 * Where flushed trace segments land. One adapter per target (DESIGN.md invariant 5):
 * local Parquet + DuckDB (local-lake.ts), S3 + Glue Iceberg + Athena (aws-lake.ts),
 * BigQuery with CMEK (gcp-lake.ts).
 */
import type { TraceRow } from './model.js';

export interface LakeWriter {
  /**
   * Land one WAL segment's rows (all of one tenant). Must be idempotent per
   * (tenantId, segmentId): after a crash the same segment is written again.
   */
  writeSegment(tenantId: string, segmentId: string, rows: TraceRow[]): Promise<void>;
  close?(): Promise<void>;
}

/** Segment ids become file and object names (wal.ts newSegmentId: digits, '-', hex). */
export function assertSegmentId(segmentId: string): void {
  if (!/^[0-9a-f-]{1,64}$/.test(segmentId)) throw new Error(`not a WAL segment id: ${segmentId}`);
}

/** Rows grouped by their UTC day, the lake's partition. */
export function byDay(rows: TraceRow[]): Map<string, TraceRow[]> {
  const days = new Map<string, TraceRow[]>();
  for (const row of rows) {
    const list = days.get(row.day);
    if (list) list.push(row);
    else days.set(row.day, [row]);
  }
  return days;
}

/**
 * One check per tenant, shared by concurrent callers and kept while it holds; a check that
 * fails is forgotten, so the next call tries again (a cloud lake's per-tenant verification).
 */
export function checkOncePerTenant<T>(checks: Map<string, Promise<T>>, tenantId: string, check: (tenantId: string) => Promise<T>): Promise<T> {
  let pending = checks.get(tenantId);
  if (!pending) {
    pending = check(tenantId);
    pending.catch(() => checks.delete(tenantId));
    checks.set(tenantId, pending);
  }
  return pending;
}
