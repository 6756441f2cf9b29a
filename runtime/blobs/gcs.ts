/**
 * The GCP BlobStore: Cloud Storage through its JSON API over global fetch (no client
 * library). Bodies are framed envelopes under the tenant's key (purpose 'blob') before
 * they leave the process; the bucket's CMEK default key (components/gcp) adds the
 * server-side layer, and `kmsKeyName` can name the tenant's key per object as well.
 *
 * - put: a resumable upload session (`POST /upload/storage/v1/b/{bucket}/o?uploadType=resumable`),
 *   then chunked `PUT`s with `Content-Range: bytes a-b/*` (each a multiple of 256 KiB,
 *   answered 308 with the persisted `Range`) and a last one with the total size. Memory
 *   is one chunk. The object exists only once the last chunk lands; a failed upload
 *   cancels its session (`DELETE` on the session URI), so there is never a half object.
 * - get: `GET /storage/v1/b/{bucket}/o/{object}?alt=media`, streamed.
 * - list: `GET /storage/v1/b/{bucket}/o?prefix=...` with `pageToken` paging.
 * - delete: `DELETE /storage/v1/b/{bucket}/o/{object}` (a missing object is not an error).
 *
 * Objects are `<prefix>blobs/<key>` in the tenant's bucket (managed: prefix ''; BYOB:
 * the customer's bucket and optional prefix).
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ClawError } from '../../core/errors.js';
import type { BlobStore, TenantKeyring } from '../ports.js';
import { assertTenantId } from '../../core/config/schema.js';
import { BLOB_PREFIX, blobNotFound, blobStoreError, checkBlobKey, checkBlobPrefix, counted, normalizePrefix, openBody, sealBody, tenantCrypto, type BlobBody } from './common.js';

export const GCS_BASE_URL = 'https://storage.googleapis.com';
/** Resumable chunks must be multiples of 256 KiB (except the last). */
export const GCS_CHUNK_QUANTUM = 256 * 1024;

export interface GcsTenantLocation {
  bucket: string;
  /** '' for a managed bucket per tenant, or the BYOB prefix. */
  prefix?: string;
  /** The tenant's Cloud KMS key (projects/.../cryptoKeys/k) to name per object; the bucket default applies otherwise. */
  kmsKeyName?: string;
}

export interface GcsBlobStoreOptions {
  keyring: TenantKeyring;
  location: (tenantId: string) => GcsTenantLocation;
  /** An OAuth2 access token for the caller (the worker's identity); asked for per request, so the provider may cache and refresh. */
  token: () => Promise<string> | string;
  /** Default https://storage.googleapis.com; tests point it at a loopback stand-in. */
  baseUrl?: string;
  /** Resumable upload chunk size, a multiple of 256 KiB; default 8 MiB. */
  chunkBytes?: number;
  /** Per-request timeout; default 60 s. */
  timeoutMs?: number;
}

class GcsHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = `GCS HTTP ${status}`;
  }
}

async function httpError(response: Response, what: string): Promise<GcsHttpError> {
  let reason = response.statusText;
  try {
    const body = (await response.json()) as { error?: { message?: string } };
    if (body?.error?.message) reason = body.error.message;
  } catch {
    /* not JSON */
  }
  return new GcsHttpError(response.status, `${what}: ${reason}`);
}

export class GcsBlobStore implements BlobStore {
  readonly kind = 'gcs' as const;
  private readonly baseUrl: string;
  private readonly chunkBytes: number;

  constructor(private readonly options: GcsBlobStoreOptions) {
    this.baseUrl = (options.baseUrl ?? GCS_BASE_URL).replace(/\/+$/, '');
    this.chunkBytes = options.chunkBytes ?? 32 * GCS_CHUNK_QUANTUM;
    if (this.chunkBytes <= 0 || this.chunkBytes % GCS_CHUNK_QUANTUM !== 0) {
      throw new ClawError('BLOB_STORE_MISCONFIGURED', `GCS chunk size ${this.chunkBytes} is not a positive multiple of 256 KiB`, { hint: 'use e.g. 8388608 (8 MiB)' });
    }
  }

  locate(tenantId: string, key?: string): { bucket: string; base: string; objectName: string; kmsKeyName?: string } {
    assertTenantId(tenantId);
    if (key !== undefined) checkBlobKey(key);
    const location = this.options.location(tenantId);
    if (!location?.bucket) {
      throw new ClawError('BLOB_STORE_MISCONFIGURED', `the GCS blob store has no bucket for tenant '${tenantId}'`, {
        hint: "check the tenant's bucket (managed or byob) in claw.yaml and the stack outputs",
        details: { tenantId },
      });
    }
    const base = `${normalizePrefix(location.prefix)}${BLOB_PREFIX}`;
    return { bucket: location.bucket, base, objectName: `${base}${key ?? ''}`, ...(location.kmsKeyName ? { kmsKeyName: location.kmsKeyName } : {}) };
  }

  private async request(url: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const token = await this.options.token();
    return fetch(url, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
      redirect: 'manual',
      signal: init.signal ?? AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
    });
  }

  private objectUrl(bucket: string, objectName: string): string {
    return `${this.baseUrl}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(objectName)}`;
  }

  async put(tenantId: string, key: string, body: BlobBody): Promise<{ size: number }> {
    const { bucket, objectName, kmsKeyName } = this.locate(tenantId, key);
    const crypto = await tenantCrypto(this.options.keyring, tenantId);
    const { chunks, size } = counted(body);
    let session: string | undefined;
    try {
      const query = new URLSearchParams({ uploadType: 'resumable', name: objectName, ...(kmsKeyName ? { kmsKeyName } : {}) });
      const start = await this.request(`${this.baseUrl}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-type': 'application/octet-stream' },
        body: JSON.stringify({ name: objectName, contentType: 'application/octet-stream' }),
      });
      if (!start.ok) throw await httpError(start, 'starting the resumable upload');
      await start.body?.cancel();
      session = start.headers.get('location') ?? undefined;
      if (!session) throw new GcsHttpError(start.status, 'the resumable upload answer has no session URI (Location)');

      // Hold back one chunk: a chunk is sent as non-final only once a byte after it exists.
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let offset = 0;
      let stalls = 0;
      for await (const frame of sealBody(crypto, chunks)) {
        pending.push(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
        pendingBytes += frame.byteLength;
        while (pendingBytes > this.chunkBytes) {
          const all = Buffer.concat(pending, pendingBytes);
          const { persisted } = await this.sendChunk(session, all.subarray(0, this.chunkBytes), offset, undefined);
          stalls = persisted === 0 ? stalls + 1 : 0;
          if (stalls > 8) throw new GcsHttpError(308, `the server kept persisting nothing at offset ${offset}`);
          offset += persisted;
          const rest = all.subarray(persisted);
          pending = [rest];
          pendingBytes = rest.length;
        }
      }
      // The last chunk carries the total; resend whatever the server did not persist.
      let last = Buffer.concat(pending, pendingBytes);
      const total = offset + last.length;
      for (let attempt = 0; ; attempt++) {
        const { persisted, done } = await this.sendChunk(session, last, offset, total);
        if (done) break;
        if (attempt > 8) throw new GcsHttpError(308, 'the server kept not finishing the upload after its last chunk');
        offset += persisted;
        last = last.subarray(persisted);
      }
    } catch (err) {
      if (session) await this.request(session, { method: 'DELETE' }).then((r) => r.body?.cancel(), () => {});
      throw blobStoreError('write', tenantId, key, err);
    }
    return { size: size() };
  }

  /** PUT one chunk; how many of its bytes the server persisted, and whether the object is complete. */
  private async sendChunk(session: string, chunk: Buffer, offset: number, total: number | undefined): Promise<{ persisted: number; done: boolean }> {
    const range = chunk.length === 0 ? `bytes */${total}` : `bytes ${offset}-${offset + chunk.length - 1}/${total ?? '*'}`;
    const response = await this.request(session, { method: 'PUT', headers: { 'content-range': range, 'content-type': 'application/octet-stream' }, body: chunk });
    if (response.status === 308) {
      await response.body?.cancel();
      // `Range: bytes=0-N` is everything persisted so far; absent means nothing yet.
      const match = /bytes=0-(\d+)/.exec(response.headers.get('range') ?? '');
      const persistedEnd = match ? Number(match[1]) + 1 : 0;
      const persisted = persistedEnd - offset;
      if (persisted < 0 || persisted > chunk.length) throw new GcsHttpError(308, `the server reports ${persistedEnd} bytes persisted, outside the chunk at ${offset}`);
      return { persisted, done: false };
    }
    if (response.ok) {
      await response.body?.cancel();
      if (total === undefined) throw new GcsHttpError(response.status, 'the upload finished before its last chunk');
      return { persisted: chunk.length, done: true };
    }
    throw await httpError(response, `uploading bytes ${offset}+${chunk.length}`);
  }

  async get(tenantId: string, key: string): Promise<AsyncIterable<Uint8Array>> {
    const { bucket, objectName } = this.locate(tenantId, key);
    const crypto = await tenantCrypto(this.options.keyring, tenantId);
    let stream: Readable;
    try {
      // No request timeout on the body: a large object may take longer than one request's budget.
      const response = await this.request(`${this.objectUrl(bucket, objectName)}?alt=media`, { signal: new AbortController().signal });
      if (response.status === 404) {
        await response.body?.cancel();
        throw blobNotFound(tenantId, key);
      }
      if (!response.ok || !response.body) throw await httpError(response, 'downloading');
      stream = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    } catch (err) {
      throw blobStoreError('read', tenantId, key, err);
    }
    return openBody(crypto, stream, { tenantId, key, release: () => void stream.destroy() });
  }

  async delete(tenantId: string, key: string): Promise<void> {
    const { bucket, objectName } = this.locate(tenantId, key);
    try {
      const response = await this.request(this.objectUrl(bucket, objectName), { method: 'DELETE' });
      await response.body?.cancel();
      if (response.status === 404 || response.ok) return;
      throw await httpError(response, 'deleting');
    } catch (err) {
      throw blobStoreError('delete', tenantId, key, err);
    }
  }

  async list(tenantId: string, prefix?: string): Promise<string[]> {
    const wanted = checkBlobPrefix(prefix);
    const { bucket, base } = this.locate(tenantId);
    const keys: string[] = [];
    let pageToken: string | undefined;
    try {
      do {
        const query = new URLSearchParams({ prefix: `${base}${wanted}`, fields: 'items(name),nextPageToken', ...(pageToken ? { pageToken } : {}) });
        const response = await this.request(`${this.baseUrl}/storage/v1/b/${encodeURIComponent(bucket)}/o?${query}`);
        if (!response.ok) throw await httpError(response, 'listing');
        const page = (await response.json()) as { items?: { name: string }[]; nextPageToken?: string };
        for (const item of page.items ?? []) if (item.name.startsWith(base)) keys.push(item.name.slice(base.length));
        pageToken = page.nextPageToken;
      } while (pageToken);
    } catch (err) {
      throw blobStoreError('list', tenantId, undefined, err);
    }
    return keys.sort();
  }
}
