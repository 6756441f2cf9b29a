/**
 * Tenant keyrings by target. Everything else (codec, blobs, secrets, traces) takes a
 * `TenantKeyring` from here and never sees which root-key backend is underneath.
 */
import { EnvelopeKeyring, DEFAULT_CACHE, type CacheLimits } from './envelope.js';
import { LocalKeyringBackend } from './local-keyring.js';
import { AwsKmsBackend, type AwsKmsKeyringOptions } from './aws-kms.js';
import { GcpKmsBackend, type GcpKmsKeyringOptions } from './gcp-kms.js';

export { EnvelopeKeyring, EnvelopeCrypto, inspect, encryptionContext, DEFAULT_CACHE, type CacheLimits, type RootKeyBackend } from './envelope.js';
export { LocalKeyringBackend, keyringPath } from './local-keyring.js';

/** The local target's keyring: root keys in `<stateDir>/keys/keyring.json`. */
export function localTenantKeyring(stateDir: string, limits: CacheLimits = DEFAULT_CACHE): EnvelopeKeyring {
  return new EnvelopeKeyring(new LocalKeyringBackend(stateDir), limits);
}

export { AwsKmsBackend, DEFAULT_KMS_RETRY, type AwsKmsKeyringOptions, type RetryPolicy } from './aws-kms.js';
export { GcpKmsBackend, CloudKmsKeyringNode, CloudKmsApi, GCP_KMS_PROVIDER_ID, gceMetadataToken, type GcpKmsKeyringOptions } from './gcp-kms.js';

/**
 * The aws target's keyring: a KMS key per tenant (managed `alias/claw/<install>/<tenant>`
 * with `install`, else `alias/claw/<tenant>`; or the BYOK key ARN in `keys`). `endpoint`
 * points it at another KMS (moto in tests).
 */
export function awsKmsTenantKeyring(options: AwsKmsKeyringOptions & { limits?: CacheLimits }): EnvelopeKeyring {
  return new EnvelopeKeyring(new AwsKmsBackend(options), options.limits ?? DEFAULT_CACHE);
}

/**
 * The gcp target's keyring: a Cloud KMS CryptoKey per tenant (managed
 * `<keyRing>/cryptoKeys/tenant-<tenant>`, or the BYOK key in `keys`), called over REST
 * with a bearer token from `token()` (default: the metadata server).
 */
export function gcpKmsTenantKeyring(options: GcpKmsKeyringOptions & { limits?: CacheLimits }): EnvelopeKeyring {
  return new EnvelopeKeyring(new GcpKmsBackend(options), options.limits ?? DEFAULT_CACHE);
}
