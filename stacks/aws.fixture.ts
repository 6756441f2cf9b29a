/**
 * claw.yaml texts for an AWS install with N tenants, for the stack's tests, the guardrail
 * tests and bench/synth.bench.ts. They go through the real loader (parseConfig), so what
 * is synthesized is exactly what a user's file would produce.
 */
import { parseConfig } from '../core/config/load.js';
import type { ClawConfig } from '../core/config/schema.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
export const TEST_CERT_ARN = 'arn:aws:acm:eu-west-1:111122223333:certificate/0f6e9a4c-2b1d-4c55-9a6e-3d2f1b0c9e11';
export const BYOK_KEY_ARN = 'arn:aws:kms:eu-west-1:444455556666:key/7b0c2d1e-9f3a-4b5c-8d6e-1a2b3c4d5e6f';

export interface AwsFixtureOptions {
  /** Tenant ids; default t001..tNNN. */
  ids?: string[];
  /** Tenants (by id) that bring their own key / bucket. */
  byok?: Record<string, string>;
  byob?: Record<string, { name: string; prefix?: string }>;
  /** Tenants (by id) with `onRemove: shred`. */
  shred?: string[];
  region?: string;
  /** aws.authorizedNetworks (CIDRs that may reach the EKS API's public endpoint). */
  authorizedNetworks?: string[];
  extra?: string;
}

export function awsConfigYaml(tenants: number, opts: AwsFixtureOptions = {}): string {
  const ids = opts.ids ?? Array.from({ length: tenants }, (_, i) => `t${String(i + 1).padStart(3, '0')}`);
  const tenantLines = ids.map((id) => {
    const key = opts.byok?.[id] ? `{ type: byok, ref: '${opts.byok[id]}' }` : '{ type: managed }';
    const b = opts.byob?.[id];
    const bucket = b ? `{ type: byob, name: ${b.name}${b.prefix ? `, prefix: '${b.prefix}'` : ''} }` : '{ type: managed }';
    return `  - { id: ${id}, name: Tenant ${id}, key: ${key}, bucket: ${bucket}${opts.shred?.includes(id) ? ', onRemove: shred' : ''} }`;
  });
  return [
    'apiVersion: claw.dev/v1',
    'name: prod',
    'target: aws',
    'aws:',
    `  region: ${opts.region ?? 'eu-west-1'}`,
    `  certificateArn: ${TEST_CERT_ARN}`,
    ...(opts.authorizedNetworks ? [`  authorizedNetworks: [${opts.authorizedNetworks.map((c) => `'${c}'`).join(', ')}]`] : []),
    'images:',
    `  worker: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/claw/worker@${digest('a')}`,
    `  gateway: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/claw/gateway@${digest('b')}`,
    `  codecServer: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/claw/codec-server@${digest('c')}`,
    ...(opts.extra ? [opts.extra] : []),
    ids.length ? 'tenants:' : 'tenants: []',
    ...tenantLines,
    '',
  ].join('\n');
}

export function awsConfig(tenants: number, opts: AwsFixtureOptions = {}): ClawConfig {
  return parseConfig(awsConfigYaml(tenants, opts), 'claw.yaml');
}
