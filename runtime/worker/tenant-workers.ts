/**
 * One Temporal Worker per tenant, each polling only `claw-tenant-<id>` and each with that
 * tenant's payload codec: a tenant's workflows never run on (or decrypt in) another
 * tenant's Worker. All Workers share one connection and one prebuilt workflow bundle.
 *
 * Each tenant's Worker gets the activities bound to its tenant: an activity whose input
 * names another tenant is refused (TENANT_MISMATCH, not retried), so a workflow started
 * with a forged tenant id cannot act for that tenant.
 *
 * A tenant whose Worker cannot start (its key is missing here, or destroyed by
 * `claw tenant shred`) is left out and reported; the other tenants' Workers still run.
 * `ensure` tries it again next time (after `claw tenant add`, a reload, a restart).
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { ApplicationFailure, type PayloadCodec } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { DEFAULT_NAMESPACE } from '../temporal/connection.js';
import { FAILURE_CONVERTER_PATH } from '../temporal/failure-converter.js';
import { taskQueueFor } from '../temporal/names.js';

export interface TenantWorkersOptions {
  connection: NativeConnection;
  namespace?: string;
  workflowBundle: { code: string };
  activities: Activities;
  /** The tenant's payload codec(s) (DATA's runtime/crypto/codec.ts). */
  payloadCodecsFor?: (tenantId: string) => Promise<PayloadCodec[]>;
  /** Called when a tenant's Worker stops with an error (the process should exit non-zero). */
  onFatal?: (tenantId: string, err: unknown) => void;
  /** Called when a tenant's Worker cannot start, once per distinct reason. */
  onUnavailable?: (tenantId: string, reason: TenantUnavailable) => void;
}

/** Why a tenant has no Worker: the error's stable code (if it has one) and its first line. */
export interface TenantUnavailable {
  code?: string;
  message: string;
}

function reasonOf(err: unknown): TenantUnavailable {
  const code = (err as { code?: unknown }).code;
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  return typeof code === 'string' ? { code, message } : { message };
}

export class TenantWorkers {
  private readonly running = new Map<string, { worker: Worker; done: Promise<void> }>();
  private readonly left = new Map<string, TenantUnavailable>();

  constructor(private readonly options: TenantWorkersOptions) {}

  tenants(): string[] {
    return [...this.running.keys()].sort();
  }

  /** The tenants left without a Worker by the last `ensure`, and why. */
  unavailable(): Record<string, TenantUnavailable> {
    return Object.fromEntries([...this.left.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Start Workers for tenants that have none yet (idempotent). Returns the ones started. */
  async ensure(tenantIds: Iterable<string>): Promise<string[]> {
    const started: string[] = [];
    for (const tenantId of tenantIds) {
      if (this.running.has(tenantId)) continue;
      let worker: Worker;
      try {
        const codecs = (await this.options.payloadCodecsFor?.(tenantId)) ?? [];
        worker = await Worker.create({
          connection: this.options.connection,
          namespace: this.options.namespace ?? DEFAULT_NAMESPACE,
          taskQueue: taskQueueFor(tenantId),
          workflowBundle: this.options.workflowBundle,
          activities: bindToTenant(this.options.activities, tenantId),
          ...(codecs.length > 0 ? { dataConverter: { payloadCodecs: codecs, failureConverterPath: FAILURE_CONVERTER_PATH } } : {}),
        });
      } catch (err) {
        const reason = reasonOf(err);
        const before = this.left.get(tenantId);
        this.left.set(tenantId, reason);
        if (before?.message !== reason.message) this.options.onUnavailable?.(tenantId, reason);
        continue;
      }
      this.left.delete(tenantId);
      const done = worker.run().catch((err: unknown) => this.options.onFatal?.(tenantId, err));
      this.running.set(tenantId, { worker, done });
      started.push(tenantId);
    }
    return started;
  }

  /** Whether every Worker that started is polling (tenants left out do not count). */
  healthy(): boolean {
    return [...this.running.values()].every(({ worker }) => worker.getState() === 'RUNNING');
  }

  async shutdown(): Promise<void> {
    for (const { worker } of this.running.values()) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.all([...this.running.values()].map(({ done }) => done));
    this.running.clear();
  }
}

/**
 * The activities as one tenant's Worker runs them: an input that names a tenant must name
 * this one. The Worker polls only this tenant's queue and its codec decrypts only this
 * tenant's payloads, so the input's `tenantId` is the one claim left to check.
 */
export function bindToTenant<A extends Record<string, (...args: never[]) => unknown>>(activities: A, tenantId: string): A {
  const bound: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    bound[name] = async (...args: unknown[]) => {
      const claimed = (args[0] as { tenantId?: unknown } | undefined)?.tenantId;
      if (claimed !== undefined && claimed !== tenantId) {
        throw ApplicationFailure.create({ type: 'TENANT_MISMATCH', message: `activity ${name} for tenant '${String(claimed)}' refused on tenant ${tenantId}'s worker`, nonRetryable: true });
      }
      return (fn as (...a: unknown[]) => unknown)(...args);
    };
  }
  return bound as A;
}
