/**
 * What every BlobStore adapter shares: key and tenant validation, the blob errors, and
 * the envelope plumbing. Bodies are always encrypted client-side with the tenant's
 * `TenantCrypto.encryptStream` (purpose 'blob') before they reach a disk or a bucket,
 * and decrypted with `decryptStream` on the way out; nothing here holds a whole object.
 */
import { assertTenantId } from '../../core/config/schema.js';
import { ClawError, isClawError } from '../../core/errors.js';
import type { TenantCrypto, TenantKeyring } from '../ports.js';

/** Longest accepted key (S3 allows 1024 bytes for the whole object key, prefix included). */
export const MAX_KEY_BYTES = 900;

/** Object prefix inside a tenant's bucket or BYOB prefix (matches components/aws PREFIXES.blobs). */
export const BLOB_PREFIX = 'blobs/';

/** A bucket prefix as '' or 'some/path/' (leading '/' dropped, trailing '/' added). */
export function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return '';
  const trimmed = prefix.replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

export function keyInvalid(key: string, reason: string): ClawError {
  // The key is echoed (it is a name, not content) but cut short so a hostile one stays one line.
  const shown = JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
  return new ClawError('BLOB_KEY_INVALID', `blob key ${shown} is not allowed: ${reason}`, {
    hint: "use a relative path of '/'-separated names, e.g. 'uploads/2026/report.pdf' (no '..', '.', empty segments, leading '/', '\\' or control characters)",
    details: { reason },
  });
}

export function blobNotFound(tenantId: string, key: string): ClawError {
  return new ClawError('BLOB_NOT_FOUND', `tenant '${tenantId}' has no blob '${key}'`, {
    hint: 'check the key (list the tenant\'s blobs); it may have been deleted',
    details: { tenantId, key },
  });
}

export function blobStoreError(operation: string, tenantId: string, key: string | undefined, cause: unknown): ClawError {
  if (isClawError(cause)) return cause;
  const reason = cause instanceof Error ? (cause.name && cause.name !== 'Error' ? `${cause.name}: ` : '') + cause.message.split('\n')[0] : String(cause);
  return new ClawError('BLOB_STORE_FAILED', `blob ${operation} failed for tenant '${tenantId}'${key ? ` key '${key}'` : ''}: ${reason}`, {
    hint: 'check that the blob store (directory, bucket, endpoint, credentials) is reachable and writable; the operation is safe to retry',
    details: { operation, tenantId, ...(key ? { key } : {}) },
    cause,
  });
}

/** Throws BLOB_KEY_INVALID unless `key` is a safe relative object name. */
export function checkBlobKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw keyInvalid(String(key), 'it is empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw keyInvalid(key, `it is longer than ${MAX_KEY_BYTES} bytes`);
  if (key.startsWith('/')) throw keyInvalid(key, 'it is an absolute path');
  if (/^[A-Za-z]:/.test(key)) throw keyInvalid(key, 'it is an absolute (drive) path');
  if (key.includes('\\')) throw keyInvalid(key, "it contains '\\'");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw keyInvalid(key, 'it contains a control character');
  for (const segment of key.split('/')) {
    if (segment === '') throw keyInvalid(key, 'it has an empty segment (\'//\' or a trailing \'/\')');
    if (segment === '..') throw keyInvalid(key, "it contains '..'");
    if (segment === '.') throw keyInvalid(key, "it contains '.' as a segment");
  }
}

/** A list prefix may be empty or end with '/', but is otherwise held to the key rules. */
export function checkBlobPrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  checkBlobKey(prefix.endsWith('/') ? `${prefix}x` : prefix);
  return prefix;
}


export type BlobBody = AsyncIterable<Uint8Array> | Uint8Array;

/** The body as chunks, counting plaintext bytes as they pass. */
export function counted(body: BlobBody): { chunks: AsyncIterable<Uint8Array>; size: () => number } {
  let size = 0;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    if (body instanceof Uint8Array) {
      size += body.byteLength;
      yield body;
      return;
    }
    for await (const chunk of body) {
      size += chunk.byteLength;
      yield chunk;
    }
  }
  return { chunks: chunks(), size: () => size };
}

/** The framed envelope of `body` under the tenant's blob purpose. */
export function sealBody(crypto: TenantCrypto, body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return crypto.encryptStream(body, 'blob');
}

/**
 * Decrypt a stored object. The first frame is decrypted before this resolves, so a
 * destroyed key, another tenant's ciphertext, a wrong purpose or a damaged header fail
 * here, as one ClawError, before the caller sees a byte. Damage further in (a corrupt or
 * missing later frame, truncation) fails the iteration with CIPHERTEXT_CORRUPT /
 * CIPHERTEXT_TRUNCATED; only authenticated frames are ever yielded.
 */
export async function openBody(
  crypto: TenantCrypto,
  stored: AsyncIterable<Uint8Array>,
  context: { tenantId: string; key: string; release?: () => void | Promise<void> },
): Promise<AsyncIterable<Uint8Array>> {
  const plaintext = crypto.decryptStream(stored, 'blob')[Symbol.asyncIterator]();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await context.release?.();
  };
  const fail = async (err: unknown): Promise<never> => {
    await release();
    throw blobStoreError('read', context.tenantId, context.key, err);
  };
  let first: IteratorResult<Uint8Array>;
  try {
    first = await plaintext.next();
  } catch (err) {
    return fail(err);
  }
  let started = false;
  return {
    [Symbol.asyncIterator]() {
      if (started) throw new ClawError('BLOB_STREAM_CONSUMED', `the body of blob '${context.key}' can be read once; get it again`);
      started = true;
      let pendingFirst: IteratorResult<Uint8Array> | undefined = first;
      return {
        async next(): Promise<IteratorResult<Uint8Array>> {
          if (pendingFirst) {
            const out = pendingFirst;
            pendingFirst = undefined;
            if (out.done) await release();
            return out;
          }
          try {
            const out = await plaintext.next();
            if (out.done) await release();
            return out;
          } catch (err) {
            return fail(err);
          }
        },
        async return(): Promise<IteratorResult<Uint8Array>> {
          pendingFirst = undefined;
          await plaintext.return?.(undefined);
          await release();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/** The tenant's crypto; TENANT_KEY_DESTROYED / _MISSING come from the keyring unchanged. */
export async function tenantCrypto(keyring: TenantKeyring, tenantId: string): Promise<TenantCrypto> {
  assertTenantId(tenantId);
  return keyring.forTenant(tenantId);
}

/** Read a whole blob into memory: for tests and small objects only. */
export async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  return Buffer.concat(chunks);
}
