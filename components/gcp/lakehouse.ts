/**
 * A tenant's trace lake: a BigQuery dataset whose tables are encrypted by default with
 * the tenant's key (the BigQuery service agent is granted on that key first), the
 * `traces` table (partitioned by day, clustered by agent and run), and write access for
 * the tenant's data identity only.
 */
import * as pulumi from '@pulumi/pulumi';
import * as gcp from '@pulumi/gcp';
import { tenantLabels } from './names.js';

export interface TenantDatasetArgs {
  provider: gcp.Provider;
  project: string;
  region: string;
  tenantId: string;
  datasetId: string;
  keyRef: pulumi.Input<string>;
  dataIdentity: pulumi.Input<string>;
}

/** Trace rows (runtime/ports.ts TraceEvent): metadata in clear, content as tenant-key ciphertext. */
export const TRACE_TABLE_SCHEMA = [
  { name: 'tenant_id', type: 'STRING', mode: 'REQUIRED' },
  { name: 'agent_id', type: 'STRING', mode: 'REQUIRED' },
  { name: 'run_id', type: 'STRING', mode: 'REQUIRED' },
  { name: 'seq', type: 'INT64', mode: 'REQUIRED' },
  { name: 'time', type: 'TIMESTAMP', mode: 'REQUIRED' },
  { name: 'kind', type: 'STRING', mode: 'REQUIRED' },
  { name: 'attributes', type: 'JSON', mode: 'NULLABLE' },
  { name: 'content', type: 'BYTES', mode: 'NULLABLE', description: 'envelope-encrypted under the tenant key' },
];

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
    }, { ...child, dependsOn: [agentGrant] });
    new gcp.bigquery.DatasetIamMember(`${name}-data`, {
      datasetId: dataset.datasetId,
      project: args.project,
      role: 'roles/bigquery.dataEditor',
      member: pulumi.interpolate`serviceAccount:${args.dataIdentity}`,
    }, child);
    new gcp.bigquery.Table(`${name}-traces`, {
      datasetId: dataset.datasetId,
      project: args.project,
      tableId: 'traces',
      schema: JSON.stringify(TRACE_TABLE_SCHEMA),
      timePartitioning: { type: 'DAY', field: 'time' },
      clusterings: ['agent_id', 'run_id'],
      encryptionConfiguration: { kmsKeyName: args.keyRef },
      labels: tenantLabels(args.tenantId),
      deletionProtection: true,
    }, child);
    this.datasetId = dataset.datasetId;
    this.datasetRef = pulumi.interpolate`${args.project}:${dataset.datasetId}`;
    this.registerOutputs({ datasetId: this.datasetId });
  }
}
