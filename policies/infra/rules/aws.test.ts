/**
 * aws-glue-table-encrypted and its part of aws-tenant-key-isolation, over hand-built
 * resources through the offline runner (as gcp.test.ts does): a tenant's bucket (SSE-KMS
 * under its key), its Glue database, the Iceberg `traces` table and the external Parquet
 * `traces_staging` table, shaped as components/aws/lakehouse.ts declares them.
 */
import { describe, expect, it } from 'vitest';
import { runRules } from '../run.js';
import type { RecordedResource } from '../synth.js';
import { awsRules } from './aws.js';

const rule = (name: string) => awsRules.filter((r) => r.name === name);
const keyOf = (t: string) => `arn:aws:kms:eu-west-1:111122223333:key/${t}-key`;
const bucketOf = (t: string) => `claw-prod-${t}-111122223333-eu-west-1`;
const tags = (t: string) => ({ 'claw:tenant': t, 'claw:install': 'prod' });

function res(type: string, name: string, state: Record<string, any>, tenant?: string): RecordedResource {
  return { type, name, urn: `urn:pulumi:test::claw::${type}::${name}`, inputs: state, state, custom: true, tenant };
}

const staging = (t: string, location = `s3://${bucketOf(t)}/traces/staging/`) => ({
  name: 'traces_staging',
  databaseName: `claw_prod_${t}`,
  tableType: 'EXTERNAL_TABLE',
  parameters: { EXTERNAL: 'TRUE', classification: 'parquet', 'projection.enabled': 'true' },
  partitionKeys: [{ name: 'dt', type: 'string' }],
  storageDescriptor: {
    location,
    inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    serDeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
    columns: [{ name: 'tenant_id', type: 'string' }],
  },
});

function tenant(t: string): RecordedResource[] {
  return [
    res('aws:kms/key:Key', `${t}-key`, { arn: keyOf(t), enableKeyRotation: true, tags: tags(t) }, t),
    res('aws:s3/bucket:Bucket', `${t}-bucket`, { bucket: bucketOf(t), tags: tags(t) }, t),
    res('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration', `${t}-sse`, {
      bucket: bucketOf(t),
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: keyOf(t) }, bucketKeyEnabled: true }],
    }, t),
    res('aws:glue/catalogDatabase:CatalogDatabase', `${t}-db`, { name: `claw_prod_${t}`, locationUri: `s3://${bucketOf(t)}/traces/`, tags: tags(t) }, t),
    res('aws:glue/catalogTable:CatalogTable', `${t}-traces`, {
      name: 'traces', databaseName: `claw_prod_${t}`, tableType: 'EXTERNAL_TABLE',
      openTableFormatInput: { icebergInput: { icebergTableInput: { location: `s3://${bucketOf(t)}/traces/iceberg/`, properties: { 's3.sse.type': 'kms', 's3.sse.key': keyOf(t) } } } },
    }, t),
    res('aws:glue/catalogTable:CatalogTable', `${t}-traces-staging`, staging(t), t),
  ];
}

const stack = () => [...tenant('acme'), ...tenant('globex')];
const swap = (rs: RecordedResource[], name: string, change: (s: Record<string, any>) => Record<string, any>) =>
  rs.map((r) => (r.name === name ? { ...r, inputs: change(r.state), state: change(r.state) } : r));
const messages = async (rs: RecordedResource[], name: string) => (await runRules(rs, rule(name))).map((v) => `${v.name}: ${v.message}`);

describe('aws-glue-table-encrypted', () => {
  it('accepts the Iceberg table (SSE-KMS properties) and the staging table (under its lake root, in a bucket SSE-KMS under a customer key)', async () => {
    expect(await messages(stack(), 'aws-glue-table-encrypted')).toEqual([]);
    expect(await messages(stack(), 'aws-tenant-key-isolation')).toEqual([]);
  });

  it('fails an Iceberg table that does not write with SSE-KMS or names no key', async () => {
    const unencrypted = swap(stack(), 'acme-traces', (s) => ({ ...s, openTableFormatInput: { icebergInput: { icebergTableInput: { location: s.openTableFormatInput.icebergInput.icebergTableInput.location, properties: {} } } } }));
    expect(await messages(unencrypted, 'aws-glue-table-encrypted')).toEqual(["acme-traces: table 'traces' does not write with SSE-KMS (s3.sse.type is 'unset')"]);
    const keyless = swap(stack(), 'acme-traces', (s) => ({ ...s, openTableFormatInput: { icebergInput: { icebergTableInput: { properties: { 's3.sse.type': 'kms' } } } } }));
    expect(await messages(keyless, 'aws-glue-table-encrypted')).toEqual(["acme-traces: table 'traces' names no KMS key (s3.sse.key)"]);
  });

  it('fails the staging table when its bucket is not SSE-KMS under a customer key', async () => {
    const sse = 'acme-sse';
    const s3Managed = swap(stack(), sse, (s) => ({ ...s, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }] }));
    expect(await messages(s3Managed, 'aws-glue-table-encrypted')).toEqual([
      `acme-traces-staging: external table 'traces_staging' reads bucket ${bucketOf('acme')}, whose default encryption is not SSE-KMS under a customer key`,
    ]);
    const awsKey = swap(stack(), sse, (s) => ({ ...s, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: 'alias/aws/s3' } }] }));
    expect(await messages(awsKey, 'aws-glue-table-encrypted')).toHaveLength(1);
    const none = stack().filter((r) => r.name !== sse);
    expect(await messages(none, 'aws-glue-table-encrypted')).toHaveLength(1);
  });

  it('fails an external table outside its database\'s lake location, or one that is not Parquet', async () => {
    const elsewhere = swap(stack(), 'acme-traces-staging', () => staging('acme', 's3://somebody-elses-bucket/dump/'));
    expect(await messages(elsewhere, 'aws-glue-table-encrypted')).toEqual([
      `acme-traces-staging: external table 'traces_staging' reads s3://somebody-elses-bucket/dump/, outside its database's lake location s3://${bucketOf('acme')}/traces/`,
    ]);
    const sibling = swap(stack(), 'acme-traces-staging', () => staging('acme', `s3://${bucketOf('acme')}/tracesX/`));
    expect(await messages(sibling, 'aws-glue-table-encrypted')).toHaveLength(1);
    const csv = swap(stack(), 'acme-traces-staging', (s) => ({ ...s, storageDescriptor: { ...s.storageDescriptor, inputFormat: 'org.apache.hadoop.mapred.TextInputFormat', serDeInfo: { serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe' } } }));
    expect(await messages(csv, 'aws-glue-table-encrypted')).toEqual([
      "acme-traces-staging: table 'traces_staging' is neither an Iceberg table writing with SSE-KMS nor an external Parquet table over an encrypted lake location",
    ]);
    // The name does not exempt it: a 'traces_staging' with no storage descriptor fails too.
    const bare = swap(stack(), 'acme-traces-staging', (s) => ({ name: s.name, databaseName: s.databaseName, tableType: 'EXTERNAL_TABLE' }));
    expect(await messages(bare, 'aws-glue-table-encrypted')).toHaveLength(1);
  });

  it("aws-tenant-key-isolation: a tenant's staging table over another tenant's bucket fails", async () => {
    const crossed = swap(stack(), 'acme-traces-staging', () => staging('acme', `s3://${bucketOf('globex')}/traces/staging/`));
    expect(await messages(crossed, 'aws-tenant-key-isolation')).toEqual([
      `acme-traces-staging: lake table of tenant 'acme' writes to tenant 'globex''s bucket ${bucketOf('globex')}`,
    ]);
  });
});

describe('aws-eks-network-policy-enforced', () => {
  const eks = (name: string) => res('aws:eks/cluster:Cluster', `${name}-eks`, { name, encryptionConfig: {} });
  const cni = (cluster: string, configurationValues?: string) => res('aws:eks/addon:Addon', `${cluster}-vpc-cni`, { clusterName: cluster, addonName: 'vpc-cni', ...(configurationValues ? { configurationValues } : {}) });

  it('accepts a cluster whose vpc-cni add-on enables network policy', async () => {
    expect(await messages([eks('claw-prod'), cni('claw-prod', '{"enableNetworkPolicy":"true"}')], 'aws-eks-network-policy-enforced')).toEqual([]);
  });

  it('fails a cluster without the add-on, with it but without network policy, or with another cluster\'s add-on', async () => {
    const rule = 'aws-eks-network-policy-enforced';
    expect(await messages([eks('claw-prod')], rule)).toEqual([`claw-prod-eks: cluster claw-prod has no vpc-cni add-on with enableNetworkPolicy: NetworkPolicies would not be enforced`]);
    expect(await messages([eks('claw-prod'), cni('claw-prod')], rule)).toHaveLength(1);
    expect(await messages([eks('claw-prod'), cni('claw-prod', '{"enableNetworkPolicy":"false"}')], rule)).toHaveLength(1);
    expect(await messages([eks('claw-prod'), cni('claw-other', '{"enableNetworkPolicy":"true"}')], rule)).toHaveLength(1);
  });
});

describe('aws-gateway-no-tenant-read: the gateway reads only through trace readers, which write nothing but results', () => {
  const ACCOUNT = 'arn:aws:iam::111122223333:role';
  const role = (name: string, path: string, trust: string, t?: string) =>
    res('aws:iam/role:Role', name, {
      name, path, arn: `${ACCOUNT}${path}${name}`,
      assumeRolePolicy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: trust }, Action: ['sts:AssumeRole', 'sts:TagSession'] }] }),
      ...(t ? { tags: tags(t) } : {}),
    }, t);
  const policy = (name: string, roleName: string, statements: object[]) =>
    res('aws:iam/rolePolicy:RolePolicy', name, { role: roleName, policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) });
  const gateway = `${ACCOUNT}/claw/prod/runtime/claw-prod-gateway`;
  const worker = `${ACCOUNT}/claw/prod/runtime/claw-prod-worker`;
  const reader = `${ACCOUNT}/claw/prod/trace-readers/claw-prod-r-acme`;
  const readerPolicy = [
    { Sid: 'LakeObjectsRead', Effect: 'Allow', Action: ['s3:GetObject'], Resource: `arn:aws:s3:::${bucketOf('acme')}/traces/*` },
    { Sid: 'QueryResults', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], Resource: `arn:aws:s3:::${bucketOf('acme')}/athena-results/*` },
    { Sid: 'LakeTables', Effect: 'Allow', Action: ['glue:GetTable'], Resource: ['arn:aws:glue:eu-west-1:111122223333:table/claw_prod_acme/traces'] },
  ];
  const wired = () => [
    ...tenant('acme'),
    role('claw-prod-gateway', '/claw/prod/runtime/', 'pods'),
    role('claw-prod-worker', '/claw/prod/runtime/', 'pods'),
    role('claw-prod-t-acme', '/claw/prod/tenants/', worker, 'acme'),
    role('claw-prod-r-acme', '/claw/prod/trace-readers/', gateway, 'acme'),
    policy('acme-trace-reader-policy', 'claw-prod-r-acme', readerPolicy),
    policy('acme-gateway-assume-reader', 'claw-prod-gateway', [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: reader }]),
  ];

  it('passes the stack as it wires them', async () => {
    expect(await messages(wired(), 'aws-gateway-no-tenant-read')).toEqual([]);
  });

  it('fails the gateway assuming a tenant role, a reader another role may assume, and a reader that writes', async () => {
    const rs = [
      ...swap(wired(), 'claw-prod-r-acme', (s) => ({ ...s, assumeRolePolicy: s.assumeRolePolicy.replace(gateway, worker) })),
      policy('gw-tenant-role', 'claw-prod-gateway', [{ Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: `${ACCOUNT}/claw/prod/tenants/claw-prod-t-acme` }]),
      policy('reader-writes', 'claw-prod-r-acme', [
        { Effect: 'Allow', Action: ['glue:UpdateTable'], Resource: 'arn:aws:glue:eu-west-1:111122223333:table/claw_prod_acme/traces' },
        { Effect: 'Allow', Action: ['s3:PutObject'], Resource: `arn:aws:s3:::${bucketOf('acme')}/traces/*` },
      ]),
    ];
    expect(await messages(rs, 'aws-gateway-no-tenant-read')).toEqual([
      `claw-prod-r-acme: trace reader claw-prod-r-acme may be assumed by ${worker} (only the gateway)`,
      `gw-tenant-role: the gateway role may sts:AssumeRole on ${ACCOUNT}/claw/prod/tenants/claw-prod-t-acme`,
      'reader-writes: trace reader claw-prod-r-acme may glue:UpdateTable',
      'reader-writes: trace reader claw-prod-r-acme may s3:PutObject',
    ]);
  });
});
