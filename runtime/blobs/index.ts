/**
 * Blob stores by target (DESIGN.md invariant 5): a directory per tenant locally, S3 with
 * SSE-KMS under the tenant key on AWS, GCS on GCP; each also takes a customer's own
 * bucket (BYOB). Every adapter encrypts client-side with the tenant's TenantCrypto.
 *
 * The cloud adapters are imported only when asked for, so the CLI and the local target
 * never load the S3 SDK.
 */
import type { BlobStore, TenantKeyring } from '../ports.js';
import { DirectoryBlobStore, directoryBlobRoot } from './directory.js';
import type { GcsBlobStore, GcsBlobStoreOptions } from './gcs.js';
import type { S3BlobStore, S3BlobStoreOptions } from './s3.js';

export { BLOB_PREFIX, checkBlobKey, readAll } from './common.js';
export { DirectoryBlobStore, directoryBlobRoot } from './directory.js';
export type { S3BlobStore, S3BlobStoreOptions, S3TenantLocation } from './s3.js';
export type { GcsBlobStore, GcsBlobStoreOptions, GcsTenantLocation } from './gcs.js';

export type BlobStoreConfig =
  | { kind: 'directory'; stateDir: string; keyring: TenantKeyring }
  | ({ kind: 's3' } & S3BlobStoreOptions)
  | ({ kind: 'gcs' } & GcsBlobStoreOptions);

export type AnyBlobStore = DirectoryBlobStore | S3BlobStore | GcsBlobStore;

/** The local target's store: `<stateDir>/blobs/<tenant>/`. */
export function openDirectoryBlobStore(stateDir: string, keyring: TenantKeyring): DirectoryBlobStore {
  return new DirectoryBlobStore({ root: directoryBlobRoot(stateDir), keyring });
}

/** The store a configuration names. */
export async function openBlobStore(config: BlobStoreConfig): Promise<AnyBlobStore> {
  switch (config.kind) {
    case 'directory':
      return openDirectoryBlobStore(config.stateDir, config.keyring);
    case 's3': {
      const { S3BlobStore } = await import('./s3.js');
      return new S3BlobStore(config);
    }
    case 'gcs': {
      const { GcsBlobStore } = await import('./gcs.js');
      return new GcsBlobStore(config);
    }
  }
}

/**
 * Rewrite every blob of a tenant under its current data key (after `keyring.rotate`), one
 * at a time and streaming: each object is read and written back under the same key, and
 * the store's put replaces it atomically. Returns the keys rewritten.
 */
export async function reencryptBlobs(store: BlobStore, tenantId: string, onBlob?: (key: string) => void): Promise<string[]> {
  const keys = await store.list(tenantId);
  for (const key of keys) {
    await store.put(tenantId, key, await store.get(tenantId, key));
    onBlob?.(key);
  }
  return keys;
}
