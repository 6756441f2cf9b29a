/**
 * The AWS lake: Parquet in the tenant's S3 prefix (SSE-KMS under the tenant's key), an
 * Iceberg table `traces` in the tenant's Glue database, loaded and queried through the
 * tenant's Athena workgroup.
 *
 * The bucket, Glue database, workgroup and key are infrastructure (components/aws, from
 * Pulumi); this adapter only checks them and writes data. Before its first write for a
 * tenant it verifies that the workgroup enforces its configuration and encrypts with
 * SSE_KMS under that tenant's key — Athena writes Iceberg data files (INSERT/MERGE) with
 * the workgroup's encryption, so this is what keeps the table under the tenant key.
 *
 * The tables are infrastructure too (DESIGN.md invariant 6): the stack declares both
 * (`traces_staging` and `traces`, components/aws/lakehouse.ts) and the tenant role may not
 * create tables. Before the first write the adapter checks that both exist (glue:GetTable)
 * and fails with LAKE_TABLE_MISSING otherwise, before uploading anything.
 *
 * Write: each WAL segment's rows for one day become one Parquet object under
 * `<prefix>traces/staging/day=<day>/<segment>.parquet` (key = segment id: a replay
 * overwrites, never duplicates), then one Athena MERGE moves them into the Iceberg table,
 * matching on the event identity, so a replayed segment inserts nothing twice.
 *
 * Read (the gateway's runs list/show, lake-runs.ts): `queryTraces` runs run-sql.ts's
 * queries in the same workgroup and database, their values as Athena execution parameters.
 */
import { AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, GetWorkGroupCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { GetTableCommand, GlueClient } from '@aws-sdk/client-glue';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClawError } from '../../core/errors.js';
import { assertTenantId } from '../../core/config/schema.js';
import { assertSegmentId, byDay, checkOncePerTenant, type LakeWriter } from './lake.js';
import { ParquetEncoder } from './local-lake.js';
import { LAKE_COLUMNS, type TraceRow } from './model.js';
import { athenaLiteral, positionalSql, type SqlQuery } from './run-sql.js';
import type { TraceQueryEngine } from './lake-runs.js';
import { athenaColumns, awsLakeKeys, stagingTableProperties, STAGING_PARTITION_COLUMN, TRACE_STAGING_TABLE, TRACE_TABLE } from './schema.js';

export { athenaColumns } from './schema.js';

export interface AwsTenantLake {
  bucket: string;
  /** Key prefix of the tenant inside the bucket, '' or ending with '/'. */
  prefix: string;
  kmsKeyArn: string;
  database: string;
  workgroup: string;
}

export interface AwsLakeOptions {
  region: string;
  /** Per tenant, from the stack outputs (`tenants[id]` of awsStack). */
  tenant: (tenantId: string) => AwsTenantLake;
  /** moto in tests. */
  endpoint?: string;
  s3?: S3Client;
  athena?: AthenaClient;
  glue?: GlueClient;
  /** How long to wait for an Athena statement. */
  queryTimeoutMs?: number;
}

export function stagingLocation(t: AwsTenantLake): string {
  return `s3://${t.bucket}/${awsLakeKeys(t.prefix).staging}`;
}

/**
 * The tenant's two tables as Athena DDL: an external Parquet table over the staging prefix
 * (partition projection on the day directories, nothing to register) and the Iceberg table
 * the data is merged into.
 *
 * The reference for what the stack declares (components/aws/lakehouse.ts, whose tests
 * compare the Glue tables with this DDL) and for bootstrapping a lake by hand. The runtime
 * never runs it: tables come from Pulumi (invariant 6), and the tenant role cannot create them.
 */
export function tableDdl(t: AwsTenantLake): string[] {
  const staging = stagingLocation(t);
  const properties = Object.entries(stagingTableProperties(staging)).map(([k, v]) => `'${k}'='${v}'`).join(', ');
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS \`${t.database}\`.\`${TRACE_STAGING_TABLE}\` (${athenaColumns()})
PARTITIONED BY (\`${STAGING_PARTITION_COLUMN}\` string)
STORED AS PARQUET
LOCATION '${staging}'
TBLPROPERTIES (${properties})`,
    `CREATE TABLE IF NOT EXISTS \`${t.database}\`.\`${TRACE_TABLE}\` (${athenaColumns()})
PARTITIONED BY (\`day\`)
LOCATION 's3://${t.bucket}/${awsLakeKeys(t.prefix).iceberg}'
TBLPROPERTIES ('table_type'='ICEBERG', 'format'='parquet', 'write_compression'='zstd')`,
  ];
}

const IDENTITY = ['run_id', 'seq', 'kind'];

/** Moves one staged object into the Iceberg table; events already there are skipped. */
export function mergeSql(t: AwsTenantLake, day: string, objectUri: string): string {
  const columns = LAKE_COLUMNS.map((c) => `\`${c.name}\``).join(', ');
  const values = LAKE_COLUMNS.map((c) => `s.\`${c.name}\``).join(', ');
  const on = [...IDENTITY.map((c) => `t.\`${c}\` = s.\`${c}\``), 'coalesce(t.attempt, 0) = coalesce(s.attempt, 0)', `t.day = DATE '${day}'`].join(' AND ');
  return `MERGE INTO \`${t.database}\`.\`traces\` t
USING (SELECT * FROM \`${t.database}\`.\`${TRACE_STAGING_TABLE}\` WHERE ${STAGING_PARTITION_COLUMN} = '${day}' AND "$path" = '${objectUri}') s
ON ${on}
WHEN NOT MATCHED THEN INSERT (${columns}) VALUES (${values})`;
}

export class AwsLake implements LakeWriter, TraceQueryEngine {
  private readonly s3: S3Client;
  private readonly athena: AthenaClient;
  private readonly glue: GlueClient;
  private readonly encoder = new ParquetEncoder();
  private readonly verified = new Map<string, Promise<void>>();

  constructor(private readonly options: AwsLakeOptions) {
    const common = { region: options.region, ...(options.endpoint ? { endpoint: options.endpoint } : {}) };
    this.s3 = options.s3 ?? new S3Client({ ...common, forcePathStyle: Boolean(options.endpoint) });
    this.athena = options.athena ?? new AthenaClient(common);
    this.glue = options.glue ?? new GlueClient(common);
  }

  /**
   * Fails unless the tenant's workgroup enforces SSE_KMS with the tenant's own key and the
   * stack has declared both lake tables (the staging table over this tenant's staging prefix).
   */
  verifyTenant(tenantId: string): Promise<void> {
    return checkOncePerTenant(this.verified, tenantId, (id) => this.verify(id));
  }

  private async verify(tenantId: string): Promise<void> {
    const t = this.options.tenant(tenantId);
    const { WorkGroup } = await this.athena.send(new GetWorkGroupCommand({ WorkGroup: t.workgroup }));
    const config = WorkGroup?.Configuration;
    const encryption = config?.ResultConfiguration?.EncryptionConfiguration;
    const problems: string[] = [];
    if (config?.EnforceWorkGroupConfiguration !== true) problems.push('it does not enforce its configuration (clients could override encryption)');
    if (encryption?.EncryptionOption !== 'SSE_KMS') problems.push(`it encrypts with ${encryption?.EncryptionOption ?? 'nothing'}, not SSE_KMS`);
    else if (encryption.KmsKey !== t.kmsKeyArn) problems.push("its KMS key is not the tenant's key");
    if (problems.length > 0) {
      throw new ClawError('LAKE_WORKGROUP_UNSAFE', `Athena workgroup '${t.workgroup}' of tenant '${tenantId}' is unsafe: ${problems.join('; ')}`, {
        hint: "run 'claw refresh' and 'claw upgrade' so the stack restores the workgroup; traces stay in the local WAL until then",
      });
    }
    await this.verifyTables(tenantId, t);
  }

  private async verifyTables(tenantId: string, t: AwsTenantLake): Promise<void> {
    const missing: string[] = [];
    const problems: string[] = [];
    for (const name of [TRACE_STAGING_TABLE, TRACE_TABLE]) {
      let table;
      try {
        ({ Table: table } = await this.glue.send(new GetTableCommand({ DatabaseName: t.database, Name: name })));
      } catch (e) {
        if ((e as { name?: string }).name === 'EntityNotFoundException') {
          missing.push(name);
          continue;
        }
        throw e;
      }
      if (name === TRACE_STAGING_TABLE) {
        const location = table?.StorageDescriptor?.Location?.replace(/\/?$/, '/');
        if (location !== stagingLocation(t)) problems.push(`${name} is located at ${location ?? 'nowhere'}, not ${stagingLocation(t)}`);
        if (table?.PartitionKeys?.map((k) => k.Name).join(',') !== STAGING_PARTITION_COLUMN) problems.push(`${name} is not partitioned by ${STAGING_PARTITION_COLUMN}`);
      }
    }
    if (missing.length > 0) {
      throw new ClawError('LAKE_TABLE_MISSING', `the lake of tenant '${tenantId}' has no table ${missing.map((n) => `${t.database}.${n}`).join(' or ')}`, {
        hint: "run 'claw install' (or 'claw up --plan' to review) so the stack declares the lake; traces stay in the local WAL until then",
      });
    }
    if (problems.length > 0) {
      throw new ClawError('LAKE_TABLE_MISMATCH', `the lake of tenant '${tenantId}' does not match what the runtime writes: ${problems.join('; ')}`, {
        hint: "run 'claw refresh' and 'claw upgrade' so the stack restores the lake tables; traces stay in the local WAL until then",
      });
    }
  }

  async writeSegment(tenantId: string, segmentId: string, rows: TraceRow[]): Promise<void> {
    assertTenantId(tenantId);
    assertSegmentId(segmentId);
    await this.verifyTenant(tenantId);
    const t = this.options.tenant(tenantId);
    const scratch = mkdtempSync(join(tmpdir(), 'claw-lake-'));
    try {
      for (const [day, dayRows] of byDay(rows)) {
        const file = join(scratch, `${day}.parquet`);
        await this.encoder.encode(dayRows, file);
        const key = `${awsLakeKeys(t.prefix).staging}day=${day}/${segmentId}.parquet`;
        await this.s3.send(
          new PutObjectCommand({
            Bucket: t.bucket,
            Key: key,
            Body: readFileSync(file),
            ContentType: 'application/vnd.apache.parquet',
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: t.kmsKeyArn,
            BucketKeyEnabled: true,
          }),
        );
        await this.runStatement(t, mergeSql(t, day, `s3://${t.bucket}/${key}`));
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  /**
   * A read-only query in the tenant's workgroup and database (IAM confines the role to
   * them), after the same check as a write (the workgroup keeps results under the tenant's
   * key). `parameters` are Athena execution parameters for the `?` in `sql`, each a single
   * constant (athenaLiteral). All result pages; a NULL is null, every other value its text.
   */
  async query(tenantId: string, sql: string, parameters: string[] = []): Promise<{ columns: string[]; rows: (string | null)[][] }> {
    assertTenantId(tenantId);
    const t = this.options.tenant(tenantId);
    await this.verifyTenant(tenantId);
    const id = await this.runStatement(t, sql, parameters);
    let columns: string[] | undefined;
    const rows: (string | null)[][] = [];
    let token: string | undefined;
    do {
      const page = await this.athena.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 1000, ...(token ? { NextToken: token } : {}) }));
      const values = (page.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? null));
      if (columns === undefined) {
        columns = page.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => c.Name ?? '') ?? [];
        values.shift(); // the first page's first row repeats the header
      }
      rows.push(...values);
      token = page.NextToken;
    } while (token);
    return { columns: columns ?? [], rows };
  }

  /** One of the read side's queries (run-sql.ts): `?` placeholders, the values as execution parameters. */
  queryTraces(tenantId: string, query: SqlQuery): Promise<{ columns: string[]; rows: (string | null)[][] }> {
    const { text, values } = positionalSql(query);
    return this.query(tenantId, text, values.map(athenaLiteral));
  }

  private async runStatement(t: AwsTenantLake, sql: string, parameters: string[] = []): Promise<string> {
    const started = await this.athena.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: t.workgroup,
        QueryExecutionContext: { Database: t.database },
        ...(parameters.length > 0 ? { ExecutionParameters: parameters } : {}),
      }),
    );
    const id = started.QueryExecutionId!;
    const deadline = Date.now() + (this.options.queryTimeoutMs ?? 120_000);
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      const { QueryExecution } = await this.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
      const state = QueryExecution?.Status?.State;
      if (state === 'SUCCEEDED') return id;
      if (state === 'FAILED' || state === 'CANCELLED') {
        throw new ClawError('LAKE_QUERY_FAILED', `Athena: ${(QueryExecution?.Status?.StateChangeReason ?? state).split('\n')[0]}`, {
          hint: `see query ${id} in workgroup ${t.workgroup}`,
        });
      }
      if (Date.now() > deadline) {
        throw new ClawError('LAKE_QUERY_TIMEOUT', `Athena query ${id} did not finish in time`, { hint: `see query ${id} in workgroup ${t.workgroup}; a write stays in the WAL and is retried, a read can be asked again` });
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  close(): Promise<void> {
    return this.encoder.close();
  }
}
