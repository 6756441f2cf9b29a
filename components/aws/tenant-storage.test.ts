import { beforeAll, describe, expect, it } from 'vitest';
import type * as StorageModule from './tenant-storage.js';
import type * as Synth from '../../policies/infra/synth.js';

let synth: typeof Synth;
let mod: typeof StorageModule;
let aws: typeof import('@pulumi/aws');
beforeAll(async () => {
  synth = await import('../../policies/infra/synth.js');
  await synth.synthesize(() => {});
  mod = await import('./tenant-storage.js');
  aws = await import('@pulumi/aws');
});

const keyArn = 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const tenantRoleArn = 'arn:aws:iam::111122223333:role/claw/prod/tenants/claw-prod-t-acme';

function run(bucket: StorageModule.TenantStorageArgs['bucket']) {
  return synth.synthesize(() => {
    const provider = new aws.Provider('aws', { region: 'eu-west-1' });
    const s = new mod.TenantStorage('acme', { install: 'prod', tenantId: 'acme', bucket, keyArn, tenantRoleArn, accountId: '111122223333', region: 'eu-west-1', provider });
    return { bucket: s.bucketName, prefix: s.prefix, ...(s.requiredBucketPolicy ? { required: s.requiredBucketPolicy } : {}) };
  });
}

describe('TenantStorage (managed bucket)', () => {
  it('encrypts by default with the tenant key and bucket keys', async () => {
    const { resources, outputs } = await run({ type: 'managed' });
    const bucket = synth.named(resources, 'aws:s3/bucket:Bucket', 'acme-bucket');
    expect(bucket.inputs.bucket).toBe('claw-prod-acme-111122223333-eu-west-1');
    expect(bucket.inputs.tags['claw:tenant']).toBe('acme');
    expect(outputs.bucket).toBe(bucket.inputs.bucket);
    const sse = synth.named(resources, 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration', 'acme-sse');
    expect(sse.inputs.bucket).toBe(bucket.inputs.bucket);
    expect(sse.inputs.rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: keyArn }, bucketKeyEnabled: true }]);
  });

  it('blocks public access, disables ACLs, versions objects and expires what should expire', async () => {
    const { resources } = await run({ type: 'managed' });
    expect(synth.named(resources, 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', 'acme-public-access').inputs).toMatchObject({
      blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    });
    expect(synth.named(resources, 'aws:s3/bucketOwnershipControls:BucketOwnershipControls', 'acme-ownership').inputs.rule).toEqual({ objectOwnership: 'BucketOwnerEnforced' });
    expect(synth.named(resources, 'aws:s3/bucketVersioning:BucketVersioning', 'acme-versioning').inputs.versioningConfiguration).toEqual({ status: 'Enabled' });
    const rules = synth.named(resources, 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration', 'acme-lifecycle').inputs.rules;
    expect(rules.map((r: { id: string }) => r.id)).toEqual(['abort-incomplete-uploads', 'expire-noncurrent-versions', 'expire-athena-results']);
  });

  it('bucket policy: TLS only, and uploads only under the tenant key', async () => {
    const { resources } = await run({ type: 'managed' });
    const policy = JSON.parse(synth.named(resources, 'aws:s3/bucketPolicy:BucketPolicy', 'acme-policy').inputs.policy);
    const bySid = Object.fromEntries(policy.Statement.map((s: { Sid: string }) => [s.Sid, s]));
    expect(bySid.DenyInsecureTransport).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': false } } });
    expect(bySid.DenyOtherKeys).toMatchObject({ Effect: 'Deny', Action: 's3:PutObject', Condition: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn } } });
    // Only Deny statements may name '*'.
    for (const s of policy.Statement) if (s.Principal === '*') expect(s.Effect).toBe('Deny');
  });
});

describe('TenantStorage (BYOB)', () => {
  it('declares no bucket resources and exposes the statements the customer must apply', async () => {
    const { resources, outputs } = await run({ type: 'byob', name: 'acme-data', prefix: 'claw' });
    expect(resources.filter((r) => r.type.startsWith('aws:s3/'))).toEqual([]);
    expect(outputs.bucket).toBe('acme-data');
    expect(outputs.prefix).toBe('claw/');
    const policy = JSON.parse(String(outputs.required));
    const bySid = Object.fromEntries(policy.Statement.map((s: { Sid: string }) => [s.Sid, s]));
    expect(bySid.ClawTenantObjects).toMatchObject({ Effect: 'Allow', Principal: { AWS: tenantRoleArn }, Resource: 'arn:aws:s3:::acme-data/claw/*' });
    expect(bySid.ClawTenantList.Condition).toEqual({ StringLike: { 's3:prefix': ['claw/*'] } });
    expect(bySid.DenyInsecureTransport.Effect).toBe('Deny');
    expect(bySid.DenyOtherKeys.Resource).toBe('arn:aws:s3:::acme-data/claw/*');
  });
});
