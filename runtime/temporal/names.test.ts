import { describe, expect, it } from 'vitest';
import { RUNTIME_TASK_QUEUE, legacyTaskQueueFor, routeFor, runWorkflowId, tenantOfLegacyTaskQueue, tenantOfWorkflowId, workflowIdFor } from './names.js';

describe('Temporal tenancy names', () => {
  it('routes every tenant to the shared queue with the tenant as fairness key', () => {
    expect(routeFor('acme')).toEqual({ taskQueue: RUNTIME_TASK_QUEUE, priority: { fairnessKey: 'acme' } });
    expect(routeFor('globex', 'q-test')).toEqual({ taskQueue: 'q-test', priority: { fairnessKey: 'globex' } });
  });

  it('names the legacy per-tenant queues and reads their tenant back', () => {
    expect(legacyTaskQueueFor('acme')).toBe('claw-tenant-acme');
    expect(tenantOfLegacyTaskQueue('claw-tenant-acme')).toBe('acme');
    expect(tenantOfLegacyTaskQueue(RUNTIME_TASK_QUEUE)).toBeUndefined();
    expect(tenantOfLegacyTaskQueue('claw-tenant-Bad/x')).toBeUndefined();
  });

  it('prefixes workflow ids with the tenant and reads it back', () => {
    expect(workflowIdFor('acme', 'run', 'r1')).toBe('acme/run/r1');
    expect(runWorkflowId('acme', 'r1')).toBe('acme/run/r1');
    expect(tenantOfWorkflowId('acme/run/r1')).toBe('acme');
    expect(tenantOfWorkflowId('no-slash')).toBeUndefined();
    expect(tenantOfWorkflowId('/run/x')).toBeUndefined();
  });

  it('refuses ids that would break the scheme', () => {
    expect(() => routeFor('Acme/x')).toThrow(/not a tenant id/);
    expect(() => legacyTaskQueueFor('Acme/x')).toThrow(/not a tenant id/);
    expect(() => workflowIdFor('acme')).toThrow(/non-empty/);
    expect(() => workflowIdFor('acme', '')).toThrow(/non-empty/);
  });
});
