/**
 * Names and tags shared by the AWS components. Physical names are deterministic (a pure
 * function of claw.yaml), fit the service's length limit, and stay readable: when a name
 * is too long it is cut and a short hash of the full name keeps it unique.
 */
import { createHash } from 'node:crypto';

/** The tag every tenant-owned resource carries; guardrails and `claw plan` group by it. */
export const TENANT_TAG = 'claw:tenant';
/** On a tenant key marked `onRemove: shred`: it is deleted when the tenant leaves the stack. */
export const ON_REMOVE_TAG = 'claw:on-remove';
export const INSTALL_TAG = 'claw:install';

// Kubernetes names the clusters share with components/k8s (one place; see there).
export { OPENBAO_NAMESPACE, POOL_LABEL, POOLS, RUNTIME_NAMESPACE, SANDBOX_TAINT, SERVICE_ACCOUNTS } from './kubernetes.js';
/** The ServiceAccount the OpenBao chart runs as (components/k8s/openbao.ts). */
export const OPENBAO_SERVICE_ACCOUNT = 'openbao';

export function shortHash(text: string, length = 6): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * Join `parts` with `separator`; if the result exceeds `max`, keep a prefix and append
 * `<separator><hash>` of the full name so two long names never collide.
 */
export function physicalName(parts: string[], max: number, separator = '-'): string {
  const full = parts.filter((p) => p.length > 0).join(separator);
  if (full.length <= max) return full;
  const hash = shortHash(full);
  const keep = full.slice(0, max - hash.length - separator.length).replace(/[-_.]+$/, '');
  return `${keep}${separator}${hash}`;
}

export function installTags(install: string): Record<string, string> {
  return { [INSTALL_TAG]: install, 'claw:managed-by': 'pulumi' };
}

export function tenantTags(install: string, tenantId: string): Record<string, string> {
  return { ...installTags(install), [TENANT_TAG]: tenantId };
}
