import { beforeAll, describe, expect, it } from 'vitest';
import type * as LakeModule from './lakehouse.js';
import type * as Synth from '../../policies/infra/synth.js';

import type * as AwsLakeModule from '../../runtime/traces/aws-lake.js';

let synth: typeof Synth;
let mod: typeof LakeModule;
let aws: typeof import('@pulumi/aws');
let lake: typeof AwsLakeModule;
beforeAll(async () => {
  synth = await import('../../policies/infra/synth.js');
  await synth.synthesize(() => {});
  mod = await import('./lakehouse.js');
  aws = await import('@pulumi/aws');
  lake = await import('../../runtime/traces/aws-lake.js');
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
    expect(db.inputs.locationUri).toBe('s3://acme-bucket/traces/');
    expect(db.inputs.tags['claw:tenant']).toBe('acme-eu');
  });

  it('Iceberg trace table writes every file with SSE-KMS under the tenant key', async () => {
    const { resources } = await run('claw/');
    const table = synth.named(resources, 'aws:glue/catalogTable:CatalogTable', 'acme-traces');
    expect(table.inputs.name).toBe('traces');
    const iceberg = table.inputs.openTableFormatInput.icebergInput;
    expect(iceberg.metadataOperation).toBe('CREATE');
    expect(iceberg.icebergTableInput.properties).toMatchObject({ 's3.sse.type': 'kms', 's3.sse.key': keyArn, 'format-version': '2', 'write.format.default': 'parquet' });
    const content = (iceberg.icebergTableInput.schema.fields as Array<{ name: string; type: string }>).filter((f) => f.name.startsWith('content'));
    expect(content.map((f) => [f.name, f.type])).toEqual([['content_key', 'string'], ['content', 'binary'], ['content_bytes', 'int']]);
  });

  // The table is the one runtime/traces/aws-lake.ts creates (tableDdl) and MERGEs into
  // (mergeSql): the same columns in the same order with the same types, identity partitions
  // on `day` (the MERGE matches `t.day = DATE '...'`), at the same location. A table declared
  // from any other schema would make every MERGE fail in a real account.
  it('declares the table aws-lake writes: columns, types, order, partitioning and location of tableDdl and mergeSql', async () => {
    const { resources } = await run('claw/');
    const input = synth.named(resources, 'aws:glue/catalogTable:CatalogTable', 'acme-traces').inputs.openTableFormatInput.icebergInput.icebergTableInput;
    const fields = input.schema.fields as Array<{ id: number; name: string; type: string; required: boolean }>;
    const t = { bucket: 'acme-bucket', prefix: 'claw/', kmsKeyArn: keyArn, database: 'claw_prod_acme_eu', workgroup: 'claw-prod-acme-eu' };

    const ddl = lake.tableDdl(t).find((q) => q.startsWith(`CREATE TABLE IF NOT EXISTS \`${t.database}\`.\`traces\``))!;
    const columns = /\((.*?)\)\nPARTITIONED BY/s.exec(ddl)![1]!.split(', ').map((c) => /^`(\w+)` (\w+)$/.exec(c)!.slice(1) as [string, string]);
    // Athena's DDL type names as Iceberg records them.
    const iceberg: Record<string, string> = { string: 'string', date: 'date', timestamp: 'timestamp', int: 'int', bigint: 'long', double: 'double', binary: 'binary' };
    expect(fields.map((f) => [f.name, f.type])).toEqual(columns.map(([name, type]) => [name, iceberg[type]]));
    expect(fields.map((f) => f.id)).toEqual(fields.map((_, i) => i + 1));
    // Athena's CREATE TABLE makes every column optional; so does the stack.
    expect(fields.every((f) => f.required === false)).toBe(true);

    const merge = lake.mergeSql(t, '2026-11-25', 's3://acme-bucket/claw/traces/staging/day=2026-11-25/x.parquet');
    const inserted = /INSERT \((.*?)\) VALUES/.exec(merge)![1]!.split(', ').map((c) => c.replace(/`/g, ''));
    expect(fields.map((f) => f.name)).toEqual(inserted);
    expect(merge).toContain("t.day = DATE '2026-11-25'");

    expect(/PARTITIONED BY \(`(\w+)`\)/.exec(ddl)![1]).toBe('day');
    const day = fields.find((f) => f.name === 'day')!;
    expect(input.partitionSpec.fields).toEqual([expect.objectContaining({ name: 'day', sourceId: day.id, transform: 'identity' })]);
    expect(input.location).toBe(/LOCATION '([^']+)'/.exec(ddl)![1]);
    expect(input.location).toBe('s3://acme-bucket/claw/traces/iceberg/');
  });

  // The staging table is the one mergeSql reads (`FROM traces_staging WHERE dt = '<day>'
  // AND "$path" = ...`) and writeSegment uploads under: the stack must declare exactly what
  // tableDdl's staging DDL would create, or every MERGE fails (or silently reads nothing).
  it('declares the staging table of tableDdl: external Parquet, columns, projected dt partition and location', async () => {
    for (const prefix of ['', 'claw/']) {
      const { resources } = await run(prefix);
      const staging = synth.named(resources, 'aws:glue/catalogTable:CatalogTable', 'acme-traces-staging').inputs;
      const t = { bucket: 'acme-bucket', prefix, kmsKeyArn: keyArn, database: 'claw_prod_acme_eu', workgroup: 'claw-prod-acme-eu' };
      const ddl = lake.tableDdl(t).find((q) => q.startsWith(`CREATE EXTERNAL TABLE IF NOT EXISTS \`${t.database}\`.\`traces_staging\``))!;
      expect(ddl).toBeDefined();

      expect(staging.name).toBe('traces_staging');
      expect(staging.databaseName).toBe(t.database);
      expect(staging.tableType).toBe('EXTERNAL_TABLE');
      expect(staging.openTableFormatInput).toBeUndefined();
      // Columns: the DDL's, in order, with the DDL's types.
      const columns = /\((.*?)\)\nPARTITIONED BY/s.exec(ddl)![1]!.split(', ').map((c) => /^`(\w+)` (\w+)$/.exec(c)!.slice(1));
      expect(staging.storageDescriptor.columns.map((c: { name: string; type: string }) => [c.name, c.type])).toEqual(columns);
      // Partitioning: the DDL's `dt string`, the column mergeSql filters on.
      const [, partName, partType] = /PARTITIONED BY \(`(\w+)` (\w+)\)/.exec(ddl)!;
      expect(staging.partitionKeys).toEqual([{ name: partName, type: partType }]);
      expect(lake.mergeSql(t, '2026-11-25', 'x')).toContain(`FROM \`${t.database}\`.\`traces_staging\` WHERE ${partName} = '2026-11-25'`);
      // Location and partition projection: the DDL's LOCATION and TBLPROPERTIES, so Athena
      // projects day=<dt>/ and nothing (no runtime, no IAM grant) registers partitions.
      const location = /LOCATION '([^']+)'/.exec(ddl)![1];
      expect(staging.storageDescriptor.location).toBe(location);
      expect(location).toBe(`s3://acme-bucket/${prefix}traces/staging/`);
      const properties = Object.fromEntries([.../'([^']+)'='([^']*)'/g[Symbol.matchAll](/TBLPROPERTIES \((.*)\)$/s.exec(ddl)![1]!)].map((m) => [m[1], m[2]]));
      expect(properties['storage.location.template']).toBe(`${location}day=\${dt}/`);
      expect(staging.parameters).toEqual({ EXTERNAL: 'TRUE', classification: 'parquet', ...properties });
      // STORED AS PARQUET.
      expect(staging.storageDescriptor.inputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
      expect(staging.storageDescriptor.outputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat');
      expect(staging.storageDescriptor.serDeInfo.serializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
      // writeSegment's object keys fall under it.
      expect(`s3://acme-bucket/${prefix}traces/staging/day=2026-11-25/seg.parquet`.startsWith(lake.stagingLocation(t))).toBe(true);
    }
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
