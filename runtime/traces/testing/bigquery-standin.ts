/**
 * A loopback stand-in for the few BigQuery REST v2 calls the GCP lake makes (there is no
 * BigQuery emulator here). On 127.0.0.1, port 0. It keeps datasets, tables, rows and jobs
 * in memory and records every request as received, so a test can look for plaintext.
 *
 * What it implements, with BigQuery's shapes and status codes: datasets.get (with
 * `defaultEncryptionConfiguration`), tables.get / tables.insert (409 when it exists),
 * jobs.insert on the upload URI (multipart/related: the Job JSON, then newline-delimited
 * JSON rows; 409 `duplicate` for a job id it already has), jobs.get. Load jobs are atomic
 * and checked: the destination table must exist (CREATE_NEVER), every row must match the
 * table's schema (required fields, INT64/FLOAT64/DATE/TIMESTAMP/BYTES-as-base64, no
 * unknown fields) and the job's `destinationEncryptionConfiguration` must name the
 * table's key, else the job ends DONE with an `errorResult` and writes nothing. A job is
 * RUNNING on insert and DONE on the next jobs.get (so clients must poll). A bearer token
 * is required (401 otherwise).
 *
 * Queries (jobs.query, jobs.getQueryResults): GoogleSQL only (`useLegacySql: false`),
 * named parameters only, unqualified table names resolved in `defaultDataset` alone (a
 * query without one is refused, and no other dataset's rows are visible to it). The SQL is
 * NOT BigQuery's engine: DuckDB stands in for it, over the dataset's rows as loaded, the
 * `@name` parameters bound as DuckDB's `$name`. Answers have BigQuery's shape: `schema`,
 * `rows[].f[].v` as strings (INT64 and FLOAT64 as decimal text, DATE `YYYY-MM-DD`, BYTES
 * base64, TIMESTAMP float seconds, or int64 microseconds with
 * `formatOptions.useInt64Timestamp`), NULL as null, `maxResults` pages with a `pageToken`,
 * and `jobComplete: false` on jobs.query after `deferNextQuery()` (results then come from
 * jobs.getQueryResults).
 *
 * What it does NOT check: IAM and token validity (any non-empty bearer passes, unless
 * `token` is set), that anything is really encrypted (no KMS: key names are compared as
 * strings), locations, quotas, partition limits, GoogleSQL itself (DuckDB runs the text),
 * streaming inserts and their insertId de-duplication, resumable uploads, and BigQuery's
 * full JSON coercion rules.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DuckDBBlobValue, DuckDBInstance, DuckDBTimestampValue, type DuckDBValue } from '@duckdb/node-api';
import { GcpLake, type GcpLakeOptions, type GcpTenantLake } from '../gcp-lake.js';

export interface StandinField {
  name: string;
  type: string;
  mode?: string;
}

export interface StandinTable {
  resource: Record<string, unknown> & { schema: { fields: StandinField[] }; encryptionConfiguration?: { kmsKeyName?: string } };
  rows: Record<string, unknown>[];
}

export interface StandinDataset {
  projectId: string;
  datasetId: string;
  location: string;
  kmsKeyName?: string;
  tables: Map<string, StandinTable>;
}

export interface StandinJob {
  resource: Record<string, unknown> & { status: { state: string; errorResult?: { reason: string; message: string } } };
  /** jobs.get calls seen; the job turns DONE on the first. */
  polls: number;
}

/** A query the stand-in ran: its request as received, and its answer in BigQuery's shape. */
export interface StandinQuery {
  jobId: string;
  request: {
    query?: string;
    useLegacySql?: boolean;
    parameterMode?: string;
    queryParameters?: { name?: string; parameterType?: { type?: string }; parameterValue?: { value?: string } }[];
    defaultDataset?: { projectId?: string; datasetId?: string };
    labels?: Record<string, string>;
    maxResults?: number;
    formatOptions?: { useInt64Timestamp?: boolean };
  };
  fields: { name: string; type: string; mode: 'NULLABLE' }[];
  /** Cells by column, as DuckDB returned them (encoded per request: timestamps differ). */
  values: DuckDBValue[][];
  /** jobs.getQueryResults calls seen. */
  polls: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

export interface BigQueryStandin {
  /** http://127.0.0.1:<port> — pass as the lake's `baseUrl`. */
  url: string;
  requests: RecordedRequest[];
  datasets: Map<string, StandinDataset>;
  jobs: Map<string, StandinJob>;
  /** Queries run, in order. */
  queries: StandinQuery[];
  /** The next jobs.query answers `jobComplete: false` without rows; results come from jobs.getQueryResults. */
  deferNextQuery(): void;
  addDataset(d: { projectId: string; datasetId: string; location?: string; kmsKeyName?: string }): StandinDataset;
  /** Make the next load job fail (as a backend error would), writing nothing. */
  failNextLoad(message: string): void;
  close(): Promise<void>;
}

const key = (projectId: string, id: string) => `${projectId}:${id}`;

/** GcpLakes that talk to the stand-in (started later: `standin` is read at each call) with `token`, for the test's tenants. */
export function standinLakes(standin: () => BigQueryStandin, tenants: Record<string, GcpTenantLake>, token: string): (options?: Partial<GcpLakeOptions>) => GcpLake {
  return (options = {}) => new GcpLake({ baseUrl: standin().url, accessToken: async () => token, tenant: (id) => tenants[id]!, jobTimeoutMs: 10_000, ...options });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

function error(res: ServerResponse, status: number, reason: string, message: string): void {
  const statusName = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 404: 'NOT_FOUND', 409: 'ALREADY_EXISTS' }[status] ?? 'UNKNOWN';
  send(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason }], status: statusName } });
}

/** The parts of a multipart/related body (only what the lake sends: CRLF, no nesting). */
function multipart(body: string, contentType: string): string[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error('no multipart boundary');
  return body
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((part) => {
      const split = part.indexOf('\r\n\r\n');
      return part.slice(split + 4).replace(/\r\n$/, '');
    });
}

/** Why a row does not fit the schema, or undefined. */
function rowProblem(row: Record<string, unknown>, fields: StandinField[]): string | undefined {
  const names = new Set(fields.map((f) => f.name));
  for (const k of Object.keys(row)) if (!names.has(k)) return `no such field: ${k}`;
  for (const f of fields) {
    const v = row[f.name];
    if (v === null || v === undefined) {
      if (f.mode === 'REQUIRED') return `missing required field: ${f.name}`;
      continue;
    }
    const ok =
      f.type === 'STRING' ? typeof v === 'string'
      : f.type === 'INT64' || f.type === 'INTEGER' ? (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v))
      : f.type === 'FLOAT64' || f.type === 'FLOAT' ? typeof v === 'number'
      : f.type === 'DATE' ? typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)
      : f.type === 'TIMESTAMP' ? typeof v === 'string' && !Number.isNaN(Date.parse(v))
      : f.type === 'BYTES' ? typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v)
      : false;
    if (!ok) return `field ${f.name}: ${JSON.stringify(v).slice(0, 40)} is not a valid ${f.type}`;
  }
  return undefined;
}

/** DuckDB's column types as BigQuery names them in a result schema. */
const RESULT_TYPES: Record<string, string> = { VARCHAR: 'STRING', BIGINT: 'INT64', INTEGER: 'INT64', HUGEINT: 'INT64', DOUBLE: 'FLOAT64', DATE: 'DATE', TIMESTAMP: 'TIMESTAMP', BLOB: 'BYTES', BOOLEAN: 'BOOL' };
/** The lake's column types as the stand-in stores a table (its schema's BigQuery types). */
const STORE_TYPES: Record<string, string> = { STRING: 'VARCHAR', INT64: 'BIGINT', INTEGER: 'BIGINT', FLOAT64: 'DOUBLE', FLOAT: 'DOUBLE', DATE: 'DATE', TIMESTAMP: 'TIMESTAMP', BYTES: 'BLOB', JSON: 'VARCHAR' };

/** Runs `sql` on DuckDB over the tables of one dataset only (as loaded), `@name` bound as `$name`. */
async function runQuery(d: StandinDataset, sql: string, params: NonNullable<StandinQuery['request']['queryParameters']>): Promise<Pick<StandinQuery, 'fields' | 'values'>> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const [tableId, table] of d.tables) {
      const fields = table.resource.schema.fields;
      await connection.run(`CREATE TABLE "${tableId}" (${fields.map((f) => `"${f.name}" ${STORE_TYPES[f.type] ?? 'VARCHAR'}`).join(', ')})`);
      const insert = await connection.prepare(`INSERT INTO "${tableId}" VALUES (${fields.map((f) => (f.type === 'BYTES' ? 'from_base64(CAST(? AS VARCHAR))' : `CAST(? AS ${STORE_TYPES[f.type] ?? 'VARCHAR'})`)).join(', ')})`);
      for (const row of table.rows) {
        fields.forEach((f, i) => {
          const v = row[f.name];
          if (v === null || v === undefined) insert.bindNull(i + 1);
          else insert.bindVarchar(i + 1, String(v));
        });
        await insert.run();
      }
    }
    const prepared = await connection.prepare(sql.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, '$$$1'));
    for (const p of params) {
      const index = prepared.parameterIndex(p.name ?? '');
      if (p.parameterType?.type === 'INT64') prepared.bindBigInt(index, BigInt(p.parameterValue?.value ?? '0'));
      else prepared.bindVarchar(index, p.parameterValue?.value ?? '');
    }
    const result = await prepared.run();
    const fields = result.columnNames().map((name, i) => ({ name, type: RESULT_TYPES[String(result.columnTypes()[i])] ?? 'STRING', mode: 'NULLABLE' as const }));
    return { fields, values: await result.getRows() };
  } finally {
    connection.closeSync();
  }
}

/** One cell as BigQuery's REST API writes it. */
function cell(value: DuckDBValue, type: string, int64Timestamp: boolean): string | null {
  if (value === null) return null;
  if (value instanceof DuckDBTimestampValue) return int64Timestamp ? String(value.micros) : String(Number(value.micros) / 1e6);
  if (value instanceof DuckDBBlobValue) return Buffer.from(value.bytes).toString('base64');
  if (type === 'BOOL') return value ? 'true' : 'false';
  return String(value);
}

export async function startBigQueryStandin(options: { token?: string } = {}): Promise<BigQueryStandin> {
  const datasets = new Map<string, StandinDataset>();
  const jobs = new Map<string, StandinJob>();
  const requests: RecordedRequest[] = [];
  const queries: StandinQuery[] = [];
  let failNext: string | undefined;
  let deferNext = false;

  /** One page of a query's answer, from `offset`. */
  function page(q: StandinQuery, projectId: string, offset: number, maxResults: number | undefined, int64Timestamp: boolean, kind: string): Record<string, unknown> {
    const end = Math.min(q.values.length, offset + (maxResults ?? q.values.length));
    const rows = q.values.slice(offset, end).map((values) => ({ f: values.map((v, i) => ({ v: cell(v, q.fields[i]!.type, int64Timestamp) })) }));
    return {
      kind,
      jobReference: { projectId, jobId: q.jobId, location: 'EU' },
      jobComplete: true,
      schema: { fields: q.fields },
      totalRows: String(q.values.length),
      rows,
      ...(end < q.values.length ? { pageToken: String(end) } : {}),
      cacheHit: false,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    requests.push({ method: req.method ?? '', path: url.pathname + url.search, authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    if (!token || (options.token !== undefined && token !== options.token)) return error(res, 401, 'unauthorized', 'Request had invalid authentication credentials.');

    const path = url.pathname;
    let m: RegExpExecArray | null;
    if ((m = /^\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/]+)$/.exec(path)) && req.method === 'GET') {
      const d = datasets.get(key(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)));
      if (!d) return error(res, 404, 'notFound', `Not found: Dataset ${m[1]}:${m[2]}`);
      return send(res, 200, {
        kind: 'bigquery#dataset',
        id: `${d.projectId}:${d.datasetId}`,
        datasetReference: { projectId: d.projectId, datasetId: d.datasetId },
        location: d.location,
        ...(d.kmsKeyName ? { defaultEncryptionConfiguration: { kmsKeyName: d.kmsKeyName } } : {}),
      });
    }
    if ((m = /^\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(path)) && req.method === 'GET') {
      const d = datasets.get(key(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)));
      const t = d?.tables.get(decodeURIComponent(m[3]!));
      if (!d || !t) return error(res, 404, 'notFound', `Not found: Table ${m[1]}:${m[2]}.${m[3]}`);
      return send(res, 200, { ...t.resource, numRows: String(t.rows.length) });
    }
    if ((m = /^\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/]+)\/tables$/.exec(path)) && req.method === 'POST') {
      const d = datasets.get(key(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)));
      if (!d) return error(res, 404, 'notFound', `Not found: Dataset ${m[1]}:${m[2]}`);
      const resource = JSON.parse(body) as StandinTable['resource'] & { tableReference?: { tableId?: string }; timePartitioning?: { type?: string; field?: string } };
      const tableId = resource.tableReference?.tableId;
      if (!tableId) return error(res, 400, 'invalid', 'tableReference.tableId is required');
      if (d.tables.has(tableId)) return error(res, 409, 'duplicate', `Already Exists: Table ${d.projectId}:${d.datasetId}.${tableId}`);
      const fields = resource.schema?.fields ?? [];
      const partition = resource.timePartitioning?.field;
      if (partition && !fields.some((f) => f.name === partition && (f.type === 'DATE' || f.type === 'TIMESTAMP'))) {
        return error(res, 400, 'invalid', `The field specified for partitioning must be a top-level DATE or TIMESTAMP field: ${partition}`);
      }
      // A table without its own key inherits the dataset's default, as BigQuery does.
      const encryptionConfiguration = resource.encryptionConfiguration ?? (d.kmsKeyName ? { kmsKeyName: d.kmsKeyName } : undefined);
      const created = { ...resource, kind: 'bigquery#table', id: `${d.projectId}:${d.datasetId}.${tableId}`, ...(encryptionConfiguration ? { encryptionConfiguration } : {}) };
      d.tables.set(tableId, { resource: created, rows: [] });
      return send(res, 200, created);
    }
    if ((m = /^\/upload\/bigquery\/v2\/projects\/([^/]+)\/jobs$/.exec(path)) && req.method === 'POST') {
      if (url.searchParams.get('uploadType') !== 'multipart') return error(res, 400, 'invalid', 'only uploadType=multipart is supported by the stand-in');
      const [meta, data = ''] = multipart(body, req.headers['content-type'] ?? '');
      const job = JSON.parse(meta!) as { jobReference?: { projectId?: string; jobId?: string; location?: string }; configuration?: { load?: Record<string, unknown> } };
      const projectId = decodeURIComponent(m[1]!);
      const jobId = job.jobReference?.jobId ?? `job_${jobs.size}`;
      if (jobs.has(key(projectId, jobId))) return error(res, 409, 'duplicate', `Already Exists: Job ${projectId}:${job.jobReference?.location ?? 'US'}.${jobId}`);
      const load = job.configuration?.load as
        | { destinationTable?: { projectId?: string; datasetId?: string; tableId?: string }; destinationEncryptionConfiguration?: { kmsKeyName?: string }; sourceFormat?: string; createDisposition?: string }
        | undefined;
      let errorResult: { reason: string; message: string } | undefined;
      let outputRows = 0;
      const dest = load?.destinationTable;
      const d = dest ? datasets.get(key(dest.projectId ?? projectId, dest.datasetId ?? '')) : undefined;
      const table = dest?.tableId ? d?.tables.get(dest.tableId) : undefined;
      if (failNext !== undefined) {
        errorResult = { reason: 'backendError', message: failNext };
        failNext = undefined;
      } else if (!load || load.sourceFormat !== 'NEWLINE_DELIMITED_JSON') errorResult = { reason: 'invalid', message: 'the stand-in loads NEWLINE_DELIMITED_JSON only' };
      else if (!table) errorResult = { reason: 'notFound', message: `Not found: Table ${dest?.projectId}:${dest?.datasetId}.${dest?.tableId}` };
      else if (load.destinationEncryptionConfiguration && load.destinationEncryptionConfiguration.kmsKeyName !== table.resource.encryptionConfiguration?.kmsKeyName) {
        errorResult = { reason: 'invalid', message: 'Destination encryption configuration does not match the encryption of the destination table' };
      } else {
        const rows = data.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
        for (const [i, row] of rows.entries()) {
          const problem = rowProblem(row, table.resource.schema.fields);
          if (problem) {
            errorResult = { reason: 'invalid', message: `Error while reading data, error message: JSON table encountered too many errors. Row ${i}: ${problem}` };
            break;
          }
        }
        if (!errorResult) {
          table.rows.push(...rows); // atomic: all rows of the job or none
          outputRows = rows.length;
        }
      }
      const resource = {
        kind: 'bigquery#job',
        id: `${projectId}:${job.jobReference?.location ?? 'US'}.${jobId}`,
        jobReference: { projectId, jobId, location: job.jobReference?.location ?? 'US' },
        configuration: job.configuration,
        status: { state: 'RUNNING' },
        statistics: { load: { outputRows: String(outputRows) } },
        outcome: errorResult,
      };
      jobs.set(key(projectId, jobId), { resource: resource as unknown as StandinJob['resource'], polls: 0 });
      const { outcome: _, ...visible } = resource;
      return send(res, 200, visible);
    }
    if ((m = /^\/bigquery\/v2\/projects\/([^/]+)\/queries$/.exec(path)) && req.method === 'POST') {
      const projectId = decodeURIComponent(m[1]!);
      const request = JSON.parse(body) as StandinQuery['request'];
      if (request.useLegacySql !== false) return error(res, 400, 'invalid', 'the stand-in runs GoogleSQL only: set useLegacySql to false');
      if ((request.queryParameters?.length ?? 0) > 0 && request.parameterMode !== 'NAMED') return error(res, 400, 'invalid', 'the stand-in takes named query parameters only');
      const ds = request.defaultDataset;
      if (!ds?.datasetId) return error(res, 400, 'invalid', 'the stand-in resolves table names in defaultDataset only: set it');
      const d = datasets.get(key(ds.projectId ?? projectId, ds.datasetId));
      if (!d) return error(res, 404, 'notFound', `Not found: Dataset ${ds.projectId ?? projectId}:${ds.datasetId}`);
      let answer: Pick<StandinQuery, 'fields' | 'values'>;
      try {
        answer = await runQuery(d, request.query ?? '', request.queryParameters ?? []);
      } catch (err) {
        return error(res, 400, 'invalidQuery', (err as Error).message.split('\n')[0]!);
      }
      const q: StandinQuery = { jobId: `job_query_${queries.length}`, request, ...answer, polls: 0 };
      queries.push(q);
      if (deferNext) {
        deferNext = false;
        return send(res, 200, { kind: 'bigquery#queryResponse', jobReference: { projectId, jobId: q.jobId, location: 'EU' }, jobComplete: false });
      }
      return send(res, 200, page(q, projectId, 0, request.maxResults, request.formatOptions?.useInt64Timestamp === true, 'bigquery#queryResponse'));
    }
    if ((m = /^\/bigquery\/v2\/projects\/([^/]+)\/queries\/([^/]+)$/.exec(path)) && req.method === 'GET') {
      const q = queries.find((x) => x.jobId === decodeURIComponent(m![2]!));
      if (!q) return error(res, 404, 'notFound', `Not found: Job ${m[1]}:${m[2]}`);
      q.polls++;
      const maxResults = url.searchParams.get('maxResults');
      return send(res, 200, page(q, decodeURIComponent(m[1]!), Number(url.searchParams.get('pageToken') ?? 0), maxResults ? Number(maxResults) : undefined, url.searchParams.get('formatOptions.useInt64Timestamp') === 'true', 'bigquery#getQueryResultsResponse'));
    }
    if ((m = /^\/bigquery\/v2\/projects\/([^/]+)\/jobs\/([^/]+)$/.exec(path)) && req.method === 'GET') {
      const job = jobs.get(key(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)));
      if (!job) return error(res, 404, 'notFound', `Not found: Job ${m[1]}:${m[2]}`);
      job.polls++;
      const { outcome, ...resource } = job.resource as StandinJob['resource'] & { outcome?: { reason: string; message: string } };
      resource.status = outcome ? { state: 'DONE', errorResult: outcome } : { state: 'DONE' };
      job.resource = { ...resource, outcome } as StandinJob['resource'];
      return send(res, 200, resource);
    }
    return error(res, 404, 'notFound', `the stand-in does not implement ${req.method} ${path}`);
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: unknown) => error(res, 400, 'invalid', (err as Error).message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    datasets,
    jobs,
    queries,
    deferNextQuery() {
      deferNext = true;
    },
    addDataset({ projectId, datasetId, location = 'EU', kmsKeyName }) {
      const d: StandinDataset = { projectId, datasetId, location, kmsKeyName, tables: new Map() };
      datasets.set(key(projectId, datasetId), d);
      return d;
    },
    failNextLoad(message) {
      failNext = message;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
