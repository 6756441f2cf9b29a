import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localTenantKeyring } from '../crypto/index.js';
import { parsePrefix } from '../crypto/envelope.js';
import { readAll } from './common.js';
import { DirectoryBlobStore, directoryBlobRoot } from './directory.js';
import { openBlobStore, openDirectoryBlobStore, reencryptBlobs } from './index.js';
import { blobStoreContract, expectRejectsWith, generated } from './testing/contract.js';

function tempState(): string {
  return mkdtempSync(join(tmpdir(), 'claw-blobs-'));
}

blobStoreContract('directory (local target)', async () => {
  const stateDir = tempState();
  const keyring = localTenantKeyring(stateDir);
  const store = openDirectoryBlobStore(stateDir, keyring);
  const path = (tenantId: string, key: string) => join(directoryBlobRoot(stateDir), tenantId, ...key.split('/'));
  return {
    store,
    keyring,
    addTenant: (tenantId) => keyring.createTenantKey(tenantId),
    readRaw: async (tenantId, key) => readFileSync(path(tenantId, key)),
    writeRaw: async (tenantId, key, bytes) => {
      mkdirSync(dirname(path(tenantId, key)), { recursive: true });
      writeFileSync(path(tenantId, key), bytes);
    },
    cleanup: async () => rmSync(stateDir, { recursive: true, force: true }),
  };
});

describe('DirectoryBlobStore specifics', () => {
  it('keeps objects under <stateDir>/blobs/<tenant>/<key>, private to the user', async () => {
    const stateDir = tempState();
    const keyring = localTenantKeyring(stateDir);
    await keyring.createTenantKey('acme');
    const store = (await openBlobStore({ kind: 'directory', stateDir, keyring })) as DirectoryBlobStore;
    expect(store.kind).toBe('directory');
    await store.put('acme', 'reports/q1.pdf', Buffer.from('pdf'));
    const file = join(stateDir, 'blobs', 'acme', 'reports', 'q1.pdf');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(await store.tenants()).toEqual(['acme']);
    // Deleting the last key of a folder removes the folder, never the tenant directory.
    await store.delete('acme', 'reports/q1.pdf');
    expect(existsSync(join(stateDir, 'blobs', 'acme', 'reports'))).toBe(false);
    expect(existsSync(join(stateDir, 'blobs', 'acme'))).toBe(true);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('a body that fails midway leaves no object, no temp file, and the previous version intact', async () => {
    const stateDir = tempState();
    const keyring = localTenantKeyring(stateDir);
    await keyring.createTenantKey('acme');
    const store = new DirectoryBlobStore({ root: directoryBlobRoot(stateDir), keyring });
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield* generated(700 * 1024);
      throw new Error('the upload connection dropped');
    }
    await expectRejectsWith(store.put('acme', 'fresh', failing()), 'BLOB_STORE_FAILED');
    expect(await store.list('acme')).toEqual([]);
    await store.put('acme', 'kept', Buffer.from('version 1'));
    await expectRejectsWith(store.put('acme', 'kept', failing()), 'BLOB_STORE_FAILED');
    expect((await readAll(await store.get('acme', 'kept'))).toString()).toBe('version 1');
    expect(readdirSync(join(stateDir, 'blobs', '.tmp'))).toEqual([]);
    expect(await store.tenants()).toEqual(['acme']);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('a key that is both an object and a folder is BLOB_KEY_CONFLICT, not a crash', async () => {
    const stateDir = tempState();
    const keyring = localTenantKeyring(stateDir);
    await keyring.createTenantKey('acme');
    const store = openDirectoryBlobStore(stateDir, keyring);
    await store.put('acme', 'a/b', Buffer.from('x'));
    await expectRejectsWith(store.put('acme', 'a', Buffer.from('y')), 'BLOB_KEY_CONFLICT');
    await expectRejectsWith(store.put('acme', 'a/b/c', Buffer.from('y')), 'BLOB_KEY_CONFLICT');
    await expectRejectsWith(store.get('acme', 'a'), 'BLOB_NOT_FOUND');
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('re-encrypts every blob of a tenant under the rotated key; old and new both read', async () => {
    const stateDir = tempState();
    const keyring = localTenantKeyring(stateDir);
    await keyring.createTenantKey('acme');
    const store = openDirectoryBlobStore(stateDir, keyring);
    await store.put('acme', 'one', Buffer.from('first'));
    await store.put('acme', 'dir/two', generated(300 * 1024));
    // The header names the wrapping keys (the generator first) and the data key's salt.
    const header = () => parsePrefix(readFileSync(join(stateDir, 'blobs', 'acme', 'one'))).header;
    const before = header();
    expect(before.k.map((k) => k.i.split('\u0000')[0])).toEqual(['acme/v1']);
    await keyring.rotate('acme');
    expect((await readAll(await store.get('acme', 'one'))).toString()).toBe('first'); // old data stays readable
    expect(await reencryptBlobs(store, 'acme')).toEqual(['dir/two', 'one']);
    const after = header();
    expect(after.k[0]!.i.split('\u0000')[0]).toBe('acme/v2');
    expect(after.s).not.toBe(before.s); // a new data key
    expect((await readAll(await store.get('acme', 'one'))).toString()).toBe('first');
    expect((await readAll(await store.get('acme', 'dir/two'))).length).toBe(300 * 1024);
    rmSync(stateDir, { recursive: true, force: true });
  });
});
