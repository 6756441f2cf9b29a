/**
 * The file `claw plan --out plan.json` writes and `claw up --plan plan.json` applies.
 * It wraps the engine's own plan (a Pulumi update plan) with what claw needs to refuse a
 * plan that does not belong here: the install, the target and a digest of claw.yaml as it
 * was when the plan was made. Pulumi itself then refuses any step the plan did not allow.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import type { PreviewResult } from './engine.js';
import type { StackSpec } from './workspace.js';

export const SavedPlanSchema = z.object({
  kind: z.literal('claw.plan'),
  version: z.literal(1),
  install: z.string(),
  target: z.enum(['aws', 'gcp']),
  engine: z.string(),
  createdAt: z.string(),
  configDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  changes: z.record(z.string(), z.number()),
  steps: z.array(z.object({ urn: z.string(), type: z.string(), op: z.string(), diff: z.array(z.string()).optional() })),
  enginePlan: z.unknown(),
});
export type SavedPlan = z.output<typeof SavedPlanSchema>;

/** A digest of the validated config (not the file's bytes: comments do not change a plan). */
export function configDigest(config: ClawConfig): string {
  const canonical = JSON.stringify(config, (_key, value) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : value,
  );
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

export function writePlan(file: string, spec: StackSpec, config: ClawConfig, engine: string, preview: PreviewResult): SavedPlan {
  const plan: SavedPlan = {
    kind: 'claw.plan',
    version: 1,
    install: spec.install,
    target: spec.target,
    engine,
    createdAt: new Date().toISOString(),
    configDigest: configDigest(config),
    changes: preview.changes as Record<string, number>,
    steps: preview.steps.filter((s) => s.op !== 'same'),
    enginePlan: preview.enginePlan,
  };
  writeFileSync(file, `${JSON.stringify(plan, null, 2)}\n`, { mode: 0o600 });
  return plan;
}

export function readPlan(file: string, spec: StackSpec, config: ClawConfig): SavedPlan {
  if (!existsSync(file)) {
    throw new ClawError('PLAN_NOT_FOUND', `no plan file at ${file}`, { hint: "make one with 'claw plan --out <file>'" });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new ClawError('PLAN_INVALID', `${file} is not JSON`, { hint: "make a new plan with 'claw plan --out <file>'" });
  }
  const parsed = SavedPlanSchema.safeParse(raw);
  if (!parsed.success || parsed.data.enginePlan === undefined) {
    throw new ClawError('PLAN_INVALID', `${file} is not a claw plan`, { hint: "make a new plan with 'claw plan --out <file>'" });
  }
  const plan = parsed.data;
  if (plan.install !== spec.install || plan.target !== spec.target) {
    throw new ClawError('PLAN_WRONG_INSTALL', `${file} was made for install '${plan.install}' (${plan.target}), not '${spec.install}' (${spec.target})`, {
      hint: 'apply it with the claw.yaml it was made from (--config), or make a new plan',
    });
  }
  if (plan.configDigest !== configDigest(config)) {
    throw new ClawError('PLAN_STALE', `claw.yaml changed since ${file} was made (${plan.createdAt})`, {
      hint: "make a new plan with 'claw plan --out <file>', review it, and apply that",
    });
  }
  return plan;
}
