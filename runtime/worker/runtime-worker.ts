/**
 * The worker's Temporal Workers: one Worker on the shared task queue for every tenant, so
 * a tenant costs a key lookup and a map entry, not a Worker (threads, caches, pollers).
 *
 * What per-tenant Workers used to give, and where it comes from now:
 * - Tenant isolation: the payload codec picks the key of the tenant that owns each
 *   payload's workflow (runtime/crypto/codec.ts), and refuses anything sealed for
 *   another; the activities refuse an input naming a tenant other than their workflow's
 *   (bindToWorkflowTenant). So a workflow of tenant A never decrypts or acts as B.
 * - A missing or shredded key fails that tenant's tasks alone: the codec cannot open its
 *   payloads, its tasks fail and retry, every other tenant's tasks run. `ensure` checks
 *   each known tenant's key, cheaply and boundedly, to report those tenants.
 * - Fairness: starts carry the tenant as Temporal's fairness key (temporal/names.ts
 *   routeFor), so the server hands out tasks tenant by tenant rather than in arrival order.
 *
 * Migration (a drain path): runs started on the earlier per-tenant queues
 * (`claw-tenant-<id>`) still finish. `drainLegacy` lists running workflows on those
 * queues and runs a Worker for each such queue until it has none; conversations move to
 * the shared queue on their next turn (runtime/workflows/conversation.ts).
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, type PayloadCodec } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { Activities } from '../activities/index.js';
import { keyringPayloadCodec } from '../crypto/codec.js';
import type { TenantKeyring } from '../ports.js';
import { DEFAULT_NAMESPACE } from '../temporal/connection.js';
import { FAILURE_CONVERTER_PATH } from '../temporal/failure-converter.js';
import { LEGACY_TASK_QUEUE_PREFIX, RUNTIME_TASK_QUEUE, tenantOfLegacyTaskQueue, tenantOfWorkflowId } from '../temporal/names.js';

export interface RuntimeWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  /** The shared queue (default RUNTIME_TASK_QUEUE; tests poll their own). */
  taskQueue?: string;
  workflowBundle: { code: string };
  activities: Activities;
  /** Every tenant's key: the codec opens each payload with its workflow's tenant's key. */
  keyring: Pick<TenantKeyring, 'forTenant'>;
  /** Activities running at once on the shared Worker (Temporal's default is 100). */
  maxConcurrentActivities?: number;
  /** Workflow tasks in the Worker at once (default WORKFLOW_TASKS_AT_ONCE). */
  maxConcurrentWorkflowTasks?: number;
  /** Called when a Worker stops with an error (the process should exit non-zero). */
  onFatal?: (taskQueue: string, err: unknown) => void;
  /** Called when a tenant's key cannot be opened, once per distinct reason. */
  onUnavailable?: (tenantId: string, reason: TenantUnavailable) => void;
}

/** Why a tenant cannot run: the error's stable code (if it has one) and its first line. */
export interface TenantUnavailable {
  code?: string;
  message: string;
}

function reasonOf(err: unknown): TenantUnavailable {
  const code = (err as { code?: unknown }).code;
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  return typeof code === 'string' ? { code, message } : { message };
}

/** Workflow tasks held by the Worker at once; Temporal's default (40) queues the rest in arrival order inside the Worker. */
export const WORKFLOW_TASKS_AT_ONCE = 4;

/**
 * How long a workflow's next task waits on this Worker's own (sticky) queue before the
 * server hands it to the shared queue instead. The sticky queue is served in arrival order:
 * under a flood, a quiet tenant's task there waits behind the flood's; back on the shared
 * queue it is taken in its tenant's turn. Temporal's default is 10 s.
 */
const STICKY_WAIT = '1s';

/** Key checks in flight at once in `ensure` (a KMS call each on a cloud target). */
const KEY_CHECKS_AT_ONCE = 16;

export class RuntimeWorker {
  private readonly codec: PayloadCodec;
  private readonly activities: Activities;
  private readonly running = new Map<string, { worker: Worker; done: Promise<void> }>();
  /** Workers being created: a reload and the drain timer can ask for the same queue at once. */
  private readonly starting = new Map<string, Promise<void>>();
  /** The drain pass in flight, shared by whoever asks meanwhile. */
  private drainPass?: Promise<string[]>;
  private readonly ready = new Set<string>();
  private readonly left = new Map<string, TenantUnavailable>();

  constructor(private readonly options: RuntimeWorkerOptions) {
    this.codec = keyringPayloadCodec(options.keyring);
    this.activities = bindToWorkflowTenant(options.activities);
  }

  get taskQueue(): string {
    return this.options.taskQueue ?? RUNTIME_TASK_QUEUE;
  }

  /** Tenants whose key opened at the last `ensure`. */
  tenants(): string[] {
    return [...this.ready].sort();
  }

  /** Tenants whose key did not open at the last `ensure`, and why. */
  unavailable(): Record<string, TenantUnavailable> {
    return Object.fromEntries([...this.left.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** The legacy per-tenant queues being drained. */
  draining(): string[] {
    return [...this.running.keys()].filter((q) => q !== this.taskQueue).sort();
  }

  /**
   * Start the shared Worker (once) and check each tenant's key. Returns the tenants newly
   * able to run (their key opened now and had not before). A tenant whose key fails is
   * reported and checked again next time (after `claw tenant add`, a reload, a restart).
   */
  async ensure(tenantIds: Iterable<string>): Promise<string[]> {
    await this.startWorker(this.taskQueue);
    const ids = [...new Set(tenantIds)];
    const started: string[] = [];
    let next = 0;
    const check = async () => {
      while (next < ids.length) {
        const tenantId = ids[next++]!;
        try {
          await this.options.keyring.forTenant(tenantId);
        } catch (err) {
          this.ready.delete(tenantId);
          const reason = reasonOf(err);
          const before = this.left.get(tenantId);
          this.left.set(tenantId, reason);
          if (before?.message !== reason.message) this.options.onUnavailable?.(tenantId, reason);
          continue;
        }
        this.left.delete(tenantId);
        if (!this.ready.has(tenantId)) {
          this.ready.add(tenantId);
          started.push(tenantId);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(KEY_CHECKS_AT_ONCE, ids.length) }, check));
    return started.sort();
  }

  /**
   * Run a Worker for every legacy per-tenant queue that still has running workflows, and
   * stop those whose queue has none left. Call at start and now and then (the worker
   * does on reload and every few minutes). Returns the queues being drained. Calls made
   * while a pass runs share it.
   */
  drainLegacy(client: Client): Promise<string[]> {
    this.drainPass ??= this.drainOnce(client).finally(() => (this.drainPass = undefined));
    return this.drainPass;
  }

  private async drainOnce(client: Client): Promise<string[]> {
    const open = new Set<string>();
    const query = `ExecutionStatus = 'Running' AND TaskQueue STARTS_WITH '${LEGACY_TASK_QUEUE_PREFIX}'`;
    for await (const execution of client.workflow.list({ query })) {
      // A legacy queue's workflows belong to its tenant; anything else there is not claw's to run.
      const tenant = tenantOfLegacyTaskQueue(execution.taskQueue);
      if (tenant !== undefined && tenantOfWorkflowId(execution.workflowId) === tenant) open.add(execution.taskQueue);
    }
    for (const queue of open) await this.startWorker(queue);
    for (const queue of this.draining()) {
      if (open.has(queue)) continue;
      const { worker, done } = this.running.get(queue)!;
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
      this.running.delete(queue);
    }
    return this.draining();
  }

  private startWorker(taskQueue: string): Promise<void> {
    if (this.running.has(taskQueue)) return Promise.resolve();
    let pending = this.starting.get(taskQueue);
    if (!pending) {
      pending = this.createWorker(taskQueue).finally(() => this.starting.delete(taskQueue));
      this.starting.set(taskQueue, pending);
    }
    return pending;
  }

  private async createWorker(taskQueue: string): Promise<void> {
    const worker = await Worker.create({
      connection: this.options.connection,
      namespace: this.options.namespace ?? DEFAULT_NAMESPACE,
      taskQueue,
      workflowBundle: this.options.workflowBundle,
      activities: this.activities,
      ...(this.options.maxConcurrentActivities ? { maxConcurrentActivityTaskExecutions: this.options.maxConcurrentActivities } : {}),
      // Workflow tasks taken from the queue wait in the Worker in arrival order, whoever's
      // they are: few slots keep the backlog on the server, where tasks are taken tenant by
      // tenant. Workflow tasks are short and CPU-bound, so a few per core keep the cores busy.
      maxConcurrentWorkflowTaskExecutions: this.options.maxConcurrentWorkflowTasks ?? WORKFLOW_TASKS_AT_ONCE,
      stickyQueueScheduleToStartTimeout: STICKY_WAIT,
      dataConverter: { payloadCodecs: [this.codec], failureConverterPath: FAILURE_CONVERTER_PATH },
    });
    const done = worker.run().catch((err: unknown) => this.options.onFatal?.(taskQueue, err));
    this.running.set(taskQueue, { worker, done });
  }

  /** Whether every Worker started is polling. */
  healthy(): boolean {
    return this.running.size > 0 && [...this.running.values()].every(({ worker }) => worker.getState() === 'RUNNING');
  }

  async shutdown(): Promise<void> {
    for (const { worker } of this.running.values()) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.all([...this.running.values()].map(({ done }) => done));
    this.running.clear();
  }
}

/**
 * The activities as the shared Worker runs them: an input that names a tenant must name
 * the tenant owning the workflow that scheduled it. The codec opened the input with that
 * tenant's key only, so the input's `tenantId` is the one claim left to check.
 */
export function bindToWorkflowTenant<A extends Record<string, (...args: never[]) => unknown>>(activities: A): A {
  const bound: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    bound[name] = async (...args: unknown[]) => {
      const workflowId = Context.current().info.workflowExecution?.workflowId;
      const owner = workflowId === undefined ? undefined : tenantOfWorkflowId(workflowId);
      const claimed = (args[0] as { tenantId?: unknown } | undefined)?.tenantId;
      if (owner === undefined || (claimed !== undefined && claimed !== owner)) {
        throw ApplicationFailure.create({
          type: 'TENANT_MISMATCH',
          message: `activity ${name} for tenant '${String(claimed)}' refused: its workflow '${workflowId ?? '(none)'}' belongs to ${owner === undefined ? 'no tenant' : `tenant ${owner}`}`,
          nonRetryable: true,
        });
      }
      return (fn as (...a: unknown[]) => unknown)(...args);
    };
  }
  return bound as A;
}
