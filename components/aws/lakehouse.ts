/**
 * A tenant's trace lake: a Glue database, the Iceberg `traces` table (one row per trace
 * event, LAKE_COLUMNS of runtime/traces/model.ts; content is ciphertext under the tenant
 * key, DESIGN.md invariant 1), and an Athena workgroup that enforces SSE_KMS with the
 * tenant key and writes results only to the tenant's bucket.
 *
 * The table is the one runtime/traces/aws-lake.ts MERGEs into: its schema, partitioning
 * (identity on `day`) and location come from runtime/traces/schema.ts, which both use.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { physicalName, tenantTags } from './naming.js';
import { PREFIXES } from './tenant-storage.js';
import { awsLakeKeys, icebergPartitionSpec, icebergSchema, ICEBERG_WRITE_PROPERTIES, TRACE_TABLE } from '../../runtime/traces/schema.js';

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

    new aws.glue.CatalogTable(
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
    this.registerOutputs({ databaseName: this.databaseName, workgroupName: this.workgroupName });
  }
}
