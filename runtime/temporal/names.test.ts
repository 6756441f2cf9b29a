import { describe, expect, it } from 'vitest';
import { runWorkflowId, taskQueueFor, tenantOfWorkflowId, workflowIdFor } from './names.js';

describe('Temporal tenancy names', () => {
  it('gives each tenant its own task queue', () => {
    expect(taskQueueFor('acme')).toBe('claw-tenant-acme');
    expect(taskQueueFor('acme')).not.toBe(taskQueueFor('globex'));
  });

  it('prefixes workflow ids with the tenant and reads it back', () => {
    expect(workflowIdFor('acme', 'run', 'r1')).toBe('acme/run/r1');
    expect(runWorkflowId('acme', 'r1')).toBe('acme/run/r1');
    expect(tenantOfWorkflowId('acme/run/r1')).toBe('acme');
    expect(tenantOfWorkflowId('no-slash')).toBeUndefined();
    expect(tenantOfWorkflowId('/run/x')).toBeUndefined();
  });

  it('refuses ids that would break the scheme', () => {
    expect(() => taskQueueFor('Acme/x')).toThrow(/not a tenant id/);
    expect(() => workflowIdFor('acme')).toThrow(/non-empty/);
    expect(() => workflowIdFor('acme', '')).toThrow(/non-empty/);
  });
});
