/**
 * `claw plan --offline`: what the stack would declare, synthesized under Pulumi's mock
 * runtime (AWS's `planOffline`, policies/infra) — no cloud, no credentials, no Pulumi CLI —
 * with the guardrail pack's verdicts. It is a synthesis, not a cloud preview: it cannot know
 * what already exists, so it shows declarations, never creates/updates/deletes.
 *
 * `--json` prints one `plan.offline` object whose shape is `OfflinePlanOutputSchema`,
 * published as JSON Schema in cli/installer/schemas/plan-offline.schema.json.
 */
import { z } from 'zod';
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import { table } from './command-kit.js';
import type { OfflinePlan, RecordedResource } from './programs.js';

const VerdictSchema = z
  .object({
    rule: z.string(),
    /** The resource's URN. */
    resource: z.string(),
    type: z.string(),
    /** The resource's name, and its tenant when it belongs to one. */
    name: z.string(),
    tenant: z.string().optional(),
    message: z.string(),
    enforcement: z.enum(['mandatory', 'advisory']),
  })
  .strict();

const ResourceRefSchema = z.object({ type: z.string(), name: z.string() });

export const OfflinePlanOutputSchema = z
  .object({
    type: z.literal('plan.offline'),
    /** Always 'synthesis': declarations from the mock runtime, not a diff against a cloud. */
    kind: z.literal('synthesis'),
    note: z.string(),
    install: z.string(),
    target: z.enum(['aws', 'gcp']),
    resourceCount: z.number().int().nonnegative(),
    byType: z.array(z.object({ type: z.string(), count: z.number().int().positive() })),
    tenants: z.array(z.object({ id: z.string(), resources: z.array(ResourceRefSchema) })),
    shared: z.array(ResourceRefSchema),
    resources: z.array(
      z.object({
        urn: z.string(),
        type: z.string(),
        name: z.string(),
        tenant: z.string().optional(),
        /** Security-relevant inputs only (encryption, keys, public access, policies, sandboxing), values summarized. */
        security: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
      }),
    ),
    guardrails: z.object({
      passed: z.boolean(),
      mandatory: z.number().int().nonnegative(),
      advisory: z.number().int().nonnegative(),
      verdicts: z.array(VerdictSchema),
    }),
    /** Values claw.yaml left to the install that the synthesis filled in (`aws.domain=...`); [] when none. */
    placeholders: z.array(z.string()),
  })
  .strict();

export type OfflinePlanOutput = z.output<typeof OfflinePlanOutputSchema>;

export function offlinePlanJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://claw.dev/schemas/plan-offline.schema.json',
    title: 'claw plan --offline --json',
    description: 'One line of output from `claw plan --offline --json`: a synthesis under the Pulumi mock runtime, not a cloud preview.',
    ...(z.toJSONSchema(OfflinePlanOutputSchema, { io: 'output' }) as Record<string, unknown>),
  };
}

/** Input keys that matter to a security reviewer. */
const SECURITY_KEY = /encrypt|kms|sse|public|policy|rotation|ssl|tls|https|runtimeclass|automount|privileged|cidr|deletionprotection|acl|securitycontext|toleration|nodeselector|retain|versioning|iam|role|principal|seal|labels?$|tags?$/i;
const MAX_DEPTH = 6;

function summarize(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    // Policy documents arrive as JSON strings: say what they allow, not the whole text.
    if (/^\s*\{[\s\S]*"Statement"/.test(value)) {
      try {
        const doc = JSON.parse(value) as { Statement?: { Effect?: string; Principal?: unknown; Action?: unknown }[] };
        const statements = doc.Statement ?? [];
        const principals = new Set(statements.flatMap((s) => flatten(s.Principal)));
        return `policy: ${statements.length} statement(s); principals ${[...principals].join(', ') || '(none)'}`;
      } catch {
        // not JSON after all
      }
    }
    return value.length > 120 ? `${value.slice(0, 117)}...` : value;
  }
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function flatten(principal: unknown): string[] {
  if (principal === undefined) return [];
  if (typeof principal === 'string') return [principal];
  if (Array.isArray(principal)) return principal.flatMap(flatten);
  if (typeof principal === 'object' && principal) return Object.values(principal).flatMap(flatten);
  return [String(principal)];
}

/** Security-relevant leaf inputs as `path: summary` (e.g. `serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault.sseAlgorithm: aws:kms`). */
export function securityInputs(inputs: Record<string, unknown>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  const walk = (value: unknown, path: string[], relevant: boolean) => {
    if (path.length > MAX_DEPTH) return;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      // Labels/tags maps are kept whole: claw:tenant attribution is what matters there.
      if (relevant && /labels?$|tags?$/i.test(path[path.length - 1] ?? '')) {
        out[path.join('.')] = summarize(value);
        return;
      }
      for (const [k, v] of entries) walk(v, [...path, k], relevant || SECURITY_KEY.test(k));
      return;
    }
    if (Array.isArray(value) && value.some((v) => v && typeof v === 'object')) {
      value.forEach((v, i) => walk(v, [...path, String(i)], relevant));
      return;
    }
    if (relevant && path.length) out[path.join('.')] = summarize(value);
  };
  walk(inputs, [], false);
  return out;
}

export function offlineOutput(config: ClawConfig, plan: OfflinePlan, placeholders: string[] = []): OfflinePlanOutput {
  const counts = new Map<string, number>();
  for (const r of plan.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  const mandatory = plan.verdicts.filter((v) => v.enforcement === 'mandatory').length;
  return {
    type: 'plan.offline',
    kind: 'synthesis',
    note: 'synthesized with the Pulumi mock runtime: no cloud was contacted; this lists what the stack declares, not what a cloud preview would change',
    install: config.name,
    target: plan.target,
    resourceCount: plan.resources.length,
    byType: [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([type, count]) => ({ type, count })),
    tenants: Object.entries(plan.byTenant)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, resources]) => ({ id, resources: resources.map(({ type, name }) => ({ type, name })) })),
    shared: plan.shared.map(({ type, name }) => ({ type, name })),
    resources: plan.resources.map((r: RecordedResource) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      ...(r.tenant ? { tenant: r.tenant } : {}),
      security: securityInputs(r.inputs ?? {}),
    })),
    guardrails: { passed: mandatory === 0, mandatory, advisory: plan.verdicts.length - mandatory, verdicts: plan.verdicts },
    placeholders,
  };
}

export function renderOffline(out: OfflinePlanOutput, options: { details?: boolean } = {}): string {
  const lines: string[] = [];
  lines.push(`SYNTHESIS — not a cloud preview. ${out.note}.`);
  lines.push(`install ${out.install} · target ${out.target} · ${out.resourceCount} resources declared`, '');
  if (out.placeholders.length > 0) {
    lines.push(`Placeholders (not in claw.yaml; a real install sets them): ${out.placeholders.join(', ')}`, '');
  }
  lines.push('Resources by type');
  lines.push(table(['TYPE', 'COUNT'], out.byType.map((t) => [t.type, String(t.count)])).replace(/^/gm, '  '), '');
  lines.push('Per tenant');
  for (const tenant of out.tenants) {
    lines.push(`  ${tenant.id} (${tenant.resources.length} resources)`);
    const security = out.resources.filter((r) => r.tenant === tenant.id && Object.keys(r.security).length > 0);
    for (const r of security) {
      const pairs = Object.entries(r.security).slice(0, options.details ? undefined : 4).map(([k, v]) => `${k}=${v}`);
      lines.push(`    ${r.name} (${r.type})  ${pairs.join('  ')}`);
    }
  }
  if (out.tenants.length === 0) lines.push('  (no tenants in claw.yaml)');
  lines.push('', `Shared (${out.shared.length} resources)`);
  for (const r of out.resources.filter((x) => !x.tenant && Object.keys(x.security).length > 0)) {
    const pairs = Object.entries(r.security).slice(0, options.details ? undefined : 3).map(([k, v]) => `${k}=${v}`);
    lines.push(`  ${r.name} (${r.type})  ${pairs.join('  ')}`);
  }
  const g = out.guardrails;
  lines.push('', `Guardrails: ${g.passed ? 'PASSED' : 'FAILED'} (${g.mandatory} mandatory, ${g.advisory} advisory violation(s))`);
  for (const v of g.verdicts) lines.push(`  [${v.enforcement}] ${v.rule}: ${v.resource.split('::').pop()} (${v.type}): ${v.message}`);
  if (!options.details) lines.push('', '(--details shows every security-relevant input)');
  return lines.join('\n');
}

/** With --target on a config whose target differs, plan that target using its section. */
/** An install's config for an offline synthesis, and the values that had to be filled in. */
export interface OfflineConfig {
  config: ClawConfig & { target: 'aws' | 'gcp' };
  placeholders: string[];
}

const PLACEHOLDER_DIGEST = `sha256:${'0'.repeat(64)}`;

/**
 * The config to synthesize: claw.yaml with `target` set to the one asked for. A config
 * planned for a target it is not set to (the starter, `target: local`, with `--target aws`)
 * may lack what only a real install has (a region, a domain, image digests): the synthesis
 * fills those with placeholders and names each one, so `claw plan --offline --target aws`
 * works on the starter and never passes a placeholder off as the install's own value. A
 * config already set to that target gets no placeholders: it must be complete, as the live
 * plan would require.
 */
export function withTarget(config: ClawConfig, target: 'aws' | 'gcp' | undefined): OfflineConfig {
  const chosen = target ?? config.target;
  if (chosen !== 'aws' && chosen !== 'gcp') {
    throw new ClawError('OFFLINE_TARGET_REQUIRED', `claw.yaml has target '${config.target}'; an offline plan is for aws or gcp`, {
      hint: "pass --target aws or --target gcp (placeholders stand in for a missing 'aws:' or 'gcp:' section)",
    });
  }
  const next: ClawConfig & { target: 'aws' | 'gcp' } = { ...config, target: chosen };
  if (config.target === chosen) return { config: next, placeholders: [] };
  const placeholders: string[] = [];
  const fill = <T>(path: string, value: T): T => {
    placeholders.push(`${path}=${String(value)}`);
    return value;
  };
  if (chosen === 'aws') {
    const aws = config.aws ?? { region: fill('aws.region', 'us-east-1' as const), availabilityZones: 3, vpcCidr: '10.40.0.0/16' };
    next.aws = aws.domain || aws.certificateArn ? aws : { ...aws, domain: fill('aws.domain', 'claw.example.invalid') };
  } else {
    const gcp = config.gcp ?? { project: fill('gcp.project', 'claw-offline-plan'), region: fill('gcp.region', 'us-central1' as const) };
    next.gcp = gcp.domain ? gcp : { ...gcp, domain: fill('gcp.domain', 'claw.example.invalid') };
  }
  const registry = 'registry.invalid/claw';
  const images = { ...config.images };
  for (const [component, name] of [['worker', 'worker'], ['gateway', 'gateway'], ['codecServer', 'codec-server']] as const) {
    images[component] ??= fill(`images.${component}`, `${registry}/${name}@${PLACEHOLDER_DIGEST}`);
  }
  next.images = images;
  return { config: next, placeholders };
}
