/**
 * Tenancy in Temporal: every workflow id starts with the tenant id, and that is what the
 * payload codec keys on (runtime/crypto/codec.ts): a workflow of tenant A decrypts and
 * encrypts only under A's key, whichever Worker runs it. All tenants share one task queue,
 * and each start carries the tenant as its fairness key, so the server dispatches tenants'
 * tasks in turn and a tenant that floods the queue cannot starve the others.
 *
 * Before the shared queue each tenant had its own (`claw-tenant-<id>`); runs started there
 * are drained by runtime/worker (legacy queues), and conversations move over on their
 * next turn (runtime/workflows/conversation.ts).
 */
import { ID_PATTERN } from '../../core/config/schema.js';
import { LEGACY_TASK_QUEUE_PREFIX, RUNTIME_TASK_QUEUE, agentRunWorkflowId } from '../workflows/names.js';

// Defined with the workflows (their bundle has no other imports): conversations move themselves to the shared queue.
export { LEGACY_TASK_QUEUE_PREFIX, RUNTIME_TASK_QUEUE };

function checkTenantId(tenantId: string): string {
  // A malformed id here is a programming error (ids are validated at the CLI edge).
  if (!ID_PATTERN.test(tenantId)) throw new Error(`not a tenant id: ${JSON.stringify(tenantId)}`);
  return tenantId;
}

/** The queue a tenant's runs were started on before the shared queue. */
export function legacyTaskQueueFor(tenantId: string): string {
  return `${LEGACY_TASK_QUEUE_PREFIX}${checkTenantId(tenantId)}`;
}

/** The tenant of a legacy queue name, or undefined. */
export function tenantOfLegacyTaskQueue(taskQueue: string): string | undefined {
  if (!taskQueue.startsWith(LEGACY_TASK_QUEUE_PREFIX)) return undefined;
  const tenant = taskQueue.slice(LEGACY_TASK_QUEUE_PREFIX.length);
  return ID_PATTERN.test(tenant) ? tenant : undefined;
}

/** Where a tenant's workflow starts: the shared queue, with the tenant as its fairness key (children and activities inherit it). */
export function routeFor(tenantId: string, taskQueue: string = RUNTIME_TASK_QUEUE): { taskQueue: string; priority: { fairnessKey: string } } {
  return { taskQueue, priority: { fairnessKey: checkTenantId(tenantId) } };
}

/** `<tenant>/<part>/<part>...`; parts must not be empty. */
export function workflowIdFor(tenantId: string, ...parts: string[]): string {
  if (parts.length === 0 || parts.some((p) => p.length === 0)) throw new Error('a workflow id needs non-empty parts after the tenant');
  return [checkTenantId(tenantId), ...parts].join('/');
}

/** The tenant a workflow id belongs to, or undefined if it does not follow the scheme. */
export function tenantOfWorkflowId(workflowId: string): string | undefined {
  const slash = workflowId.indexOf('/');
  if (slash <= 0) return undefined;
  const tenant = workflowId.slice(0, slash);
  return ID_PATTERN.test(tenant) ? tenant : undefined;
}

/** Workflow id of one agent run: `<tenant>/run/<runId>`. */
export function runWorkflowId(tenantId: string, runId: string): string {
  if (runId.length === 0) throw new Error('a workflow id needs non-empty parts after the tenant');
  return agentRunWorkflowId(checkTenantId(tenantId), runId);
}
