/**
 * The GCP lake: a BigQuery dataset per tenant whose default encryption is the tenant's
 * Cloud KMS key (CMEK), and in it one table `traces` partitioned by day, also under that
 * key. BigQuery REST API v2 over `fetch`; the base URL and the bearer-token provider are
 * injected (the worker passes a metadata-server or workload-identity token; tests a
 * loopback stand-in).
 *
 * The dataset and key are infrastructure (components/gcp, from Pulumi); this adapter only
 * checks them and writes data. Before its first write for a tenant it reads the dataset
 * and refuses unless `defaultEncryptionConfiguration.kmsKeyName` is that tenant's key,
 * then creates the table if it is missing (LAKE_COLUMNS, day partitions, the CMEK) or
 * checks the existing table's key, columns (LAKE_COLUMNS) and day partitioning.
 *
 * Write: each WAL segment becomes one load job (newline-delimited JSON, multipart upload)
 * whose job id is derived from the tenant and segment. BigQuery refuses a second job with
 * an id it already has (409), and a load job is atomic (all rows or none), so a replayed
 * segment finds its job, waits for its outcome and appends nothing twice. Only when that
 * job failed (nothing written) is the next id (`-1`, `-2`, ...) used. Streaming inserts
 * (insertAll + insertId) were not used: their de-duplication is best effort over about a
 * minute, and a replay after a crash can come much later.
 *
 * Read (the gateway's runs list/show, lake-runs.ts): `queryTraces` runs run-sql.ts's
 * queries with jobs.query in the tenant's dataset, values as named query parameters. A
 * read creates nothing and checks no key: it writes nothing into the lake.
 *
 * Content stays sealed: `content` is the AES-GCM box (BYTES, base64 on the wire) and
 * `content_key` the tenant-wrapped data key, as in every lake.
 */
import { randomBytes } from 'node:crypto';
import { ClawError } from '../../core/errors.js';
import { assertTenantId } from '../../core/config/schema.js';
import { assertSegmentId, checkOncePerTenant } from './lake.js';
import type { LakeWriter } from './lake.js';
import { LAKE_COLUMNS, type TraceRow } from './model.js';
import { namedSql, type SqlQuery } from './run-sql.js';
import type { TraceQueryEngine } from './lake-runs.js';
import { bigQuerySchema, tableResource, tableSchemaProblems, TRACE_TABLE } from './schema.js';

export { bigQuerySchema, tableResource, tableSchemaProblems, type BigQueryField } from './schema.js';

export interface GcpTenantLake {
  projectId: string;
  /** The tenant's dataset (components/gcp names it; e.g. `claw_acme`). */
  datasetId: string;
  /** `projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>`: the tenant's key (managed or BYOK). */
  kmsKeyName: string;
  /** The dataset's location (jobs run there); read from the dataset when absent. */
  location?: string;
}

export interface GcpLakeOptions {
  /** Per tenant, from the stack outputs. */
  tenant: (tenantId: string) => GcpTenantLake;
  /** An OAuth2 access token with a BigQuery scope; called per request (cache it inside). */
  accessToken: () => Promise<string>;
  /** Default https://bigquery.googleapis.com; a stand-in in tests. */
  baseUrl?: string;
  /** Default `traces`. */
  table?: string;
  /** How long to wait for a load job. */
  jobTimeoutMs?: number;
  /** Failed load jobs retried under a new id before giving up (the WAL keeps the segment). */
  maxAttempts?: number;
  /** Rows per page of query results (default 1000; responses are also capped at 10 MB). */
  queryPageRows?: number;
  fetch?: typeof fetch;
}

/** One row as BigQuery JSON: BYTES base64, DATE `YYYY-MM-DD`, TIMESTAMP ISO 8601. */
export function rowJson(row: TraceRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of LAKE_COLUMNS) {
    const value = row[column.name];
    if (value === null || value === undefined) out[column.name] = null;
    else if (column.duck === 'BLOB') out[column.name] = Buffer.from(value as Uint8Array).toString('base64');
    else out[column.name] = value;
  }
  return out;
}

/** Job ids allow letters, digits, '_' and '-': tenant and segment ids are both within that. */
export function loadJobId(tenantId: string, segmentId: string, attempt: number): string {
  return `claw-traces-${tenantId}-${segmentId}${attempt > 0 ? `-${attempt}` : ''}`;
}

/** Key names compared without a `/cryptoKeyVersions/<n>` suffix (BigQuery may report one). */
export function sameKey(a: string | undefined, b: string): boolean {
  const strip = (k: string) => k.replace(/\/cryptoKeyVersions\/[^/]+$/, '');
  return a !== undefined && strip(a) === strip(b);
}

/** jobs.query and jobs.getQueryResults answers, as far as the reader uses them. */
interface QueryPage {
  jobReference?: { projectId?: string; jobId?: string; location?: string };
  jobComplete?: boolean;
  schema?: { fields?: { name: string; type: string }[] };
  rows?: { f?: { v?: unknown }[] }[];
  pageToken?: string;
  errors?: { message?: string }[];
}

/**
 * A result cell as text: TIMESTAMP (int64 microseconds, as asked; float seconds otherwise)
 * as ISO 8601 with milliseconds, anything else as BigQuery wrote it (INT64 and FLOAT64 as
 * decimal text, DATE `YYYY-MM-DD`, BYTES base64), NULL as null.
 */
export function bigQueryText(value: unknown, type: string): string | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  if (type !== 'TIMESTAMP') return text;
  const ms = /^-?\d+$/.test(text) ? Number(BigInt(text) / 1000n) : Math.round(Number(text) * 1000);
  if (!Number.isFinite(ms)) throw new Error(`not a BigQuery timestamp: ${text.slice(0, 40)}`);
  return new Date(ms).toISOString();
}

interface BigQueryError {
  error?: { code?: number; message?: string; status?: string; errors?: { reason?: string; message?: string }[] };
}

interface Job {
  jobReference?: { projectId?: string; jobId?: string; location?: string };
  status?: { state?: 'PENDING' | 'RUNNING' | 'DONE'; errorResult?: { reason?: string; message?: string }; errors?: { message?: string }[] };
  statistics?: { load?: { outputRows?: string } };
}

/** A BigQuery error answer; 404 and 409 are handled where they mean something, the rest surface. */
class HttpError extends ClawError {
  constructor(
    readonly status: number,
    readonly body: BigQueryError,
    what: string,
  ) {
    super('LAKE_REQUEST_FAILED', `BigQuery ${what}: HTTP ${status}: ${(body.error?.message ?? 'no message').split('\n')[0]}`, {
      hint:
        status === 401 || status === 403
          ? "check the tenant service account this process impersonates: writing needs BigQuery Data Editor on the tenant's dataset, reading Data Viewer, and both Job User on the project"
          : 'a write stays in the WAL and is retried; a read can be asked again',
    });
  }
}

export class GcpLake implements LakeWriter, TraceQueryEngine {
  private readonly verified = new Map<string, Promise<{ location: string | undefined }>>();
  private readonly baseUrl: string;
  private readonly tableId: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: GcpLakeOptions) {
    this.baseUrl = (options.baseUrl ?? 'https://bigquery.googleapis.com').replace(/\/$/, '');
    this.tableId = options.table ?? TRACE_TABLE;
    this.fetch = options.fetch ?? fetch;
  }

  /**
   * Fails (LAKE_DATASET_UNSAFE) unless the tenant's dataset encrypts by default with the
   * tenant's own key; then makes sure the table exists, partitioned by day, under that key.
   */
  verifyTenant(tenantId: string): Promise<{ location: string | undefined }> {
    return checkOncePerTenant(this.verified, tenantId, (id) => this.verify(id));
  }

  private async verify(tenantId: string): Promise<{ location: string | undefined }> {
    assertTenantId(tenantId);
    const t = this.options.tenant(tenantId);
    const datasetPath = `/bigquery/v2/projects/${enc(t.projectId)}/datasets/${enc(t.datasetId)}`;
    let dataset: { location?: string; defaultEncryptionConfiguration?: { kmsKeyName?: string } };
    try {
      dataset = await this.request('GET', datasetPath, undefined, `get dataset ${t.datasetId}`);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) {
        throw new ClawError('LAKE_DATASET_MISSING', `BigQuery dataset '${t.projectId}:${t.datasetId}' of tenant '${tenantId}' does not exist`, {
          hint: "run 'claw upgrade' so the stack creates it; traces stay in the local WAL until then",
        });
      }
      throw err;
    }
    const key = dataset.defaultEncryptionConfiguration?.kmsKeyName;
    if (!sameKey(key, t.kmsKeyName)) {
      throw new ClawError(
        'LAKE_DATASET_UNSAFE',
        `BigQuery dataset '${t.projectId}:${t.datasetId}' of tenant '${tenantId}' is unsafe: ${key ? "its default KMS key is not the tenant's key" : 'it has no default KMS key (Google-managed encryption)'}`,
        { hint: "run 'claw refresh' and 'claw upgrade' so the stack restores the dataset's CMEK; traces stay in the local WAL until then" },
      );
    }
    await this.ensureTable(tenantId, t, datasetPath);
    return { location: t.location ?? dataset.location };
  }

  private async ensureTable(tenantId: string, t: GcpTenantLake, datasetPath: string): Promise<void> {
    const tablePath = `${datasetPath}/tables/${enc(this.tableId)}`;
    let table: Parameters<typeof tableSchemaProblems>[0] & { encryptionConfiguration?: { kmsKeyName?: string } } | undefined;
    try {
      table = await this.request('GET', tablePath, undefined, `get table ${this.tableId}`);
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404)) throw err;
    }
    if (!table) {
      try {
        table = await this.request('POST', `${datasetPath}/tables`, tableResource(t, this.tableId), `create table ${this.tableId}`);
      } catch (err) {
        // Another writer created it between our GET and POST.
        if (!(err instanceof HttpError && err.status === 409)) throw err;
        table = await this.request('GET', tablePath, undefined, `get table ${this.tableId}`);
      }
    }
    if (!sameKey(table?.encryptionConfiguration?.kmsKeyName, t.kmsKeyName)) {
      throw new ClawError('LAKE_DATASET_UNSAFE', `BigQuery table '${t.datasetId}.${this.tableId}' of tenant '${tenantId}' is not encrypted with the tenant's key`, {
        hint: `recreate the table under the tenant's key (bq cp --destination_kms_key ...) or drop it so claw creates it; traces stay in the local WAL until then`,
      });
    }
    const problems = tableSchemaProblems(table!);
    if (problems.length > 0) {
      throw new ClawError('LAKE_TABLE_SCHEMA', `BigQuery table '${t.datasetId}.${this.tableId}' of tenant '${tenantId}' does not fit the trace rows: ${problems.join('; ')}`, {
        hint: 'the stack and this runtime disagree on the traces table: upgrade both to the same release (the table is LAKE_COLUMNS of runtime/traces/model.ts); traces stay in the local WAL until then',
        details: { problems },
      });
    }
  }

  async writeSegment(tenantId: string, segmentId: string, rows: TraceRow[]): Promise<void> {
    assertTenantId(tenantId);
    assertSegmentId(segmentId);
    for (const row of rows) if (row.tenant_id !== tenantId) throw new Error(`row of tenant ${row.tenant_id} in a segment of ${tenantId}`);
    const { location } = await this.verifyTenant(tenantId);
    if (rows.length === 0) return;
    const t = this.options.tenant(tenantId);
    const data = `${rows.map((r) => JSON.stringify(rowJson(r))).join('\n')}\n`;
    const maxAttempts = this.options.maxAttempts ?? 5;
    let lastError = '';
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const jobId = loadJobId(tenantId, segmentId, attempt);
      let job: Job;
      try {
        job = await this.insertLoadJob(tenantId, t, jobId, location, data);
      } catch (err) {
        if (!(err instanceof HttpError && err.status === 409)) throw err;
        // The job exists: this segment was submitted before (a replay). Its outcome decides.
        job = await this.getJob(t, jobId, location);
      }
      job = await this.waitForJob(t, jobId, location, job);
      if (!job.status?.errorResult) return;
      lastError = job.status.errorResult.message ?? job.status.errorResult.reason ?? 'unknown error';
      // A failed load job wrote nothing: the next id loads the segment again.
    }
    throw new ClawError('LAKE_LOAD_FAILED', `BigQuery load of segment ${segmentId} for tenant '${tenantId}' failed: ${lastError}`, {
      hint: `see job ${loadJobId(tenantId, segmentId, maxAttempts - 1)} in project ${t.projectId}; the WAL keeps the segment and retries`,
    });
  }

  /**
   * One of the read side's queries (run-sql.ts) through jobs.query: GoogleSQL, the values as
   * named query parameters, unqualified names resolved in the tenant's dataset only
   * (`defaultDataset`); then jobs.getQueryResults until the job is complete and every page
   * is read. Values come back as text (`rows[].f[].v`), TIMESTAMPs asked for as int64
   * microseconds and returned as ISO 8601; NULL is null.
   */
  async queryTraces(tenantId: string, query: SqlQuery): Promise<{ columns: string[]; rows: (string | null)[][] }> {
    assertTenantId(tenantId);
    const t = this.options.tenant(tenantId);
    const projectPath = `/bigquery/v2/projects/${enc(t.projectId)}`;
    const pageRows = this.options.queryPageRows ?? 1000;
    const request = {
      query: namedSql(query, '@'),
      useLegacySql: false,
      parameterMode: 'NAMED',
      queryParameters: Object.entries(query.params).map(([name, value]) => ({
        name,
        parameterType: { type: typeof value === 'number' ? 'INT64' : 'STRING' },
        parameterValue: { value: String(value) },
      })),
      defaultDataset: { projectId: t.projectId, datasetId: t.datasetId },
      ...(t.location ? { location: t.location } : {}),
      formatOptions: { useInt64Timestamp: true },
      maxResults: pageRows,
      timeoutMs: 10_000,
      labels: { 'claw-tenant': tenantId },
    };
    let page = await this.request<QueryPage>('POST', `${projectPath}/queries`, request, 'query');
    const job = page.jobReference;
    const more = async (pageToken?: string): Promise<QueryPage> => {
      if (!job?.jobId) throw new ClawError('LAKE_QUERY_FAILED', 'BigQuery: the query answered without a job reference', { hint: 'a read can be asked again' });
      const params = new URLSearchParams({ maxResults: String(pageRows), timeoutMs: '10000', 'formatOptions.useInt64Timestamp': 'true' });
      if (job.location) params.set('location', job.location);
      if (pageToken) params.set('pageToken', pageToken);
      return this.request<QueryPage>('GET', `${projectPath}/queries/${enc(job.jobId)}?${params}`, undefined, `query results ${job.jobId}`);
    };
    const deadline = Date.now() + (this.options.jobTimeoutMs ?? 120_000);
    while (!page.jobComplete) {
      if (Date.now() > deadline) throw new ClawError('LAKE_QUERY_TIMEOUT', `BigQuery query ${job?.jobId ?? ''} did not finish in time`, { hint: `see the job in project ${t.projectId}; a read can be asked again` });
      page = await more();
    }
    if (page.errors?.length) throw new ClawError('LAKE_QUERY_FAILED', `BigQuery: ${(page.errors[0]!.message ?? 'query failed').split('\n')[0]}`, { hint: `see job ${job?.jobId ?? ''} in project ${t.projectId}` });
    const fields = page.schema?.fields ?? [];
    const rows: (string | null)[][] = [];
    for (;;) {
      for (const row of page.rows ?? []) rows.push(fields.map((field, i) => bigQueryText(row.f?.[i]?.v, field.type)));
      if (!page.pageToken) break;
      page = await more(page.pageToken);
    }
    return { columns: fields.map((f) => f.name), rows };
  }

  private insertLoadJob(tenantId: string, t: GcpTenantLake, jobId: string, location: string | undefined, data: string): Promise<Job> {
    const job = {
      jobReference: { projectId: t.projectId, jobId, ...(location ? { location } : {}) },
      configuration: {
        load: {
          destinationTable: { projectId: t.projectId, datasetId: t.datasetId, tableId: this.tableId },
          destinationEncryptionConfiguration: { kmsKeyName: t.kmsKeyName },
          sourceFormat: 'NEWLINE_DELIMITED_JSON',
          schema: bigQuerySchema(),
          createDisposition: 'CREATE_NEVER',
          writeDisposition: 'WRITE_APPEND',
          ignoreUnknownValues: false,
          maxBadRecords: 0,
        },
        // Tenant ids are valid label values (lowercase letters, digits, '-'): jobs can be billed per tenant.
        labels: { 'claw-tenant': tenantId },
      },
    };
    const boundary = `claw-${randomBytes(12).toString('hex')}`;
    const body =
      `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(job)}\r\n` +
      `--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n${data}\r\n--${boundary}--\r\n`;
    return this.request('POST', `/upload/bigquery/v2/projects/${enc(t.projectId)}/jobs?uploadType=multipart`, body, `load job ${jobId}`, `multipart/related; boundary=${boundary}`);
  }

  private getJob(t: GcpTenantLake, jobId: string, location: string | undefined): Promise<Job> {
    const query = location ? `?location=${enc(location)}` : '';
    return this.request('GET', `/bigquery/v2/projects/${enc(t.projectId)}/jobs/${enc(jobId)}${query}`, undefined, `get job ${jobId}`);
  }

  private async waitForJob(t: GcpTenantLake, jobId: string, location: string | undefined, job: Job): Promise<Job> {
    const deadline = Date.now() + (this.options.jobTimeoutMs ?? 120_000);
    for (let delay = 100; job.status?.state !== 'DONE'; delay = Math.min(delay * 2, 2_000)) {
      if (Date.now() > deadline) throw new ClawError('LAKE_LOAD_TIMEOUT', `BigQuery load job ${jobId} did not finish in time`, { hint: 'the WAL keeps the segment; it is retried' });
      await new Promise((r) => setTimeout(r, delay));
      job = await this.getJob(t, jobId, location);
    }
    return job;
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body: unknown, what: string, contentType = 'application/json'): Promise<T> {
    const token = await this.options.accessToken();
    const response = await this.fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    const json = text ? (JSON.parse(text) as unknown) : {};
    if (!response.ok) throw new HttpError(response.status, json as BigQueryError, what);
    return json as T;
  }

  async close(): Promise<void> {}
}

const enc = encodeURIComponent;
