/**
 * Tenant keyrings. Everything else (codec, blobs, secrets, traces) takes a `TenantKeyring`
 * and never sees which root-key backend is underneath.
 *
 * This module loads no cloud SDK: the local target and the CLI import it. The cloud
 * keyrings live beside their backends and are imported when a target needs them:
 * `awsKmsTenantKeyring` in ./aws-kms.js (AWS KMS), `gcpKmsTenantKeyring` in ./gcp-kms.js
 * (Cloud KMS over REST).
 */
import { EnvelopeKeyring, DEFAULT_CACHE, type CacheLimits } from './envelope.js';
import { LocalKeyringBackend } from './local-keyring.js';

export { EnvelopeKeyring, EnvelopeCrypto, inspect, encryptionContext, DEFAULT_CACHE, type CacheLimits, type RootKeyBackend } from './envelope.js';
export { LocalKeyringBackend, keyringPath } from './local-keyring.js';
export { DEFAULT_KMS_RETRY, type RetryPolicy } from './kms-common.js';
export type { AwsKmsKeyringOptions } from './aws-kms.js';
export type { GcpKmsKeyringOptions } from './gcp-kms.js';

/** The local target's keyring: root keys in `<stateDir>/keys/keyring.json`. */
export function localTenantKeyring(stateDir: string, limits: CacheLimits = DEFAULT_CACHE): EnvelopeKeyring {
  return new EnvelopeKeyring(new LocalKeyringBackend(stateDir), limits);
}
