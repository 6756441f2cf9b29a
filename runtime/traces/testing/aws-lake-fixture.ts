/**
 * What the stack (components/aws) provides a tenant's AWS lake, made in moto for the lake's
 * tests: the Athena workgroup (its result encryption as given) and the two Glue tables
 * (components/aws/lakehouse.ts declares them from the same runtime/traces/schema.ts; the
 * runtime itself never creates tables).
 */
import { CreateWorkGroupCommand, type AthenaClient } from '@aws-sdk/client-athena';
import { CreateDatabaseCommand, CreateTableCommand, type GlueClient } from '@aws-sdk/client-glue';
import { stagingLocation, type AwsTenantLake } from '../aws-lake.js';
import { athenaColumnList, PARQUET_STORAGE, stagingTableProperties, STAGING_PARTITION_COLUMN, TRACE_STAGING_TABLE, TRACE_TABLE } from '../schema.js';

/** The tenant's workgroup: results under `key` (the tenant's, or another to misconfigure it), enforced or not. */
export function createWorkgroup(athena: AthenaClient, t: AwsTenantLake, enforce: boolean, key: string) {
  return athena.send(
    new CreateWorkGroupCommand({
      Name: t.workgroup,
      Configuration: {
        EnforceWorkGroupConfiguration: enforce,
        ResultConfiguration: { OutputLocation: `s3://${t.bucket}/${t.prefix}athena/`, EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: key } },
      },
    }),
  );
}

/** The tenant's Glue database with `traces_staging` and `traces`, as the stack declares them. */
export async function declareLakeTables(glue: GlueClient, t: AwsTenantLake): Promise<void> {
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: t.database } }));
  await glue.send(
    new CreateTableCommand({
      DatabaseName: t.database,
      TableInput: {
        Name: TRACE_STAGING_TABLE,
        TableType: 'EXTERNAL_TABLE',
        Parameters: { EXTERNAL: 'TRUE', classification: 'parquet', ...stagingTableProperties(stagingLocation(t)) },
        PartitionKeys: [{ Name: STAGING_PARTITION_COLUMN, Type: 'string' }],
        StorageDescriptor: {
          Location: stagingLocation(t),
          InputFormat: PARQUET_STORAGE.inputFormat,
          OutputFormat: PARQUET_STORAGE.outputFormat,
          SerdeInfo: { SerializationLibrary: PARQUET_STORAGE.serializationLibrary },
          Columns: athenaColumnList().map((c) => ({ Name: c.name, Type: c.type })),
        },
      },
    }),
  );
  // moto takes no Iceberg table input; a table of that name is what the lake checks for.
  await glue.send(
    new CreateTableCommand({
      DatabaseName: t.database,
      TableInput: { Name: TRACE_TABLE, TableType: 'EXTERNAL_TABLE', Parameters: { table_type: 'ICEBERG' }, StorageDescriptor: { Location: `s3://${t.bucket}/${t.prefix}traces/iceberg/` } },
    }),
  );
}
