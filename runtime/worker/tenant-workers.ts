/**
 * One Temporal Worker per tenant, each polling only `claw-tenant-<id>` and each with that
 * tenant's payload codec: a tenant's workflows never run on (or decrypt in) another
 * tenant's Worker. All Workers share one connection and one prebuilt workflow bundle.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import type { PayloadCodec } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { DEFAULT_NAMESPACE } from '../temporal/connection.js';
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
}

export class TenantWorkers {
  private readonly running = new Map<string, { worker: Worker; done: Promise<void> }>();

  constructor(private readonly options: TenantWorkersOptions) {}

  tenants(): string[] {
    return [...this.running.keys()].sort();
  }

  /** Start Workers for tenants that have none yet (idempotent). Returns the ones started. */
  async ensure(tenantIds: Iterable<string>): Promise<string[]> {
    const started: string[] = [];
    for (const tenantId of tenantIds) {
      if (this.running.has(tenantId)) continue;
      const codecs = (await this.options.payloadCodecsFor?.(tenantId)) ?? [];
      const worker = await Worker.create({
        connection: this.options.connection,
        namespace: this.options.namespace ?? DEFAULT_NAMESPACE,
        taskQueue: taskQueueFor(tenantId),
        workflowBundle: this.options.workflowBundle,
        activities: this.options.activities,
        ...(codecs.length > 0 ? { dataConverter: { payloadCodecs: codecs } } : {}),
      });
      const done = worker.run().catch((err: unknown) => this.options.onFatal?.(tenantId, err));
      this.running.set(tenantId, { worker, done });
      started.push(tenantId);
    }
    return started;
  }

  /** Whether every Worker is polling. */
  healthy(): boolean {
    return [...this.running.values()].every(({ worker }) => worker.getState() === 'RUNNING');
  }

  async shutdown(): Promise<void> {
    for (const { worker } of this.running.values()) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.all([...this.running.values()].map(({ done }) => done));
    this.running.clear();
  }
}
