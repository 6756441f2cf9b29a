/**
 * The AWS BlobStore: S3, two layers of encryption. Client side, every body is a framed
 * envelope under the tenant's key (purpose 'blob'), so S3 only ever stores ciphertext;
 * server side, every PutObject/multipart upload asks for SSE-KMS under the tenant's own
 * KMS key with an S3 bucket key (the tenant bucket policy refuses anything else).
 *
 * Where a tenant's objects live is the caller's choice (`S3TenantLocation`): a managed
 * bucket per tenant (prefix ''), a prefix per tenant in a shared bucket, or the
 * customer's own bucket (BYOB: bucket + optional prefix). Objects are `<prefix>blobs/<key>`.
 *
 * Uploads stream through `@aws-sdk/lib-storage` (multipart: memory is about
 * queueSize x partSize); the object appears only when the upload completes, and a failed
 * upload is aborted, so there is never a half object under the key.
 */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { ClawError } from '../../core/errors.js';
import type { BlobStore, TenantKeyring } from '../ports.js';
import { assertTenantId } from '../../core/config/schema.js';
import { BLOB_PREFIX, blobNotFound, blobStoreError, checkBlobKey, checkBlobPrefix, counted, normalizePrefix, openBody, sealBody, tenantCrypto, type BlobBody } from './common.js';


export interface S3TenantLocation {
  bucket: string;
  /** '' (managed bucket per tenant), `tenants/<id>/` (shared bucket) or the BYOB prefix; '/'-terminated when not empty. */
  prefix?: string;
  /** The tenant's KMS key (ARN, id or alias ARN) for SSE-KMS. Required: objects are never written without it. */
  kmsKeyId: string;
}

export interface S3BlobStoreOptions {
  keyring: TenantKeyring;
  /** Where a tenant's blobs live; see `s3Locations` for the usual layouts. */
  location: (tenantId: string) => S3TenantLocation;
  region?: string;
  /** A non-AWS endpoint (moto, MinIO, a VPC endpoint URL); implies path-style addressing unless told otherwise. */
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: S3ClientConfig['credentials'];
  /** Use this client instead of building one. */
  s3?: S3Client;
  /** Multipart part size (default 8 MiB, S3's minimum is 5 MiB) and parts in flight (default 2). */
  partSize?: number;
  queueSize?: number;
}

/**
 * The usual layouts: BYOB entries first (the customer's bucket and prefix), then a shared
 * bucket with a prefix per tenant, else a managed bucket per tenant named by `bucketName`.
 */
export function s3Locations(options: {
  kmsKeyId: (tenantId: string) => string;
  byob?: Record<string, { bucket: string; prefix?: string }>;
  sharedBucket?: string;
  bucketName?: (tenantId: string) => string;
}): (tenantId: string) => S3TenantLocation {
  return (tenantId) => {
    const own = options.byob?.[tenantId];
    if (own) return { bucket: own.bucket, prefix: normalizePrefix(own.prefix), kmsKeyId: options.kmsKeyId(tenantId) };
    if (options.sharedBucket) return { bucket: options.sharedBucket, prefix: `tenants/${tenantId}/`, kmsKeyId: options.kmsKeyId(tenantId) };
    if (options.bucketName) return { bucket: options.bucketName(tenantId), prefix: '', kmsKeyId: options.kmsKeyId(tenantId) };
    throw misconfigured(tenantId, 'no bucket: give a BYOB entry, a shared bucket or a bucket name per tenant');
  };
}

function misconfigured(tenantId: string, reason: string): ClawError {
  return new ClawError('BLOB_STORE_MISCONFIGURED', `the S3 blob store has no usable location for tenant '${tenantId}': ${reason}`, {
    hint: "check the tenant's bucket (managed or byob) and key in claw.yaml, and the stack outputs ('claw outputs')",
    details: { tenantId },
  });
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.Code === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly s3: S3Client;

  constructor(private readonly options: S3BlobStoreOptions) {
    this.s3 =
      options.s3 ??
      new S3Client({
        ...(options.region ? { region: options.region } : {}),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        forcePathStyle: options.forcePathStyle ?? Boolean(options.endpoint),
      });
  }

  /** Bucket, object key and KMS key of a blob. */
  locate(tenantId: string, key?: string): { bucket: string; objectKey: string; base: string; kmsKeyId: string } {
    assertTenantId(tenantId);
    if (key !== undefined) checkBlobKey(key);
    const location = this.options.location(tenantId);
    if (!location?.bucket) throw misconfigured(tenantId, 'no bucket');
    if (!location.kmsKeyId) throw misconfigured(tenantId, "no KMS key id (objects are only written with SSE-KMS under the tenant's key)");
    const base = `${normalizePrefix(location.prefix)}${BLOB_PREFIX}`;
    return { bucket: location.bucket, base, objectKey: `${base}${key ?? ''}`, kmsKeyId: location.kmsKeyId };
  }

  async put(tenantId: string, key: string, body: BlobBody): Promise<{ size: number }> {
    const { bucket, objectKey, kmsKeyId } = this.locate(tenantId, key);
    const crypto = await tenantCrypto(this.options.keyring, tenantId);
    const { chunks, size } = counted(body);
    const upload = new Upload({
      client: this.s3,
      params: {
        Bucket: bucket,
        Key: objectKey,
        Body: Readable.from(sealBody(crypto, chunks), { objectMode: false }),
        ContentType: 'application/octet-stream',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: kmsKeyId,
        BucketKeyEnabled: true,
      },
      partSize: this.options.partSize ?? 8 * 1024 * 1024,
      queueSize: this.options.queueSize ?? 2,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      throw blobStoreError('write', tenantId, key, err);
    }
    return { size: size() };
  }

  async get(tenantId: string, key: string): Promise<AsyncIterable<Uint8Array>> {
    const { bucket, objectKey } = this.locate(tenantId, key);
    const crypto = await tenantCrypto(this.options.keyring, tenantId);
    let body: Readable;
    try {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }));
      body = response.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw blobNotFound(tenantId, key);
      throw blobStoreError('read', tenantId, key, err);
    }
    return openBody(crypto, body, { tenantId, key, release: () => void body.destroy() });
  }

  async delete(tenantId: string, key: string): Promise<void> {
    const { bucket, objectKey } = this.locate(tenantId, key);
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw blobStoreError('delete', tenantId, key, err);
    }
  }

  async list(tenantId: string, prefix?: string): Promise<string[]> {
    const wanted = checkBlobPrefix(prefix);
    const { bucket, base } = this.locate(tenantId);
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${base}${wanted}`, ContinuationToken: token }));
        for (const object of page.Contents ?? []) if (object.Key?.startsWith(base)) keys.push(object.Key.slice(base.length));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw blobStoreError('list', tenantId, undefined, err);
    }
    return keys.sort();
  }
}
