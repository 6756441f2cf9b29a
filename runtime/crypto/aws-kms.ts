/**
 * The aws target's root keys: one AWS KMS key per tenant, either managed by us (created
 * with the alias `alias/claw/<tenant>`) or the customer's own (BYOK: a key ARN in
 * claw.yaml). Data keys come from GenerateDataKey through the ESDK's `KmsKeyringNode`,
 * bound to the encryption context `{ claw:tenant, claw:purpose }`.
 *
 * Rotation turns on KMS key rotation and rotates the key material now; the key ARN stays
 * the same, so old data keys still unwrap. Shredding schedules the key's deletion (KMS
 * waits at least 7 days); a key pending deletion cannot unwrap anything, which KMS
 * reports as KMSInvalidStateException and we as TENANT_KEY_DESTROYED.
 *
 * Every KMS call goes through one bounded retry (throttling and transient faults, with
 * jittered exponential backoff); what still fails becomes one ClawError with a stable code.
 *
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KMSClientConfig,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import type { KeyringNode } from '@aws-crypto/material-management-node';
import { KmsKeyringNode } from '@aws-crypto/kms-keyring-node';
import { ClawError, isClawError } from '../../core/errors.js';
import { INSTALL_TAG, TENANT_TAG } from '../../contracts/aws.js';
import type { RootKeyBackend, WrappedKeyRef } from './envelope.js';
import { corrupt, keyDestroyed, keyDisabled, keyMissing, kmsAccessDenied, kmsUnavailable, tenantMismatch } from './errors.js';
import { DEFAULT_KMS_RETRY, KeyStateWatch, withKmsRetry, type FailureKind, type RetryPolicy } from './kms-common.js';
import { EnvelopeKeyring, DEFAULT_CACHE, type CacheLimits } from './envelope.js';

// ------------------------------------------------------------------ AWS KMS

const SERVICE = 'AWS KMS';
const KMS_PROVIDER_ID = 'aws-kms';
const TENANT_ID = /^[A-Za-z0-9_-]{1,128}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/;

export interface AwsKmsKeyringOptions {
  region: string;
  /** KMS endpoint override (moto in tests, a VPC endpoint in production). */
  endpoint?: string;
  /** BYOK: tenant id → the customer's key ARN (or alias ARN). Other tenants get a managed key. */
  keys?: Record<string, string>;
  /** The install's name: managed keys are then `alias/claw/<install>/<tenant>`, as the aws stack names them. */
  install?: string;
  /** Alias prefix of managed keys (overrides `install`). Default `alias/claw/`. */
  aliasPrefix?: string;
  /**
   * Whether createTenantKey may create a missing managed key. Default true. False where the
   * stacks create the tenant keys (DESIGN invariant 6): it then only checks the key exists.
   */
  createKeys?: boolean;
  /** Waiting period of ScheduleKeyDeletion, 7-30 days. Default 7. */
  deletionWindowDays?: number;
  retry?: Partial<RetryPolicy>;
  /** How often a running process re-checks that a tenant's key still exists. Default 30 s. */
  stateCheckMs?: number;
  credentials?: KMSClientConfig['credentials'];
  /** Use this client instead of building one (its own retry settings then add to ours). */
  client?: KMSClient;
}

interface ResolvedKey {
  arn: string;
  keyring: KeyringNode;
}

/** Calls the ESDK's KMS keyring makes (the v3 aggregated client shape). */
interface EsdkKmsClient {
  generateDataKey(input: GenerateDataKeyCommand['input']): Promise<unknown>;
  encrypt(input: EncryptCommand['input']): Promise<unknown>;
  decrypt(input: DecryptCommand['input']): Promise<unknown>;
}

function errorName(err: unknown): string {
  return (err as { name?: string } | undefined)?.name ?? '';
}

/**
 * What of an SDK error may travel on as a ClawError's cause: name, message and request
 * metadata. Not `$response`, which holds the signed request (headers, signature).
 */
function awsCause(err: unknown): Error {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number } } | undefined;
  const cause = new Error(e?.message ?? String(err));
  cause.name = e?.name ?? 'Error';
  const meta = e?.$metadata;
  if (meta) Object.assign(cause, { $metadata: { httpStatusCode: meta.httpStatusCode, requestId: meta.requestId, attempts: meta.attempts } });
  return cause;
}

function classifyAws(err: unknown): FailureKind {
  const name = errorName(err);
  const meta = err as { $retryable?: { throttling?: boolean }; $metadata?: { httpStatusCode?: number }; code?: string } | undefined;
  if (name === 'ThrottlingException' || name === 'TooManyRequestsException' || meta?.$retryable?.throttling) return 'throttled';
  if (name === 'KMSInternalException' || name === 'DependencyTimeoutException') return 'transient';
  const status = meta?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return 'transient';
  if (['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'].includes(meta?.code ?? '') || name === 'TimeoutError') return 'transient';
  return undefined;
}

export class AwsKmsBackend implements RootKeyBackend {
  readonly kind = 'aws-kms' as const;
  /** The KMS client every call goes through (tests add middleware to count calls). */
  readonly client: KMSClient;
  private readonly retry: RetryPolicy;
  private readonly aliasPrefix: string;
  private readonly createKeys: boolean;
  private readonly install?: string;
  private readonly deletionWindowDays: number;
  private readonly byok: Record<string, string>;
  private readonly resolved = new Map<string, ResolvedKey>();
  private readonly watch: KeyStateWatch;
  /** ClawErrors raised inside the ESDK's unwrap, which only passes on their stack text. */
  private readonly failures = new Map<string, ClawError>();
  private failureSeq = 0;

  constructor(options: AwsKmsKeyringOptions) {
    this.client =
      options.client ??
      new KMSClient({
        region: options.region,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        maxAttempts: 1, // our bounded retry is the only one
      });
    this.retry = { ...DEFAULT_KMS_RETRY, ...options.retry };
    this.aliasPrefix = options.aliasPrefix ?? (options.install ? `alias/claw/${options.install}/` : 'alias/claw/');
    this.createKeys = options.createKeys ?? true;
    this.install = options.install;
    this.deletionWindowDays = options.deletionWindowDays ?? 7;
    if (this.deletionWindowDays < 7 || this.deletionWindowDays > 30) {
      throw new ClawError('CONFIG_INVALID', `KMS deletion window must be 7-30 days, got ${this.deletionWindowDays}`, { hint: 'set crypto.deletionWindowDays between 7 and 30' });
    }
    this.byok = { ...options.keys };
    for (const [tenantId, arn] of Object.entries(this.byok)) {
      if (!KMS_KEY_ARN.test(arn)) {
        throw new ClawError('CONFIG_INVALID', `tenant '${tenantId}': '${arn}' is not a KMS key or alias ARN`, {
          hint: 'give the full ARN: arn:aws:kms:<region>:<account>:key/<key-id> (or :alias/<name>)',
        });
      }
    }
    this.watch = new KeyStateWatch(options.stateCheckMs ?? 30_000, async (tenantId) => {
      this.usable(tenantId, await this.describe(tenantId));
    });
  }

  /** The key reference of a tenant: its BYOK ARN, or the alias of its managed key. */
  keyRef(tenantId: string): string {
    const byok = this.byok[tenantId];
    if (byok) return byok;
    if (!TENANT_ID.test(tenantId)) {
      throw new ClawError('TENANT_ID_INVALID', `tenant id '${tenantId}' cannot name a KMS alias`, { hint: 'use letters, digits, - and _ (at most 128)' });
    }
    return `${this.aliasPrefix}${tenantId}`;
  }

  private isByok(tenantId: string): boolean {
    return this.byok[tenantId] !== undefined;
  }

  /** One KMS call with the bounded retry; failures come out as ClawErrors. */
  private async send<T>(tenantId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await withKmsRetry(SERVICE, this.retry, classifyAws, call, awsCause);
    } catch (err) {
      throw this.explainAws(tenantId, err);
    }
  }

  private explainAws(tenantId: string, raw: unknown): ClawError {
    if (isClawError(raw)) return raw;
    const err = awsCause(raw);
    const ref = this.byok[tenantId] ?? `${this.aliasPrefix}${tenantId}`;
    switch (errorName(err)) {
      case 'KMSInvalidStateException':
        // What KMS says for a key pending deletion (or deleted): the tenant is shredded.
        return keyDestroyed(tenantId, err);
      case 'DisabledException':
        return keyDisabled(SERVICE, tenantId, ref, err);
      case 'NotFoundException':
        return keyMissing(tenantId, `no KMS key ${ref}`);
      case 'AccessDeniedException':
      case 'NotAuthorizedException':
      case 'UnrecognizedClientException':
      case 'InvalidSignatureException':
        return kmsAccessDenied(SERVICE, tenantId, ref, err);
      case 'InvalidCiphertextException':
      case 'IncorrectKeyException':
        return corrupt('the wrapped data key does not open under the tenant key and context', err);
      default:
        return kmsUnavailable(SERVICE, `${errorName(err) || 'request failed'} for tenant '${tenantId}' (${ref})`, err);
    }
  }

  private async describe(tenantId: string): Promise<KeyMetadata> {
    const { KeyMetadata: meta } = await this.send(tenantId, () => this.client.send(new DescribeKeyCommand({ KeyId: this.keyRef(tenantId) })));
    if (!meta?.Arn) throw kmsUnavailable(SERVICE, `DescribeKey returned no key for tenant '${tenantId}'`);
    return meta;
  }

  /** Throw what a key's state means for using it. */
  private usable(tenantId: string, meta: KeyMetadata): void {
    switch (meta.KeyState) {
      case 'Enabled':
        return;
      case 'PendingDeletion':
      case 'PendingReplicaDeletion':
        throw keyDestroyed(tenantId);
      case 'Disabled':
        throw keyDisabled(SERVICE, tenantId, meta.Arn!);
      default:
        throw kmsUnavailable(SERVICE, `the key of tenant '${tenantId}' is ${meta.KeyState ?? 'in an unknown state'}`);
    }
  }

  /** The ESDK-facing client of one tenant: our retry, and errors it can pass on. */
  private esdkClient(tenantId: string): EsdkKmsClient {
    const call = async <T>(run: () => Promise<T>): Promise<T> => {
      try {
        return await this.send(tenantId, run);
      } catch (err) {
        throw this.tag(err as ClawError);
      }
    };
    return {
      generateDataKey: (input) => call(() => this.client.send(new GenerateDataKeyCommand(input))),
      encrypt: (input) => call(() => this.client.send(new EncryptCommand(input))),
      decrypt: (input) => call(() => this.client.send(new DecryptCommand(input))),
    };
  }

  /**
   * The ESDK's unwrap folds every KMS error into one Error built from their stacks; a
   * reference in the stack lets `explain` find the original ClawError again.
   */
  private tag(err: ClawError): ClawError {
    const ref = `claw-kms-failure-${++this.failureSeq}`;
    err.stack = `${err.stack ?? err.message}\n    [${ref}]`;
    this.failures.set(ref, err);
    while (this.failures.size > 100) this.failures.delete(this.failures.keys().next().value as string);
    return err;
  }

  async keyring(tenantId: string): Promise<KeyringNode> {
    this.watch.check(tenantId);
    const known = this.resolved.get(tenantId);
    if (known) return known.keyring;
    let meta: KeyMetadata;
    try {
      meta = await this.describe(tenantId);
      this.usable(tenantId, meta);
    } catch (err) {
      if (isClawError(err) && err.code === 'TENANT_KEY_DESTROYED') this.watch.record(tenantId, err);
      throw err;
    }
    const client = this.esdkClient(tenantId);
    // The generator is the key ARN: KMS names it in every wrapped key, and unwrap only tries keys listed here.
    const keyring = new KmsKeyringNode({ generatorKeyId: meta.Arn!, clientProvider: (() => client) as never });
    this.resolved.set(tenantId, { arn: meta.Arn!, keyring });
    this.watch.record(tenantId);
    return keyring;
  }

  revalidate(tenantId: string): void {
    this.watch.check(tenantId);
  }

  async createTenantKey(tenantId: string): Promise<void> {
    const ref = this.keyRef(tenantId);
    try {
      this.usable(tenantId, await this.describe(tenantId));
      return; // exists and usable: nothing to do
    } catch (err) {
      if (!isClawError(err) || err.code !== 'TENANT_KEY_MISSING' || this.isByok(tenantId) || !this.createKeys) throw err;
    }
    const { KeyMetadata: created } = await this.send(tenantId, () =>
      this.client.send(
        new CreateKeyCommand({
          Description: `claw root key of tenant ${tenantId}`,
          KeyUsage: 'ENCRYPT_DECRYPT',
          KeySpec: 'SYMMETRIC_DEFAULT',
          // Tagged like the stack's keys, but marked as made at runtime (outside Pulumi state).
          Tags: [
            { TagKey: TENANT_TAG, TagValue: tenantId },
            ...(this.install ? [{ TagKey: INSTALL_TAG, TagValue: this.install }] : []),
            { TagKey: 'claw:managed-by', TagValue: 'claw-runtime' },
          ],
        }),
      ),
    );
    const keyId = created!.KeyId!;
    try {
      await this.send(tenantId, () => this.client.send(new CreateAliasCommand({ AliasName: ref, TargetKeyId: keyId })));
    } catch (err) {
      const cause = (err as ClawError).cause;
      if (errorName(cause) !== 'AlreadyExistsException') throw err;
      // Another process created the tenant's key first: retire ours, use theirs.
      await this.send(tenantId, () => this.client.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 })));
      return;
    }
    await this.send(tenantId, () => this.client.send(new EnableKeyRotationCommand({ KeyId: keyId })));
  }

  async rotate(tenantId: string): Promise<void> {
    const meta = await this.describe(tenantId);
    this.usable(tenantId, meta);
    // Rotation and deletion take the key id: neither works across accounts, so the ARN adds nothing.
    await this.send(tenantId, () => this.client.send(new EnableKeyRotationCommand({ KeyId: meta.KeyId! })));
    try {
      await this.send(tenantId, () => this.client.send(new RotateKeyOnDemandCommand({ KeyId: meta.KeyId! })));
    } catch (err) {
      // Imported (BYOK) material and the on-demand quota do not allow it; yearly rotation
      // is on, and the caller drops its data keys, so new data still gets new data keys.
      const name = errorName((err as ClawError).cause);
      if (name !== 'UnsupportedOperationException' && name !== 'LimitExceededException') throw err;
    }
  }

  async destroy(tenantId: string): Promise<void> {
    const meta = await this.describe(tenantId);
    this.resolved.delete(tenantId);
    if (meta.KeyState !== 'PendingDeletion') {
      await this.send(tenantId, () => this.client.send(new ScheduleKeyDeletionCommand({ KeyId: meta.KeyId!, PendingWindowInDays: this.deletionWindowDays })));
    }
    this.watch.record(tenantId, keyDestroyed(tenantId));
  }

  async explain(tenantId: string, err: unknown, phase: 'wrap' | 'unwrap', edks: WrappedKeyRef[] = []): Promise<ClawError> {
    const text = err instanceof Error ? (isClawError(err) ? (err.stack ?? '') : err.message) : '';
    for (const match of text.matchAll(/\[(claw-kms-failure-\d+)\]/g)) {
      const found = this.failures.get(match[1]!);
      if (found) {
        this.failures.delete(match[1]!);
        return found;
      }
    }
    if (isClawError(err)) return err;
    if (phase === 'wrap') return kmsUnavailable(SERVICE, `could not wrap a data key for tenant '${tenantId}'`, err);
    // Nothing unwrapped and KMS was not even asked: the data names another key than the tenant's.
    const own = this.resolved.get(tenantId)?.arn;
    const named = edks.filter((k) => k.providerId === KMS_PROVIDER_ID).map((k) => k.providerInfo);
    if (named.length > 0 && !named.includes(own ?? '')) {
      const owner = [...this.resolved].find(([, key]) => named.includes(key.arn))?.[0];
      return tenantMismatch(tenantId, owner ?? `the owner of ${named[0]}`);
    }
    return corrupt(`no key of tenant '${tenantId}' unwraps its data key`, err);
  }
}

/**
 * The aws target's keyring: a KMS key per tenant (managed `alias/claw/<install>/<tenant>`
 * with `install`, else `alias/claw/<tenant>`; or the BYOK key ARN in `keys`). `endpoint`
 * points it at another KMS (moto in tests).
 */
export function awsKmsTenantKeyring(options: AwsKmsKeyringOptions & { limits?: CacheLimits }): EnvelopeKeyring {
  return new EnvelopeKeyring(new AwsKmsBackend(options), options.limits ?? DEFAULT_CACHE);
}
