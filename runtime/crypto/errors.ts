/**
 * The errors tenant crypto can raise. Every one fails closed (no partial plaintext is
 * ever returned) and carries a stable code; none includes key material or plaintext.
 */
import { ClawError } from '../../core/errors.js';

export const CRYPTO_CODES = [
  'TENANT_KEY_DESTROYED',
  'TENANT_KEY_MISSING',
  'CIPHERTEXT_TENANT_MISMATCH',
  'CIPHERTEXT_PURPOSE_MISMATCH',
  'CIPHERTEXT_CORRUPT',
  'CIPHERTEXT_TRUNCATED',
  'KMS_THROTTLED',
  'KMS_UNAVAILABLE',
  'KMS_ACCESS_DENIED',
  'TENANT_KEY_DISABLED',
  'KEYRING_FILE_INVALID',
] as const;
export type CryptoCode = (typeof CRYPTO_CODES)[number];

export function keyDestroyed(tenantId: string, cause?: unknown): ClawError {
  return new ClawError('TENANT_KEY_DESTROYED', `tenant '${tenantId}' has been shredded: its root key is destroyed and its data cannot be decrypted`, {
    hint: 'this is permanent by design; data written before `claw tenant shred` is gone',
    details: { tenantId },
    cause,
  });
}

export function keyMissing(tenantId: string, what = 'no root key'): ClawError {
  return new ClawError('TENANT_KEY_MISSING', `tenant '${tenantId}': ${what}`, {
    hint: `create it with \`claw tenant create ${tenantId}\` (local) or \`claw install\` (cloud); check the state dir / key reference`,
    details: { tenantId },
  });
}

export function tenantMismatch(expected: string, found: string): ClawError {
  return new ClawError('CIPHERTEXT_TENANT_MISMATCH', `ciphertext belongs to another tenant than '${expected}' and was refused`, {
    hint: 'data is bound to the tenant that wrote it; copying it under another tenant does not make it readable',
    details: { expectedTenant: expected, foundTenant: found },
  });
}

export function purposeMismatch(tenantId: string, expected: string, found: string): ClawError {
  return new ClawError('CIPHERTEXT_PURPOSE_MISMATCH', `ciphertext of tenant '${tenantId}' was written as '${found}', not '${expected}', and was refused`, {
    hint: 'a blob, payload, secret or trace can only be read back as what it was written as',
    details: { tenantId, expectedPurpose: expected, foundPurpose: found },
  });
}

export function corrupt(what: string, cause?: unknown): ClawError {
  return new ClawError('CIPHERTEXT_CORRUPT', `ciphertext failed authentication: ${what}`, {
    hint: 'the stored bytes were altered or damaged; restore them from a backup',
    cause,
  });
}

export function truncated(what: string): ClawError {
  return new ClawError('CIPHERTEXT_TRUNCATED', `ciphertext is truncated: ${what}`, {
    hint: 'the object was cut short (interrupted upload or copy); write it again or restore it',
  });
}

export function kmsThrottled(service: string, attempts: number, cause?: unknown): ClawError {
  return new ClawError('KMS_THROTTLED', `${service} kept throttling after ${attempts} attempts`, {
    hint: 'raise the KMS request quota or the data-key cache age (crypto.cacheMaxAgeMs); the request is safe to retry',
    details: { service, attempts },
    cause,
  });
}

export function kmsUnavailable(service: string, message: string, cause?: unknown): ClawError {
  return new ClawError('KMS_UNAVAILABLE', `${service}: ${message}`, {
    hint: 'check the KMS endpoint, network path and the worker identity permissions on the tenant key',
    details: { service },
    cause,
  });
}

export function kmsAccessDenied(service: string, tenantId: string, keyRef: string, cause?: unknown): ClawError {
  return new ClawError('KMS_ACCESS_DENIED', `${service} refused access to the root key of tenant '${tenantId}' (${keyRef})`, {
    hint: 'grant the worker identity encrypt/decrypt (and describe) on that key; for a BYOK key the customer grants it in their key policy',
    details: { service, tenantId, keyRef },
    cause,
  });
}

export function keyDisabled(service: string, tenantId: string, keyRef: string, cause?: unknown): ClawError {
  return new ClawError('TENANT_KEY_DISABLED', `the root key of tenant '${tenantId}' is disabled in ${service} (${keyRef})`, {
    hint: 'enable the key again; its data is intact but unreadable while it is disabled',
    details: { service, tenantId, keyRef },
    cause,
  });
}
