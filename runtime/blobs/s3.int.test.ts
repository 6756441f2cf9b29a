/**
 * S3BlobStore against moto. What moto checks: objects land under the tenant's prefix (or
 * the BYOB bucket and prefix), multipart uploads complete, and it records the SSE-KMS
 * headers of each write (HeadObject returns them). What it cannot: it does not encrypt
 * with the KMS key or evaluate key or bucket policies, so "S3 refuses other keys" is the
 * stack's test (components/aws), not this one.
 */
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { localTenantKeyring } from '../crypto/index.js';
import { readAll } from './common.js';
import { S3BlobStore, s3Locations } from './s3.js';
import { blobStoreContract, CANARY, expectRejectsWith, generated } from './testing/contract.js';

const region = 'us-east-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const run = Date.now().toString(36);
const sharedBucket = `claw-blobs-${run}`;
const byobBucket = `customer-data-${run}`;
const kmsKeys: Record<string, string> = {};

function clients() {
  const endpoint = inject('motoEndpoint');
  return { endpoint, s3: new S3Client({ region, endpoint, forcePathStyle: true, credentials }), kms: new KMSClient({ region, endpoint, credentials }) };
}

const buckets = new Set<string>();
async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  if (buckets.has(bucket)) return;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  buckets.add(bucket);
}

/** A prefix per tenant in one shared bucket; 'globex' brings its own bucket (BYOB) with a prefix. */
const location = s3Locations({
  kmsKeyId: (tenantId) => kmsKeys[tenantId]!,
  sharedBucket,
  byob: { globex: { bucket: byobBucket, prefix: 'claw/prod' } },
});

async function harnessStore() {
  const { endpoint, s3, kms } = clients();
  const stateDir = mkdtempSync(join(tmpdir(), 'claw-blobs-s3-'));
  const keyring = localTenantKeyring(stateDir);
  // Small parts so a multi-MiB object is a real multipart upload (5 MiB is S3's minimum).
  const store = new S3BlobStore({ keyring, location, region, endpoint, credentials, partSize: 5 * 1024 * 1024 });
  const addTenant = async (tenantId: string) => {
    await keyring.createTenantKey(tenantId);
    kmsKeys[tenantId] ??= (await kms.send(new CreateKeyCommand({ Description: `claw tenant ${tenantId}` }))).KeyMetadata!.Arn!;
    await ensureBucket(s3, location(tenantId).bucket);
  };
  return { s3, stateDir, keyring, store, addTenant };
}

blobStoreContract('S3 (moto), prefix per tenant + a BYOB bucket', async () => {
  const { s3, stateDir, keyring, store, addTenant } = await harnessStore();
  return {
    store,
    keyring,
    addTenant,
    readRaw: async (tenantId, key) => {
      const { bucket, objectKey } = store.locate(tenantId, key);
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }));
      return Buffer.from(await object.Body!.transformToByteArray());
    },
    writeRaw: async (tenantId, key, bytes) => {
      const { bucket, objectKey } = store.locate(tenantId, key);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey, Body: bytes }));
    },
    cleanup: async () => rmSync(stateDir, { recursive: true, force: true }),
  };
});

describe('S3BlobStore specifics (moto)', () => {
  it("stores only ciphertext, and every write (single and multipart) carries SSE-KMS under that tenant's key with a bucket key", async () => {
    const { s3, stateDir, store, addTenant } = await harnessStore();
    for (const tenant of ['acme', 'initech']) await addTenant(tenant);
    await store.put('acme', 'doc/small.txt', Buffer.from(`small ${CANARY}`));
    await store.put('acme', 'doc/multipart.bin', generated(12 * 1024 * 1024));
    await store.put('initech', 'doc/small.txt', Buffer.from(`initech ${CANARY}`));
    for (const [tenant, key] of [['acme', 'doc/small.txt'], ['acme', 'doc/multipart.bin'], ['initech', 'doc/small.txt']] as const) {
      const { bucket, objectKey } = store.locate(tenant, key);
      expect(objectKey).toBe(`tenants/${tenant}/blobs/${key}`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey }));
      expect(head.ServerSideEncryption).toBe('aws:kms');
      expect(head.SSEKMSKeyId).toBe(kmsKeys[tenant]);
      // moto records BucketKeyEnabled for PutObject but not for CreateMultipartUpload (lib-storage sends it on both).
      if (key === 'doc/small.txt') expect(head.BucketKeyEnabled).toBe(true);
      const stored = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }))).Body!.transformToByteArray());
      expect(stored.subarray(0, 4).toString('latin1')).toBe('CLW1');
      expect(stored.includes(Buffer.from(CANARY))).toBe(false);
    }
    expect((await readAll(await store.get('acme', 'doc/multipart.bin'))).length).toBe(12 * 1024 * 1024);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("BYOB: objects go to the customer's bucket under its prefix", async () => {
    const { s3, stateDir, store, addTenant } = await harnessStore();
    await addTenant('globex');
    await store.put('globex', 'a/b.txt', Buffer.from('byob'));
    const head = await s3.send(new HeadObjectCommand({ Bucket: byobBucket, Key: 'claw/prod/blobs/a/b.txt' }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(await store.list('globex', 'a/')).toEqual(['a/b.txt']);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('a managed bucket per tenant: objects at <bucket>/blobs/<key>, SSE-KMS under the tenant key', async () => {
    const { endpoint, s3 } = clients();
    const { stateDir, keyring, addTenant } = await harnessStore();
    await addTenant('initech');
    const bucket = `claw-initech-${run}`;
    await ensureBucket(s3, bucket);
    const perTenant = new S3BlobStore({ keyring, region, endpoint, credentials, location: s3Locations({ kmsKeyId: (t) => kmsKeys[t]!, bucketName: (t) => `claw-${t}-${run}` }) });
    await perTenant.put('initech', 'x/y', Buffer.from('managed'));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'blobs/x/y' }));
    expect(head.SSEKMSKeyId).toBe(kmsKeys.initech);
    expect((await readAll(await perTenant.get('initech', 'x/y'))).toString()).toBe('managed');
    expect(await perTenant.list('initech')).toEqual(['x/y']);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('a body that fails mid-upload leaves no object and no open multipart upload; a missing KMS key refuses to write', async () => {
    const { s3, stateDir, store, keyring, addTenant } = await harnessStore();
    await addTenant('acme');
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield* generated(11 * 1024 * 1024);
      throw new Error('source dropped');
    }
    await expectRejectsWith(store.put('acme', 'half.bin', failing()), 'BLOB_STORE_FAILED');
    await expectRejectsWith(store.get('acme', 'half.bin'), 'BLOB_NOT_FOUND');
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: sharedBucket, Prefix: 'tenants/acme/blobs/half.bin' }));
    expect(uploads.Uploads ?? []).toEqual([]);

    const { endpoint } = clients();
    const keyless = new S3BlobStore({ keyring, region, endpoint, credentials, location: () => ({ bucket: sharedBucket, prefix: 'tenants/acme/', kmsKeyId: '' }) });
    await expectRejectsWith(keyless.put('acme', 'x', Buffer.from('x')), 'BLOB_STORE_MISCONFIGURED');
    rmSync(stateDir, { recursive: true, force: true });
  });
});
