/**
 * The gcp target's root keys: one Cloud KMS CryptoKey per tenant, managed by us
 * (`<keyRing>/cryptoKeys/tenant-<tenant>`, the name the gcp stack gives it) or the
 * customer's own (BYOK: a CryptoKey name).
 *
 * There is no Cloud KMS keyring for the ESDK, so this is one of ours: `CloudKmsKeyringNode`
 * generates the data key locally and wraps / unwraps it with Cloud KMS `:encrypt` /
 * `:decrypt` over REST, the encryption context going in as additional authenticated
 * data, so a wrapped key only opens for the tenant and purpose it was made for. CRC32C
 * checksums guard both directions, as Google recommends for these calls.
 *
 * Rotation creates a new CryptoKeyVersion and makes it primary (old versions still
 * decrypt). Shredding destroys every version that still holds key material; a destroyed
 * (or destroy-scheduled) version answers FAILED_PRECONDITION, reported as
 * TENANT_KEY_DESTROYED.
 *
 * No Google client library: global fetch, a bearer token from an injected provider, and
 * an injectable base URL (tests run against a loopback stand-in).
 */
import { randomBytes } from 'node:crypto';
import {
  EncryptedDataKey,
  KeyringNode,
  KeyringTraceFlag,
  unwrapDataKey,
  type NodeDecryptionMaterial,
  type NodeEncryptionMaterial,
} from '@aws-crypto/material-management-node';
import { ClawError, isClawError } from '../../core/errors.js';
import { cachedAccessToken } from '../google-token.js';
import type { RootKeyBackend, WrappedKeyRef } from './envelope.js';
import { corrupt, keyDestroyed, keyDisabled, keyMissing, kmsAccessDenied, kmsThrottled, kmsUnavailable, tenantMismatch } from './errors.js';
import { tenantKeyName, tenantLabels } from '../../contracts/gcp.js';
import { DEFAULT_KMS_RETRY, KeyStateWatch, withKmsRetry, type FailureKind, type RetryPolicy } from './kms-common.js';
import { EnvelopeKeyring, DEFAULT_CACHE, type CacheLimits } from './envelope.js';

const SERVICE = 'Cloud KMS';
export const GCP_KMS_PROVIDER_ID = 'gcp-kms';
export const CLOUD_KMS_BASE_URL = 'https://cloudkms.googleapis.com';
const TENANT_ID = /^[A-Za-z0-9_-]{1,56}$/; // CryptoKey ids are at most 63 characters, 'tenant-' included

// ------------------------------------------------------------------ CRC32C (Castagnoli)

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C of `bytes`, as Cloud KMS's `*Crc32c` fields carry it (a decimal int64 string). */
export function crc32c(bytes: Uint8Array): string {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC32C_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return String((crc ^ 0xffffffff) >>> 0);
}

// ------------------------------------------------------------------ REST client

/** A Cloud KMS error answer: HTTP status and the google.rpc status name. */
export class CloudKmsError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly rpcStatus: string,
    message: string,
  ) {
    super(`${SERVICE} ${httpStatus} ${rpcStatus}: ${message}`);
    this.name = 'CloudKmsError';
  }
}

function classifyGcp(err: unknown): FailureKind {
  if (err instanceof CloudKmsError) {
    if (err.httpStatus === 429 || err.rpcStatus === 'RESOURCE_EXHAUSTED') return 'throttled';
    if (err.httpStatus >= 500) return 'transient';
    return undefined;
  }
  // fetch itself failed (connection refused, reset, DNS): transient.
  return err instanceof TypeError ? 'transient' : undefined;
}

export interface CryptoKeyVersion {
  name: string;
  state: string;
}

export interface CloudKmsApiOptions {
  /** Default https://cloudkms.googleapis.com. */
  baseUrl?: string;
  /** An OAuth2 access token with the cloudkms (or cloud-platform) scope. */
  token: () => Promise<string>;
  retry?: Partial<RetryPolicy>;
}

/** The few Cloud KMS REST methods the backend uses, each with the bounded retry. */
export class CloudKmsApi {
  private readonly baseUrl: string;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: CloudKmsApiOptions) {
    this.baseUrl = (options.baseUrl ?? CLOUD_KMS_BASE_URL).replace(/\/+$/, '');
    this.retry = { ...DEFAULT_KMS_RETRY, ...options.retry };
  }

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return withKmsRetry(SERVICE, this.retry, classifyGcp, async () => {
      const response = await fetch(`${this.baseUrl}/v1/${path}`, {
        method,
        headers: { authorization: `Bearer ${await this.options.token()}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) {
        let status = '';
        let message = response.statusText;
        try {
          const parsed = JSON.parse(text) as { error?: { status?: string; message?: string } };
          status = parsed.error?.status ?? '';
          message = parsed.error?.message ?? message;
        } catch {
          /* not JSON: keep the status line */
        }
        throw new CloudKmsError(response.status, status, message);
      }
      return (text ? JSON.parse(text) : {}) as T;
    });
  }

  async encrypt(keyName: string, plaintext: Uint8Array, aad: Uint8Array): Promise<{ version: string; ciphertext: Buffer }> {
    const result = await this.request<{ name?: string; ciphertext?: string; ciphertextCrc32c?: string; verifiedPlaintextCrc32c?: boolean; verifiedAdditionalAuthenticatedDataCrc32c?: boolean }>(
      'POST',
      `${keyName}:encrypt`,
      {
        plaintext: Buffer.from(plaintext).toString('base64'),
        additionalAuthenticatedData: Buffer.from(aad).toString('base64'),
        plaintextCrc32c: crc32c(plaintext),
        additionalAuthenticatedDataCrc32c: crc32c(aad),
      },
    );
    if (!result.ciphertext || !result.name) throw kmsUnavailable(SERVICE, 'encrypt returned no ciphertext');
    const ciphertext = Buffer.from(result.ciphertext, 'base64');
    if (!result.verifiedPlaintextCrc32c || !result.verifiedAdditionalAuthenticatedDataCrc32c || result.ciphertextCrc32c !== crc32c(ciphertext)) {
      throw kmsUnavailable(SERVICE, 'encrypt failed its integrity check (CRC32C); the request is safe to retry');
    }
    // "Check this field to verify that the intended resource was used for encryption."
    if (!result.name.startsWith(`${keyName}/cryptoKeyVersions/`)) throw kmsUnavailable(SERVICE, `encrypt used ${result.name}, not a version of ${keyName}`);
    return { version: result.name, ciphertext };
  }

  async decrypt(keyName: string, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const result = await this.request<{ plaintext?: string; plaintextCrc32c?: string }>('POST', `${keyName}:decrypt`, {
      ciphertext: Buffer.from(ciphertext).toString('base64'),
      additionalAuthenticatedData: Buffer.from(aad).toString('base64'),
      ciphertextCrc32c: crc32c(ciphertext),
      additionalAuthenticatedDataCrc32c: crc32c(aad),
    });
    const plaintext = new Uint8Array(Buffer.from(result.plaintext ?? '', 'base64'));
    if (result.plaintextCrc32c !== crc32c(plaintext)) {
      plaintext.fill(0);
      throw kmsUnavailable(SERVICE, 'decrypt failed its integrity check (CRC32C); the request is safe to retry');
    }
    return plaintext;
  }

  async getCryptoKey(keyName: string): Promise<{ name: string; primary?: CryptoKeyVersion }> {
    return this.request('GET', keyName);
  }

  async createCryptoKey(keyRingName: string, cryptoKeyId: string, labels: Record<string, string>): Promise<void> {
    await this.request('POST', `${keyRingName}/cryptoKeys?cryptoKeyId=${encodeURIComponent(cryptoKeyId)}`, {
      purpose: 'ENCRYPT_DECRYPT',
      versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' },
      labels,
    });
  }

  async listVersions(keyName: string): Promise<CryptoKeyVersion[]> {
    const versions: CryptoKeyVersion[] = [];
    let pageToken = '';
    do {
      const page = await this.request<{ cryptoKeyVersions?: CryptoKeyVersion[]; nextPageToken?: string }>(
        'GET',
        `${keyName}/cryptoKeyVersions?pageSize=1000${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`,
      );
      versions.push(...(page.cryptoKeyVersions ?? []));
      pageToken = page.nextPageToken ?? '';
    } while (pageToken);
    return versions;
  }

  async createVersion(keyName: string): Promise<CryptoKeyVersion> {
    return this.request('POST', `${keyName}/cryptoKeyVersions`, {});
  }

  async updatePrimaryVersion(keyName: string, versionId: string): Promise<void> {
    await this.request('POST', `${keyName}:updatePrimaryVersion`, { cryptoKeyVersionId: versionId });
  }

  async destroyVersion(versionName: string): Promise<void> {
    await this.request('POST', `${versionName}:destroy`, {});
  }
}

// ------------------------------------------------------------------ access tokens

export const GCE_METADATA_URL = 'http://metadata.google.internal';

/**
 * Access tokens of the workload's service account from the GCE/GKE metadata server
 * (Workload Identity on GKE), cached until a minute before they expire. The default
 * token provider of the gcp-kms backend; the token itself never goes into an error.
 */
export function gceMetadataToken(options: { baseUrl?: string } = {}): () => Promise<string> {
  const url = `${(options.baseUrl ?? GCE_METADATA_URL).replace(/\/+$/, '')}/computeMetadata/v1/instance/service-accounts/default/token`;
  return cachedAccessToken(async () => {
    const response = await fetch(url, { headers: { 'Metadata-Flavor': 'Google' } });
    if (!response.ok) throw kmsUnavailable(SERVICE, `the metadata server gave no access token (HTTP ${response.status})`);
    const body = (await response.json()) as { access_token?: string; expires_in?: number };
    if (!body.access_token) throw kmsUnavailable(SERVICE, 'the metadata server answered without an access token');
    // Renewed a minute before it expires.
    return { token: body.access_token, expiresAt: Date.now() + Math.max(0, (body.expires_in ?? 0) - 60) * 1000 };
  });
}

// ------------------------------------------------------------------ the ESDK keyring

/**
 * The encryption context as AAD: sorted pairs in JSON, unambiguous and stable. Part of
 * the stored format: every wrapped key of the gcp target was bound with it, so it never changes.
 */
export function contextAad(context: Readonly<Record<string, string>>): Uint8Array {
  return Buffer.from(JSON.stringify(Object.keys(context).sort().map((key) => [key, context[key]])), 'utf8');
}

/** The CryptoKey a version name belongs to (`.../cryptoKeys/k/cryptoKeyVersions/3` → `.../cryptoKeys/k`). */
function keyOfVersion(versionName: string): string {
  return versionName.replace(/\/cryptoKeyVersions\/[^/]+$/, '');
}

/**
 * An ESDK keyring over one Cloud KMS CryptoKey. Wrapped keys name the CryptoKeyVersion
 * that wrapped them (provider id `gcp-kms`); only this key's are ever sent to Cloud KMS.
 * Failures are passed on as they are (the backend's API turns them into ClawErrors).
 */
export class CloudKmsKeyringNode extends KeyringNode {
  constructor(
    readonly keyName: string,
    private readonly call: { wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<{ version: string; ciphertext: Buffer }>; unwrap(ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> },
  ) {
    super();
  }

  async _onEncrypt(material: NodeEncryptionMaterial): Promise<NodeEncryptionMaterial> {
    if (!material.hasUnencryptedDataKey) {
      material.setUnencryptedDataKey(new Uint8Array(randomBytes(material.suite.keyLengthBytes)), {
        keyNamespace: GCP_KMS_PROVIDER_ID,
        keyName: this.keyName,
        flags: KeyringTraceFlag.WRAPPING_KEY_GENERATED_DATA_KEY,
      });
    }
    const { version, ciphertext } = await this.call.wrap(unwrapDataKey(material.getUnencryptedDataKey()), contextAad(material.encryptionContext));
    material.addEncryptedDataKey(
      new EncryptedDataKey({ providerId: GCP_KMS_PROVIDER_ID, providerInfo: version, encryptedDataKey: new Uint8Array(ciphertext) }),
      KeyringTraceFlag.WRAPPING_KEY_ENCRYPTED_DATA_KEY | KeyringTraceFlag.WRAPPING_KEY_SIGNED_ENC_CTX,
    );
    return material;
  }

  async _onDecrypt(material: NodeDecryptionMaterial, encryptedDataKeys: EncryptedDataKey[]): Promise<NodeDecryptionMaterial> {
    const ours = encryptedDataKeys.filter((edk) => edk.providerId === GCP_KMS_PROVIDER_ID && keyOfVersion(edk.providerInfo) === this.keyName);
    let failure: unknown;
    for (const edk of ours) {
      try {
        const dataKey = await this.call.unwrap(edk.encryptedDataKey, contextAad(material.encryptionContext));
        material.setUnencryptedDataKey(dataKey, {
          keyNamespace: GCP_KMS_PROVIDER_ID,
          keyName: edk.providerInfo,
          flags: KeyringTraceFlag.WRAPPING_KEY_DECRYPTED_DATA_KEY | KeyringTraceFlag.WRAPPING_KEY_VERIFIED_ENC_CTX,
        });
        return material;
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
    return material;
  }
}

// ------------------------------------------------------------------ the backend

export interface GcpKmsKeyringOptions {
  project: string;
  location: string;
  /** Key ring of the managed tenant keys (its id, not its full name). */
  keyRing: string;
  /** BYOK: tenant id → the customer's CryptoKey name (`projects/.../cryptoKeys/...`). */
  keys?: Record<string, string>;
  /**
   * Whether createTenantKey may create a missing managed key. Default true. False where the
   * stacks create the tenant keys (DESIGN invariant 6): it then only checks the key exists.
   */
  createKeys?: boolean;
  baseUrl?: string;
  /** Bearer tokens for Cloud KMS. Default: the workload's service account from the metadata server. */
  token?: () => Promise<string>;
  retry?: Partial<RetryPolicy>;
  /** How often a running process re-checks that a tenant's key still exists. Default 30 s. */
  stateCheckMs?: number;
}

const GONE = new Set(['DESTROYED', 'DESTROY_SCHEDULED']);
const CRYPTO_KEY_NAME = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;

export class GcpKmsBackend implements RootKeyBackend {
  readonly kind = 'gcp-kms' as const;
  readonly api: CloudKmsApi;
  private readonly keyRingName: string;
  private readonly createKeys: boolean;
  private readonly byok: Record<string, string>;
  private readonly keyrings = new Map<string, CloudKmsKeyringNode>();
  private readonly watch: KeyStateWatch;

  constructor(options: GcpKmsKeyringOptions) {
    this.api = new CloudKmsApi({ token: options.token ?? gceMetadataToken(), ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}), ...(options.retry ? { retry: options.retry } : {}) });
    this.keyRingName = `projects/${options.project}/locations/${options.location}/keyRings/${options.keyRing}`;
    this.createKeys = options.createKeys ?? true;
    this.byok = { ...options.keys };
    for (const [tenantId, name] of Object.entries(this.byok)) {
      if (!CRYPTO_KEY_NAME.test(name)) {
        throw new ClawError('CONFIG_INVALID', `tenant '${tenantId}': '${name}' is not a Cloud KMS CryptoKey name`, {
          hint: 'give the full name: projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>',
        });
      }
    }
    this.watch = new KeyStateWatch(options.stateCheckMs ?? 30_000, (tenantId) => this.probe(tenantId));
  }

  /** The CryptoKey name of a tenant: its BYOK key, or its managed key in our key ring. */
  keyName(tenantId: string): string {
    const byok = this.byok[tenantId];
    if (byok) return byok;
    if (!TENANT_ID.test(tenantId)) {
      throw new ClawError('TENANT_ID_INVALID', `tenant id '${tenantId}' cannot name a Cloud KMS key`, { hint: 'use letters, digits, - and _ (at most 58)' });
    }
    return `${this.keyRingName}/cryptoKeys/${tenantKeyName(tenantId)}`;
  }

  /** Run one Cloud KMS call for a tenant; failures come out as ClawErrors. */
  private async kms<T>(tenantId: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw this.explainGcp(tenantId, err);
    }
  }

  private explainGcp(tenantId: string, err: unknown): ClawError {
    if (isClawError(err)) return err;
    const ref = this.byok[tenantId] ?? `${this.keyRingName}/cryptoKeys/${tenantKeyName(tenantId)}`;
    if (!(err instanceof CloudKmsError)) return kmsUnavailable(SERVICE, `request failed for tenant '${tenantId}' (${ref})`, err);
    if (err.httpStatus === 404 || err.rpcStatus === 'NOT_FOUND') return keyMissing(tenantId, `no Cloud KMS key ${ref}`);
    if (err.httpStatus === 403 || err.httpStatus === 401 || err.rpcStatus === 'PERMISSION_DENIED' || err.rpcStatus === 'UNAUTHENTICATED') {
      return kmsAccessDenied(SERVICE, tenantId, ref, err);
    }
    if (err.rpcStatus === 'FAILED_PRECONDITION') {
      // Cloud KMS names the version's state in the message ("... DESTROY_SCHEDULED in field crypto_key_version.state").
      if (/DESTROY/.test(err.message)) return keyDestroyed(tenantId, err);
      if (/DISABLED/.test(err.message)) return keyDisabled(SERVICE, tenantId, ref, err);
    }
    if (err.rpcStatus === 'INVALID_ARGUMENT' && /decrypt/i.test(err.message)) return corrupt('the wrapped data key does not open under the tenant key and context', err);
    if (err.httpStatus === 429) return kmsThrottled(SERVICE, 1, err);
    return kmsUnavailable(SERVICE, `${err.httpStatus} ${err.rpcStatus || 'error'} for tenant '${tenantId}' (${ref})`, err);
  }

  /** Throw unless the tenant's key can encrypt: a primary version that is enabled. */
  private async probe(tenantId: string): Promise<void> {
    const name = this.keyName(tenantId);
    const key = await this.kms(tenantId, () => this.api.getCryptoKey(name));
    if (key.primary?.state === 'ENABLED') return;
    const versions = await this.kms(tenantId, () => this.api.listVersions(name));
    if (versions.length === 0) throw keyMissing(tenantId, `Cloud KMS key ${name} has no versions`);
    if (versions.every((v) => GONE.has(v.state))) throw keyDestroyed(tenantId);
    if (versions.some((v) => v.state === 'ENABLED')) throw kmsUnavailable(SERVICE, `Cloud KMS key ${name} has no enabled primary version`);
    throw keyDisabled(SERVICE, tenantId, name);
  }

  async keyring(tenantId: string): Promise<CloudKmsKeyringNode> {
    this.watch.check(tenantId);
    const known = this.keyrings.get(tenantId);
    if (known) return known;
    try {
      await this.probe(tenantId);
    } catch (err) {
      if (isClawError(err) && err.code === 'TENANT_KEY_DESTROYED') this.watch.record(tenantId, err);
      throw err;
    }
    const name = this.keyName(tenantId);
    const keyring = new CloudKmsKeyringNode(name, {
      wrap: (plaintext, aad) => this.kms(tenantId, () => this.api.encrypt(name, plaintext, aad)),
      unwrap: (ciphertext, aad) => this.kms(tenantId, () => this.api.decrypt(name, ciphertext, aad)),
    });
    this.keyrings.set(tenantId, keyring);
    this.watch.record(tenantId);
    return keyring;
  }

  revalidate(tenantId: string): void {
    this.watch.check(tenantId);
  }

  async createTenantKey(tenantId: string): Promise<void> {
    try {
      await this.probe(tenantId);
      return;
    } catch (err) {
      if (!isClawError(err) || err.code !== 'TENANT_KEY_MISSING' || this.byok[tenantId] || !this.createKeys) throw err;
    }
    try {
      await this.kms(tenantId, () => this.api.createCryptoKey(this.keyRingName, tenantKeyName(tenantId), tenantLabels(tenantId)));
    } catch (err) {
      // Another process created it first: fine, the key exists.
      if (!(isClawError(err) && err.cause instanceof CloudKmsError && err.cause.httpStatus === 409)) throw err;
    }
  }

  async rotate(tenantId: string): Promise<void> {
    const name = this.keyName(tenantId);
    await this.probe(tenantId);
    const version = await this.kms(tenantId, () => this.api.createVersion(name));
    await this.kms(tenantId, () => this.api.updatePrimaryVersion(name, version.name.split('/').pop()!));
  }

  async destroy(tenantId: string): Promise<void> {
    const name = this.keyName(tenantId);
    this.keyrings.delete(tenantId);
    const versions = await this.kms(tenantId, () => this.api.listVersions(name));
    if (versions.length === 0) throw keyMissing(tenantId, `Cloud KMS key ${name} has no versions`);
    // Disabled versions still hold key material (they can be enabled again): destroy them too.
    for (const version of versions.filter((v) => !GONE.has(v.state))) {
      await this.kms(tenantId, () => this.api.destroyVersion(version.name));
    }
    this.watch.record(tenantId, keyDestroyed(tenantId));
  }

  async explain(tenantId: string, err: unknown, phase: 'wrap' | 'unwrap', edks: WrappedKeyRef[] = []): Promise<ClawError> {
    if (err !== undefined) return this.explainGcp(tenantId, err);
    if (phase === 'wrap') return kmsUnavailable(SERVICE, `could not wrap a data key for tenant '${tenantId}'`);
    const own = this.keyName(tenantId);
    const named = edks.filter((k) => k.providerId === GCP_KMS_PROVIDER_ID).map((k) => keyOfVersion(k.providerInfo));
    if (named.length > 0 && !named.includes(own)) {
      const owner = Object.entries(this.byok).find(([, key]) => named.includes(key))?.[0] ?? ownerOfManaged(named[0]!, this.keyRingName);
      return tenantMismatch(tenantId, owner ?? `the owner of ${named[0]}`);
    }
    return corrupt(`no key of tenant '${tenantId}' unwraps its data key`);
  }
}

function ownerOfManaged(keyName: string, keyRingName: string): string | undefined {
  const head = `${keyRingName}/cryptoKeys/${tenantKeyName('')}`;
  return keyName.startsWith(head) ? keyName.slice(head.length) : undefined;
}

/**
 * The gcp target's keyring: a Cloud KMS CryptoKey per tenant (managed
 * `<keyRing>/cryptoKeys/tenant-<tenant>`, or the BYOK key in `keys`), called over REST
 * with a bearer token from `token()` (default: the metadata server).
 */
export function gcpKmsTenantKeyring(options: GcpKmsKeyringOptions & { limits?: CacheLimits }): EnvelopeKeyring {
  return new EnvelopeKeyring(new GcpKmsBackend(options), options.limits ?? DEFAULT_CACHE);
}
