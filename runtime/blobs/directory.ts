/**
 * The local target's BlobStore: a directory per tenant, `<stateDir>/blobs/<tenant>/<key>`,
 * each file a framed envelope under the tenant's key (purpose 'blob'). A put streams into
 * a temp file under `<stateDir>/blobs/.tmp/` (same filesystem), fsyncs it and renames it
 * into place, so a crash or a failed stream leaves either the old object or the new one,
 * never half of one. Temp files live outside the tenant directories, so `list` never sees them.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { ClawError } from '../../core/errors.js';
import type { BlobStore, TenantKeyring } from '../ports.js';
import { assertTenantId } from '../../core/config/schema.js';
import { blobNotFound, blobStoreError, checkBlobKey, checkBlobPrefix, counted, openBody, sealBody, tenantCrypto, type BlobBody } from './common.js';

/** Where the local target keeps blobs (see stacks/local/state.ts). */
export function directoryBlobRoot(stateDir: string): string {
  return join(stateDir, 'blobs');
}

const TMP_DIR = '.tmp';
const READ_CHUNK = 64 * 1024;

export interface DirectoryBlobStoreOptions {
  /** The blobs root, usually `directoryBlobRoot(stateDir)`. */
  root: string;
  keyring: TenantKeyring;
}

function keyConflict(tenantId: string, key: string, cause: unknown): ClawError {
  return new ClawError('BLOB_KEY_CONFLICT', `tenant '${tenantId}': blob key '${key}' collides with another key used as a folder (or a folder of keys)`, {
    hint: "a key cannot be both an object and a prefix of other keys in the directory store (e.g. 'a' and 'a/b'); pick another key",
    details: { tenantId, key },
    cause,
  });
}

export class DirectoryBlobStore implements BlobStore {
  readonly kind = 'directory' as const;

  constructor(private readonly options: DirectoryBlobStoreOptions) {}

  private tenantDir(tenantId: string): string {
    assertTenantId(tenantId);
    return join(this.options.root, tenantId);
  }

  /** The file of a key. Validation makes escaping the tenant directory impossible; the check below is belt and braces. */
  private objectPath(tenantId: string, key: string): string {
    checkBlobKey(key);
    const base = this.tenantDir(tenantId);
    const path = join(base, ...key.split('/'));
    if (!path.startsWith(base + sep)) throw blobStoreError('resolve', tenantId, key, new Error('the key resolves outside the tenant directory'));
    return path;
  }

  async put(tenantId: string, key: string, body: BlobBody): Promise<{ size: number }> {
    const target = this.objectPath(tenantId, key);
    const crypto = await tenantCrypto(this.options.keyring, tenantId);
    const tmpDir = join(this.options.root, TMP_DIR);
    const tmp = join(tmpDir, `${tenantId}.${randomUUID()}.part`);
    const { chunks, size } = counted(body);
    try {
      await mkdir(tmpDir, { recursive: true, mode: 0o700 });
      const handle = await open(tmp, 'wx', 0o600);
      try {
        // One frame per write; awaiting each write is the backpressure.
        for await (const frame of sealBody(crypto, chunks)) await handle.write(frame);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        await rename(tmp, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') throw keyConflict(tenantId, key, err);
        throw err;
      }
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw blobStoreError('write', tenantId, key, err);
    }
    return { size: size() };
  }

  async get(tenantId: string, key: string): Promise<AsyncIterable<Uint8Array>> {
    const path = this.objectPath(tenantId, key);
    const crypto = await tenantCrypto(this.options.keyring, tenantId);
    let handle;
    try {
      handle = await open(path, 'r');
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        throw blobNotFound(tenantId, key);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw blobNotFound(tenantId, key);
      throw blobStoreError('read', tenantId, key, err);
    }
    const stream = handle.createReadStream({ highWaterMark: READ_CHUNK });
    return openBody(crypto, stream, { tenantId, key, release: () => void stream.destroy() });
  }

  async delete(tenantId: string, key: string): Promise<void> {
    const path = this.objectPath(tenantId, key);
    const base = this.tenantDir(tenantId);
    try {
      await unlink(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return; // deleting what is not there is done
      if (code === 'EISDIR' || code === 'EPERM') return; // a folder of other keys, not an object
      throw blobStoreError('delete', tenantId, key, err);
    }
    // Drop folders the key left empty, up to (not including) the tenant directory.
    for (let dir = dirname(path); dir.startsWith(base + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  async list(tenantId: string, prefix?: string): Promise<string[]> {
    const wanted = checkBlobPrefix(prefix);
    const base = this.tenantDir(tenantId);
    const keys: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw blobStoreError('list', tenantId, undefined, err);
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        const key = relative(base, path).split(sep).join('/');
        if (entry.isDirectory()) {
          // Only descend where keys with the prefix can be.
          if (wanted === '' || `${key}/`.startsWith(wanted) || wanted.startsWith(`${key}/`)) await walk(path);
        } else if (entry.isFile() && key.startsWith(wanted)) keys.push(key);
      }
    };
    await walk(base);
    return keys.sort();
  }

  /** Tenants that have a blob directory (for rotation and shred checks). */
  async tenants(): Promise<string[]> {
    try {
      const entries = await readdir(this.options.root, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && e.name !== TMP_DIR).map((e) => e.name).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}
