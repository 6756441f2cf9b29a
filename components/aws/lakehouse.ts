/**
 * A tenant's trace lake: a Glue database, the external Parquet table `traces_staging` the
 * runtime stages segments in, the Iceberg `traces` table (one row per trace
 * event, LAKE_COLUMNS of runtime/traces/model.ts; content is ciphertext under the tenant
 * key, DESIGN.md invariant 1), and an Athena workgroup that enforces SSE_KMS with the
 * tenant key and writes results only to the tenant's bucket.
 *
 * The tables are the ones runtime/traces/aws-lake.ts MERGEs from and into: their schemas,
 * partitioning (identity on `day` for `traces`; a projected `dt` for the staging table, so
 * nothing registers partitions) and locations come from runtime/traces/schema.ts, which
 * both use. The runtime only checks that they exist (invariant 6: it never creates them).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { physicalName, tenantTags } from '../../contracts/aws.js';
import { PREFIXES } from './tenant-storage.js';
import {
  athenaColumnList,
  awsLakeKeys,
  icebergPartitionSpec,
  icebergSchema,
  ICEBERG_WRITE_PROPERTIES,
  PARQUET_STORAGE,
  stagingTableProperties,
  STAGING_PARTITION_COLUMN,
  TRACE_STAGING_TABLE,
  TRACE_TABLE,
} from '../../runtime/traces/schema.js';

export interface TenantLakehouseArgs {
  install: string;
  tenantId: string;
  keyArn: pulumi.Input<string>;
  bucketName: pulumi.Input<string>;
  /** '' or the BYOB prefix ending in '/'. */
  prefix: string;
  provider: aws.Provider;
}

export class TenantLakehouse extends pulumi.ComponentResource {
  readonly databaseName: string;
  readonly tableName = TRACE_TABLE;
  readonly stagingTableName = TRACE_STAGING_TABLE;
  readonly workgroupName: string;
  readonly workgroupArn: pulumi.Output<string>;

  constructor(name: string, args: TenantLakehouseArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('claw:aws:TenantLakehouse', name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const tags = tenantTags(args.install, args.tenantId);
    const lakeKeys = awsLakeKeys(args.prefix);

    // Glue names: lowercase letters, digits and '_'.
    this.databaseName = physicalName(['claw', args.install, args.tenantId], 255, '_').replace(/-/g, '_');
    const database = new aws.glue.CatalogDatabase(
      `${name}-db`,
      { name: this.databaseName, description: `Claw traces of tenant ${args.tenantId}`, locationUri: pulumi.interpolate`s3://${args.bucketName}/${lakeKeys.root}`, tags },
      child,
    );

    const traces = new aws.glue.CatalogTable(
      `${name}-traces`,
      {
        name: this.tableName,
        databaseName: database.name,
        tableType: 'EXTERNAL_TABLE',
        openTableFormatInput: {
          icebergInput: {
            metadataOperation: 'CREATE',
            version: '2',
            icebergTableInput: {
              location: pulumi.interpolate`s3://${args.bucketName}/${lakeKeys.iceberg}`,
              schema: icebergSchema(),
              partitionSpec: icebergPartitionSpec(),
              properties: pulumi.output(args.keyArn).apply((keyArn) => ({
                ...ICEBERG_WRITE_PROPERTIES,
                // Iceberg's S3FileIO writes every data and metadata file with the tenant key.
                's3.sse.type': 'kms',
                's3.sse.key': keyArn,
              })),
            },
          },
        },
      },
      child,
    );

    // The staging table: what Athena's `CREATE EXTERNAL TABLE ... STORED AS PARQUET` with
    // partition projection records (tableDdl in aws-lake.ts). Its objects are the ones the
    // runtime uploads with SSE-KMS under the tenant key, in the tenant's bucket whose
    // default encryption is that key; the MERGE only reads them.
    const stagingUri = pulumi.interpolate`s3://${args.bucketName}/${lakeKeys.staging}`;
    new aws.glue.CatalogTable(
      `${name}-traces-staging`,
      {
        name: this.stagingTableName,
        databaseName: database.name,
        tableType: 'EXTERNAL_TABLE',
        description: `Claw trace segments of tenant ${args.tenantId} awaiting the MERGE into ${TRACE_TABLE}`,
        parameters: stagingUri.apply((uri) => ({ EXTERNAL: 'TRUE', classification: 'parquet', ...stagingTableProperties(uri) })),
        partitionKeys: [{ name: STAGING_PARTITION_COLUMN, type: 'string' }],
        storageDescriptor: {
          location: stagingUri,
          inputFormat: PARQUET_STORAGE.inputFormat,
          outputFormat: PARQUET_STORAGE.outputFormat,
          serDeInfo: { serializationLibrary: PARQUET_STORAGE.serializationLibrary, parameters: { 'serialization.format': '1' } },
          columns: athenaColumnList(),
        },
      },
      // After `traces`: the MERGE target exists before anything could stage into it (and
      // the lake table a tenant's listing shows first stays the Iceberg one).
      { ...child, dependsOn: [traces] },
    );

    this.workgroupName = physicalName(['claw', args.install, args.tenantId], 128);
    const workgroup = new aws.athena.Workgroup(
      `${name}-workgroup`,
      {
        name: this.workgroupName,
        description: `Claw trace queries of tenant ${args.tenantId}`,
        state: 'ENABLED',
        forceDestroy: false,
        configuration: {
          // Clients cannot override the location or encryption below.
          enforceWorkgroupConfiguration: true,
          publishCloudwatchMetricsEnabled: true,
          bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
          engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
          resultConfiguration: {
            outputLocation: pulumi.interpolate`s3://${args.bucketName}/${args.prefix}${PREFIXES.athenaResults}`,
            encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKeyArn: args.keyArn },
          },
        },
        tags,
      },
      child,
    );
    this.workgroupArn = workgroup.arn;
    this.registerOutputs({ databaseName: this.databaseName, stagingTableName: this.stagingTableName, workgroupName: this.workgroupName });
  }
}
