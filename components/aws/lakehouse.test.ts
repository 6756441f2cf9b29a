import { beforeAll, describe, expect, it } from 'vitest';
import type * as LakeModule from './lakehouse.js';
import type * as Synth from '../../policies/infra/synth.js';

let synth: typeof Synth;
let mod: typeof LakeModule;
let aws: typeof import('@pulumi/aws');
beforeAll(async () => {
  synth = await import('../../policies/infra/synth.js');
  await synth.synthesize(() => {});
  mod = await import('./lakehouse.js');
  aws = await import('@pulumi/aws');
});

const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555';

function run(prefix: string) {
  return synth.synthesize(() => {
    const provider = new aws.Provider('aws', { region: 'eu-west-1' });
    new mod.TenantLakehouse('acme', { install: 'prod', tenantId: 'acme-eu', keyArn, bucketName: 'acme-bucket', prefix, provider });
  });
}

describe('TenantLakehouse', () => {
  it('Glue database per tenant with a Glue-legal name, located in the tenant bucket', async () => {
    const { resources } = await run('');
    const db = synth.named(resources, 'aws:glue/catalogDatabase:CatalogDatabase', 'acme-db');
    expect(db.inputs.name).toBe('claw_prod_acme_eu');
    expect(db.inputs.locationUri).toBe('s3://acme-bucket/lake/');
    expect(db.inputs.tags['claw:tenant']).toBe('acme-eu');
  });

  it('Iceberg trace table writes every file with SSE-KMS under the tenant key, partitioned by day', async () => {
    const { resources } = await run('claw/');
    const table = synth.named(resources, 'aws:glue/catalogTable:CatalogTable', 'acme-traces');
    const iceberg = table.inputs.openTableFormatInput.icebergInput;
    expect(iceberg.metadataOperation).toBe('CREATE');
    expect(iceberg.icebergTableInput.location).toBe('s3://acme-bucket/claw/lake/traces/');
    expect(iceberg.icebergTableInput.properties).toMatchObject({ 's3.sse.type': 'kms', 's3.sse.key': keyArn, 'format-version': '2' });
    const fields = iceberg.icebergTableInput.schema.fields as Array<{ id: number; name: string; type: string }>;
    expect(fields.map((f) => f.name)).toEqual(mod.TRACE_COLUMNS.map((c) => c.name));
    expect(fields.find((f) => f.name === 'content')!.type).toBe('binary');
    const startTime = fields.find((f) => f.name === 'start_time')!;
    expect(iceberg.icebergTableInput.partitionSpec.fields).toEqual([expect.objectContaining({ sourceId: startTime.id, transform: 'day' })]);
  });

  it('Athena workgroup enforces SSE_KMS with the tenant key and results in the tenant bucket', async () => {
    const { resources } = await run('claw/');
    const wg = synth.named(resources, 'aws:athena/workgroup:Workgroup', 'acme-workgroup');
    expect(wg.inputs.name).toBe('claw-prod-acme-eu');
    expect(wg.inputs.configuration).toMatchObject({
      enforceWorkgroupConfiguration: true,
      resultConfiguration: { outputLocation: 's3://acme-bucket/claw/athena-results/', encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKeyArn: keyArn } },
    });
  });
});
