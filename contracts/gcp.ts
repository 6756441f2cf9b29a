/**
 * Deterministic GCP names for an install's resources. GCP's limits are tight (service
 * account ids 6-30 chars, bucket names global and <= 63) while install and tenant ids may
 * each be 32 chars, so long names are shortened with a hash of the full name: the same
 * claw.yaml always yields the same names, and two installs never collide.
 */
import { createHash } from 'node:crypto';

export function shortHash(value: string, length = 6): string {
  return createHash('sha256').update(value).digest('hex').slice(0, length);
}

/** `parts` joined by '-', shortened to `max` chars by truncation plus a hash of the whole. */
export function boundedName(parts: string[], max: number): string {
  const full = parts.join('-');
  if (full.length <= max) return full;
  const hash = shortHash(full);
  return `${full.slice(0, max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/**
 * Per-tenant identities: data (worker), ingest (gateway: encrypt only), decode (codec-server:
 * decrypt only), traces (gateway's runs pages: read-only queries of the tenant's dataset).
 */
export type TenantRole = 'data' | 'ingest' | 'decode' | 'traces';
const ROLE_SUFFIX: Record<TenantRole, string> = { data: 'd', ingest: 'i', decode: 'c', traces: 'r' };

/** Service account id of a tenant identity: `ct-<tenant>-<hash of install/tenant>-<d|i|c|r>`, <= 30 chars. */
export function tenantServiceAccountId(install: string, tenantId: string, role: TenantRole): string {
  return `ct-${tenantId.slice(0, 17).replace(/-+$/, '')}-${shortHash(`${install}/${tenantId}`)}-${ROLE_SUFFIX[role]}`;
}

/** Service account id of a platform component (`worker`, `gateway`, ...), <= 30 chars. */
export function componentServiceAccountId(install: string, component: string): string {
  return boundedName(['claw', install, component], 30).replace(/-+$/, '');
}

/** A tenant's managed bucket: globally unique via the project's hash. */
export function tenantBucketName(project: string, install: string, tenantId: string): string {
  return boundedName(['claw', install, tenantId, shortHash(project, 8)], 63);
}

/** BigQuery dataset ids allow letters, digits and '_'. */
export function tenantDatasetId(install: string, tenantId: string): string {
  return `claw_${install}_${tenantId}`.replace(/-/g, '_');
}

export function tenantKeyName(tenantId: string): string {
  return `tenant-${tenantId}`;
}

/** Labels on every tenant resource (guardrails and `claw plan` group by it). */
export function tenantLabels(tenantId: string): Record<string, string> {
  return { 'claw-tenant': tenantId };
}
