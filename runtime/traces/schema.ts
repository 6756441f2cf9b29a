/**
 * The trace table of each cloud engine, derived from LAKE_COLUMNS (model.ts), the one row
 * schema. The runtime's lakes (aws-lake.ts, gcp-lake.ts) write and check against these;
 * the stacks (components/aws/lakehouse.ts, components/gcp/lakehouse.ts) declare the same
 * tables from them, so the two cannot drift apart.
 *
 * Pure: nothing here but model.ts, so Pulumi programs can import it without the SDKs,
 * DuckDB or the file system.
 */
import { LAKE_COLUMNS } from './model.js';

/** The table the lakes write, in every engine. */
export const TRACE_TABLE = 'traces';
/** The column the table is partitioned on (by day), in every engine. */
export const TRACE_PARTITION_COLUMN = 'day';
export const TRACE_TABLE_DESCRIPTION = 'Claw run traces (OpenTelemetry GenAI conventions); content is ciphertext';

const DESCRIPTIONS: Partial<Record<string, string>> = {
  content: 'AES-256-GCM box of the event content (sealed under content_key)',
  content_key: "data key wrapped by the tenant's root key (base64)",
};

// ---- AWS: Athena DDL and the Iceberg table in Glue -------------------------------------

/** Lake column types in Athena DDL (Hive DDL for the staging table, and the Iceberg table's DDL). */
const ATHENA_TYPES: Record<string, string> = { VARCHAR: 'string', DATE: 'date', TIMESTAMP: 'timestamp', INTEGER: 'int', BIGINT: 'bigint', DOUBLE: 'double', BLOB: 'binary' };

/**
 * The same types as Iceberg names them (what Athena's `CREATE TABLE ... 'table_type'='ICEBERG'`
 * writes into the table metadata, and what Glue's Iceberg table input takes). Athena's
 * `timestamp` is Iceberg's `timestamp` (microseconds, no zone), not `timestamptz`.
 */
const ICEBERG_TYPES: Record<string, string> = { VARCHAR: 'string', DATE: 'date', TIMESTAMP: 'timestamp', INTEGER: 'int', BIGINT: 'long', DOUBLE: 'double', BLOB: 'binary' };

/** LAKE_COLUMNS in order with their Athena (Hive) types: the staging table's Glue columns. */
export function athenaColumnList(): { name: string; type: string }[] {
  return LAKE_COLUMNS.map((c) => ({ name: c.name, type: ATHENA_TYPES[c.duck]! }));
}

/** `\`name\` type, ...` in LAKE_COLUMNS order, for Athena DDL. */
export function athenaColumns(): string {
  return athenaColumnList().map((c) => `\`${c.name}\` ${c.type}`).join(', ');
}

/**
 * The staging table: an external Parquet table over `awsLakeKeys(prefix).staging`, which
 * the lake uploads each segment under (`day=<day>/<segment>.parquet`) and MERGEs from.
 * Declared by the stack (components/aws/lakehouse.ts); the runtime never creates it.
 */
export const TRACE_STAGING_TABLE = 'traces_staging';
/**
 * Its partition column. Partition projection (no partitions registered in Glue, so the
 * runtime needs no partition writes): `dt` is a projected date whose directory is
 * `day=<dt>/`, and the MERGE reads one with `WHERE dt = '<day>'`.
 */
export const STAGING_PARTITION_COLUMN = 'dt';

/** Table properties of the staging table (TBLPROPERTIES in Athena DDL, parameters in Glue). */
export function stagingTableProperties(stagingUri: string): Record<string, string> {
  return {
    'projection.enabled': 'true',
    [`projection.${STAGING_PARTITION_COLUMN}.type`]: 'date',
    [`projection.${STAGING_PARTITION_COLUMN}.format`]: 'yyyy-MM-dd',
    [`projection.${STAGING_PARTITION_COLUMN}.range`]: '2024-01-01,NOW',
    'storage.location.template': `${stagingUri}day=\${${STAGING_PARTITION_COLUMN}}/`,
  };
}

/** What Athena's `STORED AS PARQUET` records in Glue. */
export const PARQUET_STORAGE = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
} as const;

export interface IcebergField {
  id: number;
  name: string;
  type: string;
  required: boolean;
  doc?: string;
}

/**
 * The Iceberg schema of `traces`: LAKE_COLUMNS in order, field ids from 1. Every field is
 * optional, as Athena's DDL creates them (the MERGE inserts NULLs for absent attributes).
 */
export function icebergSchema(): { schemaId: number; type: 'struct'; fields: IcebergField[] } {
  return {
    schemaId: 0,
    type: 'struct',
    fields: LAKE_COLUMNS.map((c, i) => ({
      id: i + 1,
      name: c.name,
      type: ICEBERG_TYPES[c.duck]!,
      required: false,
      ...(DESCRIPTIONS[c.name] ? { doc: DESCRIPTIONS[c.name] } : {}),
    })),
  };
}

/**
 * Identity partitions on `day`: what `PARTITIONED BY (\`day\`)` creates, and what the MERGE
 * prunes on (`t.day = DATE '<day>'`). Partition field ids start at 1000, as Iceberg's do.
 */
export function icebergPartitionSpec(): { specId: number; fields: { name: string; sourceId: number; transform: string; fieldId: number }[] } {
  const source = LAKE_COLUMNS.findIndex((c) => c.name === TRACE_PARTITION_COLUMN) + 1;
  return { specId: 0, fields: [{ name: TRACE_PARTITION_COLUMN, sourceId: source, transform: 'identity', fieldId: 1000 }] };
}

/**
 * Where a tenant's lake objects live, as keys in its bucket (`prefix` is '' or the BYOB
 * prefix ending in '/'): the staged Parquet the lake uploads and the Iceberg table it merges into.
 */
export function awsLakeKeys(prefix: string): { root: string; staging: string; iceberg: string } {
  return { root: `${prefix}traces/`, staging: `${prefix}traces/staging/`, iceberg: `${prefix}traces/iceberg/` };
}

/**
 * Iceberg table properties matching Athena's `'format'='parquet', 'write_compression'='zstd'`
 * (tableDdl in aws-lake.ts).
 */
export const ICEBERG_WRITE_PROPERTIES = { 'format-version': '2', 'write.format.default': 'parquet', 'write.parquet.compression-codec': 'zstd' } as const;

// ---- GCP: the BigQuery table -----------------------------------------------------------

/** Lake column types in BigQuery (GoogleSQL names). */
const BIGQUERY_TYPES: Record<string, string> = { VARCHAR: 'STRING', DATE: 'DATE', TIMESTAMP: 'TIMESTAMP', INTEGER: 'INT64', BIGINT: 'INT64', DOUBLE: 'FLOAT64', BLOB: 'BYTES' };
const REQUIRED = new Set(['tenant_id', 'day', 'time', 'agent_id', 'run_id', 'seq', 'kind', 'attributes']);

export interface BigQueryField {
  name: string;
  type: string;
  mode: 'REQUIRED' | 'NULLABLE';
  description?: string;
}

export function bigQuerySchema(): { fields: BigQueryField[] } {
  return {
    fields: LAKE_COLUMNS.map((c) => ({
      name: c.name,
      type: BIGQUERY_TYPES[c.duck]!,
      mode: REQUIRED.has(c.name) ? 'REQUIRED' : 'NULLABLE',
      ...(DESCRIPTIONS[c.name] ? { description: DESCRIPTIONS[c.name] } : {}),
    })),
  };
}

/** Day partitions on `day` (the column, not the ingestion time). */
export const BIGQUERY_TIME_PARTITIONING = { type: 'DAY', field: TRACE_PARTITION_COLUMN } as const;
/** Clustered by agent and run: a run's timeline reads one cluster. */
export const BIGQUERY_CLUSTERING = ['agent_id', 'run_id'] as const;

/** The table resource (BigQuery REST v2) the lake creates when missing: day partitions and the tenant's key. */
export function tableResource(t: { projectId: string; datasetId: string; kmsKeyName: string }, tableId: string): Record<string, unknown> {
  return {
    tableReference: { projectId: t.projectId, datasetId: t.datasetId, tableId },
    description: TRACE_TABLE_DESCRIPTION,
    schema: bigQuerySchema(),
    timePartitioning: { ...BIGQUERY_TIME_PARTITIONING },
    clustering: { fields: [...BIGQUERY_CLUSTERING] },
    encryptionConfiguration: { kmsKeyName: t.kmsKeyName },
  };
}

/** Legacy SQL names BigQuery may report for the same types. */
const TYPE_ALIASES: Record<string, string> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL' };

/**
 * What an existing table lacks for the lake's rows: columns missing or of another type,
 * extra REQUIRED columns (a load would fail on them), a partitioning other than `day`.
 */
export function tableSchemaProblems(table: { schema?: { fields?: { name: string; type: string; mode?: string }[] }; timePartitioning?: { field?: string } }): string[] {
  const fields = new Map((table.schema?.fields ?? []).map((f) => [f.name, f]));
  const problems: string[] = [];
  for (const want of bigQuerySchema().fields) {
    const have = fields.get(want.name);
    if (!have) problems.push(`no column ${want.name}`);
    else if ((TYPE_ALIASES[have.type] ?? have.type) !== want.type) problems.push(`column ${want.name} is ${have.type}, not ${want.type}`);
  }
  const ours = new Set(LAKE_COLUMNS.map((c) => c.name as string));
  for (const [name, f] of fields) if (!ours.has(name) && f.mode === 'REQUIRED') problems.push(`extra REQUIRED column ${name}`);
  if (table.timePartitioning?.field !== TRACE_PARTITION_COLUMN) problems.push(`partitioned by ${table.timePartitioning?.field ?? 'nothing'}, not ${TRACE_PARTITION_COLUMN}`);
  return problems;
}
