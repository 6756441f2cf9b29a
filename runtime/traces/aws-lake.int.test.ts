/**
 * The AWS lake against moto (S3, KMS, Athena). What moto checks: the object lands in the
 * tenant's prefix with SSE-KMS under the tenant's key (moto records the headers; it does
 * not encrypt with the key), the workgroup settings we refuse to write without, and the
 * exact Athena statements issued in the tenant's workgroup and database, and that the lake
 * refuses to write before the stack has declared its Glue tables. What it cannot:
 * moto's Athena runs no SQL (DDL, the Iceberg MERGE, queries: it returns SUCCEEDED and
 * canned results), Glue is not populated by Athena DDL, IAM policies are not enforced,
 * and KMS key policies are not evaluated on S3 writes.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AthenaClient, GetQueryExecutionCommand, ListQueryExecutionsCommand } from '@aws-sdk/client-athena';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GlueClient } from '@aws-sdk/client-glue';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsLake, type AwsTenantLake } from './aws-lake.js';
import { createWorkgroup, declareLakeTables } from './testing/aws-lake-fixture.js';
import { ContentSealer } from './seal.js';
import { CANARY, findCanaries, localKeyring, mustShowRun, tempStateDir } from './testing/support.js';

const region = 'us-east-1';

describe('AWS lake (moto)', () => {
  const endpoint = inject('motoEndpoint');
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const s3 = new S3Client({ region, endpoint, forcePathStyle: true, credentials });
  const athena = new AthenaClient({ region, endpoint, credentials });
  const kms = new KMSClient({ region, endpoint, credentials });
  const glue = new GlueClient({ region, endpoint, credentials });
  const { stateDir, cleanup } = tempStateDir();
  const tenants: Record<string, AwsTenantLake> = {};
  const bucket = `claw-lake-${Date.now()}`;

  beforeAll(async () => {
    // What the stack (components/aws) provides per tenant: key, prefix, database, workgroup.
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const id of ['acme', 'globex', 'lax', 'initech']) {
      const key = await kms.send(new CreateKeyCommand({ Description: `claw tenant ${id}` }));
      tenants[id] = { bucket, prefix: `tenants/${id}/`, kmsKeyArn: key.KeyMetadata!.Arn!, database: `claw_${id}`, workgroup: `claw-${id}-${Date.now()}` };
    }
    const workgroup = (t: AwsTenantLake, enforce: boolean, key: string) => createWorkgroup(athena, t, enforce, key);
    await workgroup(tenants.acme!, true, tenants.acme!.kmsKeyArn);
    await workgroup(tenants.globex!, true, tenants.acme!.kmsKeyArn); // misconfigured: another tenant's key
    await workgroup(tenants.lax!, false, tenants.lax!.kmsKeyArn); // misconfigured: not enforced
    await workgroup(tenants.initech!, true, tenants.initech!.kmsKeyArn); // fine, but its lake tables were never declared

    // acme's lake tables, created in Glue here as the stack does (components/aws/lakehouse.ts,
    // from the same runtime/traces/schema.ts); the runtime itself never creates tables.
    await declareLakeTables(glue, tenants.acme!);
  });
  afterAll(() => cleanup());

  const lake = () => new AwsLake({ region, endpoint, s3, athena, tenant: (id) => tenants[id]!, queryTimeoutMs: 10_000 });

  it('writes the segment as Parquet into the tenant prefix, SSE-KMS under the tenant key, and merges it in the tenant workgroup', async () => {
    const keyring = await localKeyring(stateDir, ['acme']);
    const rows = await new ContentSealer(await keyring.forTenant('acme')).seal(mustShowRun('acme', 'run-1'));
    const writer = lake();
    await writer.writeSegment('acme', '000001764072000-0a0b0c0d', rows);
    await writer.writeSegment('acme', '000001764072000-0a0b0c0d', rows); // a replay: same object, same MERGE
    await writer.close();

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'tenants/' }));
    const key = 'tenants/acme/traces/staging/day=2026-11-25/000001764072000-0a0b0c0d.parquet';
    expect(listed.Contents?.map((o) => o.Key)).toEqual([key]);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe(tenants.acme!.kmsKeyArn);

    const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    expect(body.subarray(0, 4).toString()).toBe('PAR1');
    const file = join(stateDir, 'downloaded.parquet');
    writeFileSync(file, body);
    expect(await findCanaries([file])).toEqual([]);

    const ids = (await athena.send(new ListQueryExecutionsCommand({ WorkGroup: tenants.acme!.workgroup }))).QueryExecutionIds ?? [];
    const statements = await Promise.all(ids.map(async (id) => (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!));
    for (const s of statements) {
      expect(s.WorkGroup).toBe(tenants.acme!.workgroup);
      expect(s.QueryExecutionContext?.Database).toBe('claw_acme');
    }
    const sql = statements.map((s) => s.Query!);
    // Only the MERGEs: no DDL from the runtime (the stack declares the tables).
    expect(sql.filter((q) => /^\s*(CREATE|ALTER|DROP|MSCK)\b/i.test(q))).toEqual([]);
    const merges = sql.filter((q) => q.startsWith('MERGE INTO `claw_acme`.`traces`'));
    expect(merges).toHaveLength(2);
    expect(sql).toHaveLength(2);
    expect(merges[0]).toContain("FROM `claw_acme`.`traces_staging` WHERE dt = '2026-11-25'");
    expect(merges[0]).toContain(`"$path" = 's3://${bucket}/${key}'`);
    expect(merges[0]).toContain('WHEN NOT MATCHED THEN INSERT');
    for (const q of sql) expect(q).not.toMatch(/CANARY/);
    void CANARY;
  });

  it('refuses to write when the workgroup uses another key or does not enforce its configuration', async () => {
    const keyring = await localKeyring(stateDir, ['globex', 'lax']);
    const writer = lake();
    for (const id of ['globex', 'lax']) {
      const rows = await new ContentSealer(await keyring.forTenant(id)).seal(mustShowRun(id, 'run-1'));
      await expect(writer.writeSegment(id, '000001764072000-00000001', rows)).rejects.toMatchObject({ code: 'LAKE_WORKGROUP_UNSAFE' });
    }
    await expect(writer.writeSegment('globex', '1-1', [])).rejects.toThrow(/tenant 'globex' is unsafe: its KMS key is not the tenant's key/);
    await expect(writer.writeSegment('lax', '1-1', [])).rejects.toThrow(/does not enforce its configuration/);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'tenants/globex/' }));
    expect(listed.KeyCount ?? 0).toBe(0);
    await writer.close();
  });

  it('refuses to write, uploading nothing, when the stack has not declared the lake tables', async () => {
    const keyring = await localKeyring(stateDir, ['initech']);
    const rows = await new ContentSealer(await keyring.forTenant('initech')).seal(mustShowRun('initech', 'run-1'));
    const writer = lake();
    const failure = writer.writeSegment('initech', '000001764072000-00000002', rows);
    await expect(failure).rejects.toMatchObject({ code: 'LAKE_TABLE_MISSING' });
    await expect(failure).rejects.toThrow(/no table claw_initech\.traces_staging or claw_initech\.traces/);
    await expect(failure).rejects.toMatchObject({ hint: expect.stringMatching(/claw install.*claw up --plan/) });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'tenants/initech/' }));
    expect(listed.KeyCount ?? 0).toBe(0);
    const ids = (await athena.send(new ListQueryExecutionsCommand({ WorkGroup: tenants.initech!.workgroup }))).QueryExecutionIds ?? [];
    expect(ids).toEqual([]);
    await writer.close();
  });
});
