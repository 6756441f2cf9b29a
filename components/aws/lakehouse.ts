/**
 * A tenant's trace lake: a Glue database, the Iceberg `traces` table (OpenTelemetry GenAI
 * spans; content fields are ciphertext under the tenant key, DESIGN.md invariant 1), and
 * an Athena workgroup that enforces SSE_KMS with the tenant key and writes results only
 * to the tenant's bucket.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { physicalName, tenantTags } from './naming.js';
import { PREFIXES } from './tenant-storage.js';

/**
 * The trace table's Iceberg schema. Routing/authorization metadata is cleartext; the span's
 * content (prompts, completions, tool arguments and results) is one envelope-encrypted column.
 */
export const TRACE_COLUMNS: ReadonlyArray<{ name: string; type: string; required: boolean; doc: string }> = [
  { name: 'trace_id', type: 'string', required: true, doc: 'OpenTelemetry trace id (hex)' },
  { name: 'span_id', type: 'string', required: true, doc: 'OpenTelemetry span id (hex)' },
  { name: 'parent_span_id', type: 'string', required: false, doc: 'parent span id' },
  { name: 'tenant_id', type: 'string', required: true, doc: 'tenant id' },
  { name: 'agent_id', type: 'string', required: true, doc: 'agent id' },
  { name: 'run_id', type: 'string', required: true, doc: 'run (workflow) id' },
  { name: 'name', type: 'string', required: true, doc: 'span name, e.g. chat, execute_tool' },
  { name: 'kind', type: 'string', required: true, doc: 'event kind: ask, model, tool, decision, result, reply' },
  { name: 'start_time', type: 'timestamptz', required: true, doc: 'span start' },
  { name: 'end_time', type: 'timestamptz', required: false, doc: 'span end' },
  { name: 'status', type: 'string', required: false, doc: 'ok | error' },
  { name: 'gen_ai_operation', type: 'string', required: false, doc: 'gen_ai.operation.name' },
  { name: 'gen_ai_model', type: 'string', required: false, doc: 'gen_ai.request.model' },
  { name: 'input_tokens', type: 'long', required: false, doc: 'gen_ai.usage.input_tokens' },
  { name: 'output_tokens', type: 'long', required: false, doc: 'gen_ai.usage.output_tokens' },
  { name: 'tool_name', type: 'string', required: false, doc: 'gen_ai.tool.name' },
  { name: 'decision', type: 'string', required: false, doc: 'authorization decision: allow | deny' },
  { name: 'policy_ids', type: 'string', required: false, doc: 'determining Cedar policy ids (JSON array)' },
  { name: 'content_size', type: 'long', required: false, doc: 'plaintext size of content, bytes' },
  { name: 'content', type: 'binary', required: false, doc: 'span content, envelope-encrypted under the tenant key' },
];

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
  readonly tableName = 'traces';
  readonly workgroupName: string;
  readonly workgroupArn: pulumi.Output<string>;

  constructor(name: string, args: TenantLakehouseArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('claw:aws:TenantLakehouse', name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const tags = tenantTags(args.install, args.tenantId);
    const lakeRoot = pulumi.interpolate`s3://${args.bucketName}/${args.prefix}${PREFIXES.lake}`;

    // Glue names: lowercase letters, digits and '_'.
    this.databaseName = physicalName(['claw', args.install, args.tenantId], 255, '_').replace(/-/g, '_');
    const database = new aws.glue.CatalogDatabase(
      `${name}-db`,
      { name: this.databaseName, description: `Claw traces of tenant ${args.tenantId}`, locationUri: lakeRoot, tags },
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
              location: pulumi.interpolate`${lakeRoot}traces/`,
              schema: {
                schemaId: 0,
                type: 'struct',
                fields: TRACE_COLUMNS.map((c, i) => ({ id: i + 1, name: c.name, type: c.type, required: c.required, doc: c.doc })),
              },
              partitionSpec: {
                specId: 0,
                fields: [{ name: 'start_day', sourceId: TRACE_COLUMNS.findIndex((c) => c.name === 'start_time') + 1, transform: 'day', fieldId: 1000 }],
              },
              properties: pulumi.output(args.keyArn).apply((keyArn) => ({
                'format-version': '2',
                'write.format.default': 'parquet',
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
