/**
 * Tenancy in Temporal: one task queue per tenant, and every workflow id starts with the
 * tenant id. A worker polls only its tenant's queue (with only that tenant's payload
 * codec), so a workflow of tenant A can never run on B's worker.
 */
import { ID_PATTERN } from '../../core/config/schema.js';
import { agentRunWorkflowId } from '../workflows/names.js';

export const TASK_QUEUE_PREFIX = 'claw-tenant-';

function checkTenantId(tenantId: string): string {
  // A malformed id here is a programming error (ids are validated at the CLI edge).
  if (!ID_PATTERN.test(tenantId)) throw new Error(`not a tenant id: ${JSON.stringify(tenantId)}`);
  return tenantId;
}

export function taskQueueFor(tenantId: string): string {
  return `${TASK_QUEUE_PREFIX}${checkTenantId(tenantId)}`;
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
