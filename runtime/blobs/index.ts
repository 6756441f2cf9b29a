/**
 * Blob stores by target (DESIGN.md invariant 5): a directory per tenant locally, S3 with
 * SSE-KMS under the tenant key on AWS, GCS on GCP; each also takes a customer's own
 * bucket (BYOB). Every adapter encrypts client-side with the tenant's TenantCrypto.
 */
import type { BlobStore, TenantKeyring } from '../ports.js';
import { DirectoryBlobStore, directoryBlobRoot } from './directory.js';
import { GcsBlobStore, type GcsBlobStoreOptions } from './gcs.js';
import { S3BlobStore, type S3BlobStoreOptions } from './s3.js';

export { BLOB_PREFIX, checkBlobKey, readAll } from './common.js';
export { DirectoryBlobStore, directoryBlobRoot } from './directory.js';
export { S3BlobStore, s3Locations, type S3BlobStoreOptions, type S3TenantLocation } from './s3.js';
export { GcsBlobStore, GCS_BASE_URL, type GcsBlobStoreOptions, type GcsTenantLocation } from './gcs.js';

export type BlobStoreConfig =
  | { kind: 'directory'; stateDir: string; keyring: TenantKeyring }
  | ({ kind: 's3' } & S3BlobStoreOptions)
  | ({ kind: 'gcs' } & GcsBlobStoreOptions);

export type AnyBlobStore = DirectoryBlobStore | S3BlobStore | GcsBlobStore;

export function openBlobStore(config: { kind: 'directory'; stateDir: string; keyring: TenantKeyring }): DirectoryBlobStore;
export function openBlobStore(config: BlobStoreConfig): AnyBlobStore;
export function openBlobStore(config: BlobStoreConfig): AnyBlobStore {
  switch (config.kind) {
    case 'directory':
      return new DirectoryBlobStore({ root: directoryBlobRoot(config.stateDir), keyring: config.keyring });
    case 's3':
      return new S3BlobStore(config);
    case 'gcs':
      return new GcsBlobStore(config);
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
