/**
 * The local lake: Parquet files under `<state>/lake/tenant=<id>/day=<YYYY-MM-DD>/`, one
 * file per WAL segment and day, written and read with DuckDB.
 *
 * Reads are confined structurally: a query session is a fresh in-memory DuckDB whose only
 * readable directory is the tenant's (`allowed_directories`), with every other file system
 * access disabled and the configuration locked before any user SQL runs. A query naming
 * another tenant's files (or /etc/passwd) fails inside the engine; no string filtering.
 */
import { DuckDBBlobValue, DuckDBInstance, StatementType, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ClawError } from '../../core/errors.js';
import { assertTenantId } from '../../core/config/schema.js';
import { assertSegmentId, byDay, type LakeWriter } from './lake.js';
import { LAKE_COLUMNS, METADATA_COLUMNS, type TraceRow } from './model.js';

export function lakeDir(stateDir: string): string {
  return join(stateDir, 'lake');
}

export function tenantLakeDir(stateDir: string, tenantId: string): string {
  assertTenantId(tenantId);
  return join(lakeDir(stateDir), `tenant=${tenantId}`);
}

/** SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

const STAGING_TYPES: Record<string, string> = { DATE: 'VARCHAR', TIMESTAMP: 'VARCHAR' };

/** `SELECT` list turning the staging table's columns into the lake's types. */
const PARQUET_SELECT = LAKE_COLUMNS.map((c) =>
  c.duck === 'TIMESTAMP' ? `CAST(${c.name} AS TIMESTAMP) AS ${c.name}` : c.duck === 'DATE' ? `CAST(${c.name} AS DATE) AS ${c.name}` : c.name,
).join(', ');

/**
 * Rows → one Parquet file (zstd), through an in-memory DuckDB and its appender. Used by
 * the local lake and by the cloud adapters to build the files they upload.
 */
export class ParquetEncoder {
  private connection: Promise<DuckDBConnection> | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  private connect(): Promise<DuckDBConnection> {
    this.connection ??= (async () => {
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      const columns = LAKE_COLUMNS.map((c) => `${c.name} ${STAGING_TYPES[c.duck] ?? c.duck}`).join(', ');
      await connection.run(`CREATE TABLE staging (${columns})`);
      return connection;
    })();
    return this.connection;
  }

  /** Write `rows` to `path` atomically (temporary file, then rename). One call at a time. */
  encode(rows: TraceRow[], path: string): Promise<void> {
    const run = this.tail.then(async () => {
      const connection = await this.connect();
      await connection.run('DELETE FROM staging');
      const appender = await connection.createAppender('staging');
      for (const row of rows) {
        for (const column of LAKE_COLUMNS) appendValue(appender, column.duck, row[column.name]);
        appender.endRow();
      }
      appender.closeSync();
      const temporary = `${path}.tmp`;
      await connection.run(`COPY (SELECT ${PARQUET_SELECT} FROM staging ORDER BY run_id, seq) TO ${sqlString(temporary)} (FORMAT parquet, COMPRESSION zstd)`);
      // Rename is atomic: readers see the whole file or none; a rewrite after a crash replaces it.
      renameSync(temporary, path);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.tail;
    if (this.connection) (await this.connection).closeSync();
    this.connection = undefined;
  }
}

export class LocalLake implements LakeWriter {
  private readonly encoder = new ParquetEncoder();

  constructor(readonly stateDir: string) {}

  async writeSegment(tenantId: string, segmentId: string, rows: TraceRow[]): Promise<void> {
    assertTenantId(tenantId);
    assertSegmentId(segmentId);
    for (const [day, dayRows] of byDay(rows)) {
      for (const row of dayRows) if (row.tenant_id !== tenantId) throw new Error(`row of tenant ${row.tenant_id} in a segment of ${tenantId}`);
      const dir = join(tenantLakeDir(this.stateDir, tenantId), `day=${day}`);
      mkdirSync(dir, { recursive: true });
      await this.encoder.encode(dayRows, join(dir, `${segmentId}.parquet`));
    }
  }

  close(): Promise<void> {
    return this.encoder.close();
  }
}

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

function appendValue(appender: Appender, type: string, value: unknown): void {
  if (value === null || value === undefined) return appender.appendNull();
  switch (type) {
    case 'INTEGER':
      return appender.appendInteger(value as number);
    case 'BIGINT':
      return appender.appendBigInt(BigInt(Math.trunc(value as number)));
    case 'DOUBLE':
      return appender.appendDouble(value as number);
    case 'BLOB':
      return appender.appendBlob(value as Uint8Array);
    default:
      return appender.appendVarchar(String(value));
  }
}

// ------------------------------------------------------------------ queries

export interface QueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** DuckDB values as plain JS: BIGINT → number, BLOB → Uint8Array, temporal types → ISO-ish strings. */
function plain(value: DuckDBValue): unknown {
  if (value === null) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof DuckDBBlobValue) return value.bytes;
  if (typeof value === 'object') return String(value);
  return value;
}

/** First line of an engine error, without DuckDB's "LINE 1: ..." caret display. */
export function engineErrorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^Failed to extract statements: /, '').split('\n')[0]!.trim();
}

/** The engine's error as one ClawError line; file access outside the tenant is its own code. */
function queryError(err: unknown, code: string, hint: string): ClawError {
  const line = engineErrorLine(err);
  if (line.startsWith('Permission Error')) {
    return new ClawError('TRACE_QUERY_FORBIDDEN', line, { hint: `a trace query reads only this tenant's view 'traces'` });
  }
  return new ClawError(code, line, { hint });
}

/**
 * A read-only SQL session over one tenant's trace files: the view `traces` has every
 * lake column (content and content_key are ciphertext).
 */
export class TenantQuerySession {
  private constructor(
    readonly tenantId: string,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(stateDir: string, tenantId: string): Promise<TenantQuerySession> {
    const dir = tenantLakeDir(stateDir, tenantId);
    // No temp directory: DuckDB's default ('.tmp' under the cwd) stays readable by queries
    // even with external access off; a trace query needs no spilling.
    const instance = await DuckDBInstance.create(':memory:', { temp_directory: '' });
    const connection = await instance.connect();
    const hasFiles = existsSync(dir) && readdirSync(dir).some((d) => d.startsWith('day=') && readdirSync(join(dir, d)).some((f) => f.endsWith('.parquet')));
    if (hasFiles) {
      await connection.run(`SET allowed_directories = [${sqlString(`${dir}/`)}]`);
      await connection.run('SET enable_external_access = false');
      await connection.run(
        `CREATE VIEW traces AS SELECT * FROM read_parquet(${sqlString(`${dir}/day=*/*.parquet`)}, hive_partitioning = false, union_by_name = true)`,
      );
    } else {
      // No events yet: an empty table with the lake's columns, so queries still bind.
      await connection.run('SET enable_external_access = false');
      await connection.run(`CREATE TABLE traces (${LAKE_COLUMNS.map((c) => `${c.name} ${c.duck}`).join(', ')})`);
    }
    await connection.run('SET lock_configuration = true');
    return new TenantQuerySession(tenantId, connection);
  }

  /**
   * One SELECT statement; anything else (or an engine error) is one ClawError line. Values
   * by name (`$name`) or, as an array, by position (`?`).
   */
  async query(sql: string, params: Record<string, string | number> | (string | number)[] = {}): Promise<QueryResult> {
    let prepared;
    try {
      const statements = await this.connection.extractStatements(sql);
      if (statements.count !== 1) {
        throw new ClawError('TRACE_QUERY_NOT_SELECT', `a trace query is exactly one SELECT statement (got ${statements.count})`, {
          hint: 'remove the extra statements; e.g. SELECT agent_id, count(*) FROM traces GROUP BY agent_id',
        });
      }
      prepared = await statements.prepare(0);
    } catch (err) {
      if (err instanceof ClawError) throw err;
      throw queryError(err, 'TRACE_QUERY_INVALID', `query the view 'traces'; columns: ${METADATA_COLUMNS.join(', ')}`);
    }
    if (prepared.statementType !== StatementType.SELECT) {
      throw new ClawError('TRACE_QUERY_NOT_SELECT', `trace queries are read-only: got a ${StatementType[prepared.statementType]} statement`, {
        hint: 'use a single SELECT over the view traces',
      });
    }
    try {
      const bound = Array.isArray(params) ? params.map((value, i) => [i + 1, value] as const) : Object.entries(params).map(([name, value]) => [prepared.parameterIndex(name), value] as const);
      for (const [index, value] of bound) {
        if (typeof value === 'number') prepared.bindInteger(index, value);
        else prepared.bindVarchar(index, value);
      }
      const result = await prepared.run();
      const columns = result.deduplicatedColumnNames();
      const rows = (await result.getRows()).map((values) => Object.fromEntries(columns.map((c, i) => [c, plain(values[i]!)])));
      return { columns, rows };
    } catch (err) {
      throw queryError(err, 'TRACE_QUERY_FAILED', "fix the query; the message is DuckDB's");
    }
  }

  close(): void {
    this.connection.closeSync();
  }
}

/** Deletes a tenant's whole lake partition (used by tests and tenant removal). */
export function removeTenantLake(stateDir: string, tenantId: string): void {
  rmSync(tenantLakeDir(stateDir, tenantId), { recursive: true, force: true });
}
