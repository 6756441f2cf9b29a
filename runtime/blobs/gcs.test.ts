/**
 * GcsBlobStore against a loopback STAND-IN for the Cloud Storage JSON API
 * (runtime/blobs/testing/gcs-standin.ts): the resumable upload protocol, media download,
 * list and delete as GcsBlobStore uses them — not real GCS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTenantKeyring } from '../crypto/index.js';
import { readAll } from './common.js';
import { GcsBlobStore, type GcsTenantLocation } from './gcs.js';
import { blobStoreContract, expectRejectsWith, generated } from './testing/contract.js';
import { startGcsStandin, type GcsStandin } from './testing/gcs-standin.js';

/** A managed bucket per tenant, except 'globex', which brings its own bucket and prefix (BYOB). */
function locations(tenantId: string): GcsTenantLocation {
  if (tenantId === 'globex') return { bucket: 'globex-corp-data', prefix: 'claw/prod' };
  return { bucket: `claw-${tenantId}-blobs` };
}

blobStoreContract('GCS JSON API (loopback stand-in, not real GCS)', async () => {
  const standin = await startGcsStandin({ pageSize: 2 });
  const stateDir = mkdtempSync(join(tmpdir(), 'claw-blobs-gcs-'));
  const keyring = localTenantKeyring(stateDir);
  // 256 KiB chunks: a multi-MiB object takes many chunked PUTs.
  const store = new GcsBlobStore({ keyring, location: locations, token: () => standin.token, baseUrl: standin.baseUrl, chunkBytes: 256 * 1024 });
  const objectOf = (tenantId: string, key: string) => store.locate(tenantId, key);
  return {
    store,
    keyring,
    addTenant: async (tenantId) => {
      await keyring.createTenantKey(tenantId);
      standin.createBucket(locations(tenantId).bucket);
    },
    readRaw: async (tenantId, key) => {
      const { bucket, objectName } = objectOf(tenantId, key);
      const bytes = standin.buckets.get(bucket)?.get(objectName);
      if (!bytes) throw new Error(`no raw object ${bucket}/${objectName}`);
      return bytes;
    },
    writeRaw: async (tenantId, key, bytes) => {
      const { bucket, objectName } = objectOf(tenantId, key);
      standin.buckets.get(bucket)!.set(objectName, Buffer.from(bytes));
    },
    cleanup: async () => {
      await standin.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
});

describe('GcsBlobStore specifics (loopback stand-in for the GCS JSON API)', () => {
  let standin: GcsStandin;
  let stateDir: string;
  beforeAll(async () => {
    standin = await startGcsStandin();
    stateDir = mkdtempSync(join(tmpdir(), 'claw-blobs-gcs-'));
    standin.createBucket('claw-acme-blobs');
    standin.createBucket('globex-corp-data');
  });
  afterAll(async () => {
    await standin.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('uploads through one resumable session in 256 KiB-multiple chunks with Content-Range, the last one with the total', async () => {
    const keyring = localTenantKeyring(stateDir);
    await keyring.createTenantKey('acme');
    const store = new GcsBlobStore({ keyring, location: locations, token: () => standin.token, baseUrl: standin.baseUrl, chunkBytes: 512 * 1024 });
    standin.requests.length = 0;
    await store.put('acme', 'uploads/two-mib', generated(2 * 1024 * 1024 + 5));
    const starts = standin.requests.filter((r) => r.method === 'POST');
    expect(starts).toEqual([expect.objectContaining({ path: '/upload/storage/v1/b/claw-acme-blobs/o' })]);
    const puts = standin.requests.filter((r) => r.method === 'PUT');
    expect(puts.length).toBeGreaterThanOrEqual(5);
    for (const put of puts.slice(0, -1)) {
      expect(put.contentRange).toMatch(/^bytes \d+-\d+\/\*$/);
      expect(put.bytes % (256 * 1024)).toBe(0);
    }
    const total = puts.reduce((n, p) => n + p.bytes, 0);
    expect(puts.at(-1)!.contentRange).toMatch(new RegExp(`^bytes \\d+-${total - 1}/${total}$`));
    expect(standin.buckets.get('claw-acme-blobs')!.get('blobs/uploads/two-mib')!.length).toBe(total);
    expect((await readAll(await store.get('acme', 'uploads/two-mib'))).length).toBe(2 * 1024 * 1024 + 5);
  });

  it("names the tenant's Cloud KMS key on the upload when the location gives one", async () => {
    const keyring = localTenantKeyring(stateDir);
    await keyring.createTenantKey('acme');
    const kmsKeyName = 'projects/p/locations/us/keyRings/claw/cryptoKeys/tenant-acme';
    const store = new GcsBlobStore({ keyring, location: () => ({ bucket: 'claw-acme-blobs', kmsKeyName }), token: () => standin.token, baseUrl: standin.baseUrl });
    standin.requests.length = 0;
    await store.put('acme', 'cmek', Buffer.from('x'));
    expect(standin.requests.find((r) => r.method === 'POST')!.query).toMatchObject({ uploadType: 'resumable', name: 'blobs/cmek', kmsKeyName });
  });

  it("BYOB objects land in the customer's bucket under its prefix", async () => {
    const keyring = localTenantKeyring(stateDir);
    await keyring.createTenantKey('globex');
    const store = new GcsBlobStore({ keyring, location: locations, token: () => standin.token, baseUrl: standin.baseUrl });
    await store.put('globex', 'a/b.txt', Buffer.from('byob'));
    expect([...standin.buckets.get('globex-corp-data')!.keys()]).toEqual(['claw/prod/blobs/a/b.txt']);
    expect(await store.list('globex')).toEqual(['a/b.txt']);
  });

  it('a refused token is one BLOB_STORE_FAILED error that names the status, never the token; a failed upload leaves no object', async () => {
    const keyring = localTenantKeyring(stateDir);
    await keyring.createTenantKey('acme');
    const wrong = 'ya29.not-the-right-token-value';
    const store = new GcsBlobStore({ keyring, location: locations, token: () => wrong, baseUrl: standin.baseUrl });
    const error = (await store.put('acme', 'nope', Buffer.from('x')).catch((err: unknown) => err)) as Error & { code: string };
    expect(error).toMatchObject({ code: 'BLOB_STORE_FAILED' });
    expect(error.message).toContain('401');
    expect(JSON.stringify(error) + error.message).not.toContain(wrong);
    await expectRejectsWith(store.list('acme'), 'BLOB_STORE_FAILED');

    // A body that fails after some chunks went up: the session is cancelled, no object appears.
    const good = new GcsBlobStore({ keyring, location: locations, token: () => standin.token, baseUrl: standin.baseUrl, chunkBytes: 256 * 1024 });
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield* generated(1024 * 1024);
      throw new Error('source dropped');
    }
    await expectRejectsWith(good.put('acme', 'half', failing()), 'BLOB_STORE_FAILED');
    expect(standin.buckets.get('claw-acme-blobs')!.has('blobs/half')).toBe(false);
    await expectRejectsWith(good.get('acme', 'half'), 'BLOB_NOT_FOUND');
  });
});
