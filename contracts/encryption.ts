/**
 * The encryption context every tenant envelope is bound to (runtime/crypto/envelope.ts), and
 * which the cloud key policies condition on (components/aws/tenant-key.ts grants the gateway
 * and codec-server a tenant's key only for its own tenant id; policies/infra checks it).
 * One definition: a renamed key here changes both sides at once.
 */
export const ENCRYPTION_CONTEXT = { tenant: 'claw:tenant', purpose: 'claw:purpose' } as const;

/** What a blob of tenant data is for; part of the context, so a key grant can be purpose-bound. */
export type Purpose = 'payload' | 'blob' | 'secret' | 'trace' | 'record';

export function encryptionContext(tenantId: string, purpose: Purpose): Record<string, string> {
  return { [ENCRYPTION_CONTEXT.tenant]: tenantId, [ENCRYPTION_CONTEXT.purpose]: purpose };
}

/** The IAM condition key for one context entry (`kms:EncryptionContext:claw:tenant`). */
export function kmsContextConditionKey(key: keyof typeof ENCRYPTION_CONTEXT): string {
  return `kms:EncryptionContext:${ENCRYPTION_CONTEXT[key]}`;
}
