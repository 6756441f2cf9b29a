/**
 * The guardrail pack as a library: `planOffline` for `claw plan --offline` (INSTALLER),
 * the rules, and the offline runner. The Pulumi policy-pack entry point is main.ts.
 */
import { ClawError } from '../../core/errors.js';
import type { ClawConfig } from '../../core/config/schema.js';
import { awsStack, validateAwsConfig } from '../../stacks/aws.js';
import { guardrails } from './pack.js';
import { runRules, type Verdict } from './run.js';
import { synthesize, type RecordedResource } from './synth.js';

export { guardrails, PACK_NAME } from './pack.js';
export { formatVerdict, resourceArgs, runRules, type Verdict } from './run.js';
export { synthesize, type RecordedResource, type SynthResult } from './synth.js';

export interface PlannedResource {
  type: string;
  name: string;
}

export interface OfflinePlan {
  target: 'aws' | 'gcp';
  /** Every resource the stack declares (components included), with resolved inputs. */
  resources: RecordedResource[];
  /** Cloud resources per tenant (components left out). */
  byTenant: Record<string, PlannedResource[]>;
  /** Cloud resources shared by all tenants. */
  shared: PlannedResource[];
  outputs: Record<string, unknown>;
  /** Violations only; empty when every rule passes. */
  verdicts: Verdict[];
  /** Names of the rules that were evaluated. */
  rules: string[];
  /** No mandatory violation. */
  passed: boolean;
}

type StackProgram = (config: ClawConfig) => unknown;

async function programFor(config: ClawConfig): Promise<{ target: 'aws' | 'gcp'; program: StackProgram }> {
  if (config.target === 'aws') {
    validateAwsConfig(config); // fail before anything is declared, even the mocked stack
    return { target: 'aws', program: awsStack };
  }
  if (config.target === 'gcp') {
    const mod = (await import('../../stacks/gcp.js' as string)) as { gcpStack?: StackProgram; validateGcpConfig?: (c: ClawConfig) => unknown };
    if (!mod.gcpStack) throw new ClawError('PLAN_UNAVAILABLE', 'stacks/gcp.ts does not export gcpStack', { hint: 'update claw; this build cannot plan gcp installs' });
    mod.validateGcpConfig?.(config);
    return { target: 'gcp', program: mod.gcpStack };
  }
  throw new ClawError('PLAN_TARGET_LOCAL', "the local target has no cloud resources to plan", { hint: "set 'target: aws' or 'target: gcp' in claw.yaml, or use 'claw up' for local" });
}

/** Synthesize the install with mocks (no cloud, no Pulumi CLI) and run the guardrails over it. */
export async function planOffline(config: ClawConfig): Promise<OfflinePlan> {
  const { target, program } = await programFor(config);
  const { resources, outputs } = await synthesize(() => program(config) as Record<string, unknown>, { project: 'claw', stack: config.name });
  const rules = await guardrails(target);
  const verdicts = await runRules(resources, rules);
  const cloud = resources.filter((r) => r.custom && !r.type.startsWith('pulumi:'));
  const byTenant: Record<string, PlannedResource[]> = Object.fromEntries(config.tenants.map((t) => [t.id, []]));
  const shared: PlannedResource[] = [];
  for (const r of cloud) (r.tenant ? (byTenant[r.tenant] ??= []) : shared).push({ type: r.type, name: r.name });
  return {
    target,
    resources,
    byTenant,
    shared,
    outputs,
    verdicts,
    rules: rules.map((r) => r.name),
    passed: !verdicts.some((v) => v.enforcement === 'mandatory'),
  };
}
