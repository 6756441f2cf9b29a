import { describe, expect, it } from 'vitest';
import { boundedName, componentServiceAccountId, tenantBucketName, tenantDatasetId, tenantServiceAccountId } from './gcp.js';

const SA_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

describe('gcp names', () => {
  const longTenant = 'a'.repeat(31) + 'z';
  const longInstall = 'i'.repeat(32);

  it('tenant service account ids fit GCP rules for the longest ids and differ per role, tenant and install', () => {
    const ids = (['data', 'ingest', 'decode'] as const).map((r) => tenantServiceAccountId(longInstall, longTenant, r));
    for (const id of ids) expect(id).toMatch(SA_ID);
    expect(new Set(ids).size).toBe(3);
    expect(tenantServiceAccountId('claw', 'ab', 'data')).toMatch(SA_ID);
    expect(tenantServiceAccountId('one', 'acme', 'data')).not.toBe(tenantServiceAccountId('two', 'acme', 'data'));
    // Tenants sharing a 17-character prefix still get distinct identities.
    expect(tenantServiceAccountId('claw', `${'b'.repeat(17)}x`, 'data')).not.toBe(tenantServiceAccountId('claw', `${'b'.repeat(17)}y`, 'data'));
  });

  it('component ids and bucket names stay within limits and are deterministic', () => {
    expect(componentServiceAccountId(longInstall, 'codec-server')).toMatch(SA_ID);
    expect(componentServiceAccountId('claw', 'worker')).toBe('claw-claw-worker');
    const bucket = tenantBucketName('acme-claw-prod', longInstall, longTenant);
    expect(bucket.length).toBeLessThanOrEqual(63);
    expect(bucket).toMatch(/^[a-z0-9][a-z0-9-]+[a-z0-9]$/);
    expect(tenantBucketName('acme-claw-prod', longInstall, longTenant)).toBe(bucket);
    expect(tenantBucketName('other-project', 'claw', 'acme')).not.toBe(tenantBucketName('acme-claw-prod', 'claw', 'acme'));
    expect(tenantDatasetId('claw', 'acme-eu')).toBe('claw_claw_acme_eu');
    expect(boundedName(['x', 'y'], 10)).toBe('x-y');
  });
});
