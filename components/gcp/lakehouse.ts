/**
 * A tenant's trace lake: a BigQuery dataset whose tables are encrypted by default with
 * the tenant's key (the BigQuery service agent is granted on that key first), the
 * `traces` table (partitioned by day, clustered by agent and run), write access for the
 * tenant's data identity only, and read access (dataViewer, this dataset only) for its
 * trace reader, the identity the gateway queries runs as.
 *
 * The table is the one runtime/traces/gcp-lake.ts loads into and checks (it refuses a
 * table whose columns or partitioning differ): schema, partitioning, clustering and
 * description come from runtime/traces/schema.ts, LAKE_COLUMNS mapped to BigQuery.
 */
import * as pulumi from '@pulumi/pulumi';
import * as gcp from '@pulumi/gcp';
import { tenantLabels } from '../../contracts/gcp.js';
import { BIGQUERY_CLUSTERING, BIGQUERY_TIME_PARTITIONING, bigQuerySchema, TRACE_TABLE, TRACE_TABLE_DESCRIPTION } from '../../runtime/traces/schema.js';

export interface TenantDatasetArgs {
  provider: gcp.Provider;
  project: string;
  region: string;
  tenantId: string;
  datasetId: string;
  keyRef: pulumi.Input<string>;
  dataIdentity: pulumi.Input<string>;
  /** The tenant's trace reader: reads the dataset, writes nothing. */
  readerIdentity?: pulumi.Input<string>;
}

export class TenantDataset extends pulumi.ComponentResource {
  readonly datasetId: pulumi.Output<string>;
  /** `project:dataset`, as the runtime's BigQuery client wants it. */
  readonly datasetRef: pulumi.Output<string>;

  constructor(name: string, args: TenantDatasetArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:gcp:TenantDataset', name, {}, opts);
    if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a gcp provider is required' });
    if (!/^[A-Za-z0-9_]{1,1024}$/.test(args.datasetId ?? '')) {
      throw new pulumi.InputPropertyError({ propertyPath: 'datasetId', reason: 'BigQuery dataset ids are letters, digits and underscores' });
    }
    const child = { parent: this, provider: args.provider };
    const agent = gcp.bigquery.getDefaultServiceAccountOutput({ project: args.project }, { provider: args.provider, parent: this });
    const agentGrant = new gcp.kms.CryptoKeyIAMMember(`${name}-bq-agent`, {
      cryptoKeyId: args.keyRef,
      role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
      member: pulumi.interpolate`serviceAccount:${agent.email}`,
    }, child);
    const dataset = new gcp.bigquery.Dataset(`${name}`, {
      datasetId: args.datasetId,
      project: args.project,
      location: args.region,
      defaultEncryptionConfiguration: { kmsKeyName: args.keyRef },
      labels: tenantLabels(args.tenantId),
      deleteContentsOnDestroy: false,
      // Traces outlive the tenant's removal from the stack, like its bucket.
    }, { ...child, dependsOn: [agentGrant], retainOnDelete: true });
    new gcp.bigquery.DatasetIamMember(`${name}-data`, {
      datasetId: dataset.datasetId,
      project: args.project,
      role: 'roles/bigquery.dataEditor',
      member: pulumi.interpolate`serviceAccount:${args.dataIdentity}`,
    }, child);
    if (args.readerIdentity !== undefined) {
      new gcp.bigquery.DatasetIamMember(`${name}-traces-reader`, {
        datasetId: dataset.datasetId,
        project: args.project,
        role: 'roles/bigquery.dataViewer',
        member: pulumi.interpolate`serviceAccount:${args.readerIdentity}`,
      }, child);
    }
    new gcp.bigquery.Table(`${name}-traces`, {
      datasetId: dataset.datasetId,
      project: args.project,
      tableId: TRACE_TABLE,
      description: TRACE_TABLE_DESCRIPTION,
      schema: JSON.stringify(bigQuerySchema().fields),
      timePartitioning: { ...BIGQUERY_TIME_PARTITIONING },
      clusterings: [...BIGQUERY_CLUSTERING],
      encryptionConfiguration: { kmsKeyName: args.keyRef },
      labels: tenantLabels(args.tenantId),
      deletionProtection: true,
    }, { ...child, retainOnDelete: true });
    this.datasetId = dataset.datasetId;
    this.datasetRef = pulumi.interpolate`${args.project}:${dataset.datasetId}`;
    this.registerOutputs({ datasetId: this.datasetId });
  }
}
