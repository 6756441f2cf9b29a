/**
 * What the KMS root-key backends (aws-kms.ts, gcp-kms.ts) share: one bounded, jittered
 * retry for throttling and transient faults, and a background check that the tenant's
 * key still exists (so a shred made elsewhere takes effect here).
 */
import { isClawError, type ClawError } from '../../core/errors.js';
import { kmsThrottled } from './errors.js';

export interface RetryPolicy {
  /** Attempts in all (the first call included). */
  attempts: number;
  /** Backoff before retry n is in [d/2, d] with d = min(maxDelayMs, baseDelayMs * 2^(n-1)). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_KMS_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 2_000 };

/** How a failed call should be treated: retried as throttling, retried as a transient fault, or not retried. */
export type FailureKind = 'throttled' | 'transient' | undefined;

/**
 * Run `call` with a bounded, jittered exponential backoff. Throttling that outlasts the
 * attempts becomes KMS_THROTTLED; a transient fault that does is rethrown for the caller to
 * explain; anything else is rethrown at once.
 */
export async function withKmsRetry<T>(
  service: string,
  policy: RetryPolicy,
  classify: (err: unknown) => FailureKind,
  call: () => Promise<T>,
  causeOf: (err: unknown) => unknown = (err) => err,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const kind = classify(err);
      if (!kind) throw err;
      if (attempt >= policy.attempts) throw kind === 'throttled' ? kmsThrottled(service, attempt, causeOf(err)) : err;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, ceiling / 2 + (Math.random() * ceiling) / 2));
    }
  }
}

/**
 * A background liveness check for `RootKeyBackend.revalidate`, which must be synchronous:
 * it throws what the last check found and starts a new check when the last is older
 * than `intervalMs`. So a shred made by another process takes effect within about
 * `intervalMs` plus a second, at the cost of one describe call per interval per tenant.
 */
export class KeyStateWatch {
  private readonly states = new Map<string, { checkedAt: number; failure?: ClawError; pending?: Promise<void> }>();

  constructor(
    private readonly intervalMs: number,
    private readonly probe: (tenantId: string) => Promise<void>,
  ) {}

  /** Record a result obtained elsewhere (a lifecycle call or a key lookup). */
  record(tenantId: string, failure?: ClawError): void {
    this.states.set(tenantId, { checkedAt: Date.now(), failure });
  }

  check(tenantId: string): void {
    const state = this.states.get(tenantId);
    if (!state) return;
    // A destroyed key never comes back; a missing or disabled one may, so it is re-checked too.
    const due = !state.pending && Date.now() - state.checkedAt >= this.intervalMs;
    if (due && state.failure?.code !== 'TENANT_KEY_DESTROYED') {
      state.pending = this.probe(tenantId).then(
        () => this.record(tenantId),
        (err: unknown) => {
          // Only answers about the key itself count; a network blip does not shut a tenant out.
          if (isClawError(err) && ['TENANT_KEY_DESTROYED', 'TENANT_KEY_MISSING', 'TENANT_KEY_DISABLED'].includes(err.code)) this.record(tenantId, err);
          else state.pending = undefined;
        },
      );
    }
    if (state.failure) throw state.failure;
  }
}
