/**
 * claw.yaml texts for a GCP install with N tenants, for the stack's tests, the guardrail
 * tests, `claw plan --offline` tests and bench/synth.bench.ts. They go through the real
 * loader (parseConfig), so what is synthesized is exactly what a user's file would produce.
 */
import { parseConfig } from '../core/config/load.js';
import type { ClawConfig } from '../core/config/schema.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
export const TEST_PROJECT = 'acme-claw-prod';
export const TEST_DOMAIN = 'claw.acme.example';
/** A customer's own Cloud KMS key, in the install's region, in the customer's project. */
export const BYOK_KEY_REF = 'projects/globex-security/locations/europe-west1/keyRings/claw/cryptoKeys/tenant-root';

export interface GcpFixtureOptions {
  /** Tenant ids; default t001..tNNN. */
  ids?: string[];
  /** Tenants (by id) that bring their own key / bucket. */
  byok?: Record<string, string>;
  byob?: Record<string, { name: string; prefix?: string }>;
  /** Tenants (by id) with `onRemove: shred`. */
  shred?: string[];
  region?: string;
  /** `null` leaves gcp.domain out. */
  domain?: string | null;
  /** gcp.authorizedNetworks (CIDRs that may reach the GKE control plane). */
  authorizedNetworks?: string[];
  extra?: string;
}

export function gcpConfigYaml(tenants: number, opts: GcpFixtureOptions = {}): string {
  const ids = opts.ids ?? Array.from({ length: tenants }, (_, i) => `t${String(i + 1).padStart(3, '0')}`);
  const tenantLines = ids.map((id) => {
    const key = opts.byok?.[id] ? `{ type: byok, ref: '${opts.byok[id]}' }` : '{ type: managed }';
    const b = opts.byob?.[id];
    const bucket = b ? `{ type: byob, name: ${b.name}${b.prefix ? `, prefix: '${b.prefix}'` : ''} }` : '{ type: managed }';
    return `  - { id: ${id}, name: Tenant ${id}, key: ${key}, bucket: ${bucket}${opts.shred?.includes(id) ? ', onRemove: shred' : ''} }`;
  });
  const registry = `europe-west1-docker.pkg.dev/${TEST_PROJECT}/claw`;
  return [
    'apiVersion: claw.dev/v1',
    'name: prod',
    'target: gcp',
    'gcp:',
    `  project: ${TEST_PROJECT}`,
    `  region: ${opts.region ?? 'europe-west1'}`,
    ...(opts.domain === null ? [] : [`  domain: ${opts.domain ?? TEST_DOMAIN}`]),
    ...(opts.authorizedNetworks ? [`  authorizedNetworks: [${opts.authorizedNetworks.join(', ')}]`] : []),
    'images:',
    `  worker: ${registry}/worker@${digest('a')}`,
    `  gateway: ${registry}/gateway@${digest('b')}`,
    `  codecServer: ${registry}/codec-server@${digest('c')}`,
    ...(opts.extra ? [opts.extra] : []),
    ids.length ? 'tenants:' : 'tenants: []',
    ...tenantLines,
    '',
  ].join('\n');
}

export function gcpConfig(tenants: number, opts: GcpFixtureOptions = {}): ClawConfig {
  return parseConfig(gcpConfigYaml(tenants, opts), 'claw.yaml');
}
