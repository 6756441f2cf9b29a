/**
 * The BlobStore contract, run against every adapter (directory, S3 on moto, GCS on the
 * loopback stand-in). Each adapter's test supplies a harness: the store, its keyring,
 * and raw access to the stored bytes so the suite can copy, damage and cut ciphertext.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isClawError } from '../../../core/errors.js';
import type { BlobStore, TenantKeyring } from '../../ports.js';
import { readAll } from '../common.js';

export interface BlobHarness {
  store: BlobStore;
  keyring: TenantKeyring;
  /** Make a tenant usable: its root key, and whatever the backend needs (a bucket). */
  addTenant(tenantId: string): Promise<void>;
  /** The bytes as stored (ciphertext), bypassing the store. */
  readRaw(tenantId: string, key: string): Promise<Buffer>;
  /** Store bytes as they are under a tenant's key, bypassing the store. */
  writeRaw(tenantId: string, key: string, bytes: Buffer): Promise<void>;
  cleanup?(): Promise<void>;
}

export const CANARY = 'CANARY-plaintext-4f1d9c-must-never-be-stored';

/** `size` bytes of a pattern that embeds the canary, delivered in uneven chunks. */
export async function* generated(size: number, seed = 7): AsyncGenerator<Uint8Array> {
  const block = Buffer.alloc(64 * 1024 + 13);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + seed) & 0xff;
  Buffer.from(CANARY).copy(block, 100);
  let left = size;
  let turn = 0;
  while (left > 0) {
    const take = Math.min(left, block.length - (turn++ % 7) * 1000);
    yield block.subarray(0, take);
    left -= take;
  }
}

export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function sha256Stream(source: AsyncIterable<Uint8Array>): Promise<{ sha: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha: hash.digest('hex'), size };
}

/** Reading a blob fails with exactly this ClawError code (at get() or while streaming). */
export async function expectReadFails(store: BlobStore, tenantId: string, key: string, code: string): Promise<void> {
  let error: unknown;
  let bytes = 0;
  try {
    for await (const chunk of await store.get(tenantId, key)) bytes += chunk.byteLength;
  } catch (err) {
    error = err;
  }
  expect(isClawError(error), `expected ClawError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  return void bytes;
}

export async function expectRejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isClawError(error), `expected ClawError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

export function blobStoreContract(name: string, setup: () => Promise<BlobHarness>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let h: BlobHarness;
    const A = 'acme';
    const B = 'globex';
    const DOOMED = 'doomed';

    beforeAll(async () => {
      h = await setup();
      for (const tenant of [A, B, DOOMED]) await h.addTenant(tenant);
    });
    afterAll(async () => {
      await h?.cleanup?.();
    });

    it('round-trips a small object and a multi-MiB one; the stored bytes are ciphertext', async () => {
      const small = Buffer.from(`hello ${CANARY}`);
      expect(await h.store.put(A, 'notes/small.txt', small)).toEqual({ size: small.length });
      expect((await readAll(await h.store.get(A, 'notes/small.txt'))).equals(small)).toBe(true);

      const size = 5 * 1024 * 1024 + 12345;
      expect(await h.store.put(A, 'big/object.bin', generated(size))).toEqual({ size });
      const wanted = await sha256Stream(generated(size));
      expect(await sha256Stream(await h.store.get(A, 'big/object.bin'))).toEqual(wanted);

      const empty = new Uint8Array(0);
      expect(await h.store.put(A, 'empty', empty)).toEqual({ size: 0 });
      expect((await readAll(await h.store.get(A, 'empty'))).length).toBe(0);

      for (const key of ['notes/small.txt', 'big/object.bin']) {
        const raw = await h.readRaw(A, key);
        expect(raw.subarray(0, 4).toString('latin1')).toBe('CLW1');
        expect(raw.includes(Buffer.from(CANARY))).toBe(false);
        expect(raw.includes(Buffer.from('hello'))).toBe(false);
      }
    });

    it('overwrites an object in place', async () => {
      await h.store.put(A, 'over', Buffer.from('first version'));
      await h.store.put(A, 'over', Buffer.from('second'));
      expect((await readAll(await h.store.get(A, 'over'))).toString()).toBe('second');
    });

    it("refuses tenant A's ciphertext copied under tenant B's key (fails closed: CIPHERTEXT_TENANT_MISMATCH)", async () => {
      await h.store.put(A, 'shared/contract.pdf', Buffer.from(`A's contract ${CANARY}`));
      await h.writeRaw(B, 'shared/contract.pdf', await h.readRaw(A, 'shared/contract.pdf'));
      expect(await h.store.list(B)).toContain('shared/contract.pdf');
      await expectRejectsWith(h.store.get(B, 'shared/contract.pdf'), 'CIPHERTEXT_TENANT_MISMATCH');
      // A still reads its own.
      expect((await readAll(await h.store.get(A, 'shared/contract.pdf'))).toString()).toContain("A's contract");
    });

    it('a corrupted object fails with CIPHERTEXT_CORRUPT, in the first frame or a later one', async () => {
      await h.store.put(A, 'damaged/late', generated(1024 * 1024 + 7));
      const raw = await h.readRaw(A, 'damaged/late');
      const late = Buffer.from(raw);
      late[Math.floor(raw.length * 0.75)]! ^= 0x01;
      await h.writeRaw(A, 'damaged/late', late);
      await expectReadFails(h.store, A, 'damaged/late', 'CIPHERTEXT_CORRUPT');

      await h.store.put(A, 'damaged/early', Buffer.from(`short ${CANARY}`));
      const early = Buffer.from(await h.readRaw(A, 'damaged/early'));
      early[early.length - 20]! ^= 0x80;
      await h.writeRaw(A, 'damaged/early', early);
      await expectRejectsWith(h.store.get(A, 'damaged/early'), 'CIPHERTEXT_CORRUPT');

      await h.writeRaw(A, 'damaged/not-an-envelope', Buffer.from('plain bytes someone dropped in the bucket'));
      await expectRejectsWith(h.store.get(A, 'damaged/not-an-envelope'), 'CIPHERTEXT_CORRUPT');
    });

    it('a truncated object fails with CIPHERTEXT_TRUNCATED (cut mid-frame, at a frame boundary, after the header)', async () => {
      await h.store.put(A, 'cut/source', generated(1024 * 1024));
      const raw = await h.readRaw(A, 'cut/source');
      await h.writeRaw(A, 'cut/mid-frame', raw.subarray(0, raw.length - 100));
      await expectReadFails(h.store, A, 'cut/mid-frame', 'CIPHERTEXT_TRUNCATED');
      // The final frame is empty (the input is a multiple of the frame size): drop exactly it.
      await h.writeRaw(A, 'cut/boundary', raw.subarray(0, raw.length - (5 + 12 + 16)));
      await expectReadFails(h.store, A, 'cut/boundary', 'CIPHERTEXT_TRUNCATED');
      const headerLength = 7 + raw.readUInt16BE(5);
      await h.writeRaw(A, 'cut/header-only', raw.subarray(0, headerLength));
      await expectReadFails(h.store, A, 'cut/header-only', 'CIPHERTEXT_TRUNCATED');
      await h.writeRaw(A, 'cut/empty', Buffer.alloc(0));
      await expectReadFails(h.store, A, 'cut/empty', 'CIPHERTEXT_TRUNCATED');
    });

    it('a missing object is BLOB_NOT_FOUND; bad keys are BLOB_KEY_INVALID on every operation', async () => {
      await expectRejectsWith(h.store.get(A, 'no/such/object'), 'BLOB_NOT_FOUND');
      for (const key of ['../escape', 'a/../../b', '/etc/passwd', 'a//b', 'a/./b', '', 'trailing/', 'back\\slash', 'nul\u0000byte']) {
        await expectRejectsWith(h.store.put(A, key, Buffer.from('x')), 'BLOB_KEY_INVALID');
        await expectRejectsWith(h.store.get(A, key), 'BLOB_KEY_INVALID');
        await expectRejectsWith(h.store.delete(A, key), 'BLOB_KEY_INVALID');
      }
      await expectRejectsWith(h.store.list(A, '../'), 'BLOB_KEY_INVALID');
      await expectRejectsWith(h.store.put('../acme', 'x', Buffer.from('x')), 'TENANT_ID_INVALID');
    });

    it('lists by prefix within the tenant only, and deletes (idempotently)', async () => {
      for (const key of ['list/a/1', 'list/a/2', 'list/b/1', 'listing']) await h.store.put(B, key, Buffer.from(key));
      const all = await h.store.list(B);
      expect(all).toEqual(expect.arrayContaining(['list/a/1', 'list/a/2', 'list/b/1', 'listing']));
      expect(all).toEqual([...all].sort());
      expect(await h.store.list(B, 'list/a/')).toEqual(['list/a/1', 'list/a/2']);
      expect(await h.store.list(B, 'list')).toEqual(['list/a/1', 'list/a/2', 'list/b/1', 'listing']);
      expect(await h.store.list(A, 'list/')).toEqual([]);
      await h.store.delete(B, 'list/a/1');
      expect(await h.store.list(B, 'list/a/')).toEqual(['list/a/2']);
      await expectRejectsWith(h.store.get(B, 'list/a/1'), 'BLOB_NOT_FOUND');
      await h.store.delete(B, 'list/a/1');
      await h.store.delete(B, 'never/existed');
    });

    it('after keyring.destroy(tenant) its reads and writes fail with TENANT_KEY_DESTROYED; other tenants still work', async () => {
      await h.store.put(DOOMED, 'files/secret-plan', Buffer.from(`doomed ${CANARY}`));
      await h.store.put(DOOMED, 'files/big', generated(600 * 1024));
      await h.store.put(A, 'survivor', Buffer.from('still here'));
      // A reader that already has the tenant's crypto cached must not get through either.
      expect((await readAll(await h.store.get(DOOMED, 'files/secret-plan'))).toString()).toContain('doomed');
      await h.keyring.destroy(DOOMED);
      await expectRejectsWith(h.store.get(DOOMED, 'files/secret-plan'), 'TENANT_KEY_DESTROYED');
      await expectRejectsWith(h.store.get(DOOMED, 'files/big'), 'TENANT_KEY_DESTROYED');
      await expectRejectsWith(h.store.put(DOOMED, 'files/new', Buffer.from('x')), 'TENANT_KEY_DESTROYED');
      expect((await readAll(await h.store.get(A, 'survivor'))).toString()).toBe('still here');
      expect((await readAll(await h.store.get(B, 'listing'))).toString()).toBe('listing');
    });
  });
}

