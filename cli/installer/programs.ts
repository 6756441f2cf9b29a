/**
 * The stacks as values: `stacks/aws.ts` `awsStack(config)` and `stacks/gcp.ts`
 * `gcpStack(config)`, and the offline synthesis `policies/infra/index.ts` `planOffline(config)`. Loaded on demand so that `claw plan`
 * on aws never pays for loading the gcp provider SDK, and the other way round.
 */
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import type { CloudTarget } from './workspace.js';
import type { Verdict } from '../../policies/infra/run.js';
import type { RecordedResource } from '../../policies/infra/synth.js';

/** A Pulumi inline program: declares resources, returns the stack outputs. */
export type StackProgram = () => Promise<Record<string, unknown>>;

/** What `planOffline` records and the guardrails' verdicts (policies/infra defines both). */
export type { RecordedResource, Verdict };

export interface OfflinePlan {
  target: CloudTarget;
  resources: RecordedResource[];
  byTenant: Record<string, { type: string; name: string }[]>;
  shared: { type: string; name: string }[];
  outputs: Record<string, unknown>;
  verdicts: Verdict[];
  passed: boolean;
}

const STACK_MODULES: Record<CloudTarget, { path: string; exportName: string }> = {
  aws: { path: '../../stacks/aws.js', exportName: 'awsStack' },
  gcp: { path: '../../stacks/gcp.js', exportName: 'gcpStack' },
};

async function importModule(path: string, what: string): Promise<Record<string, unknown>> {
  // A computed specifier: the stacks are separate units that may be absent in a partial checkout.
  const specifier = new URL(path, import.meta.url).href;
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(path.split('/').pop()!.replace('.js', ''))) {
      throw new ClawError('STACK_NOT_AVAILABLE', `${what} is not in this build of claw`, { hint: 'update claw, or use a target this build supports', cause: err });
    }
    throw err;
  }
}

/**
 * With CLAW_CLUSTER=<file>: the Kubernetes layer alone on the cluster that file describes
 * (stacks/cluster.ts, "bring your own cluster", preview); nothing is made in the cloud.
 */
export async function clusterProgram(config: ClawConfig, file: string): Promise<StackProgram> {
  const mod = await importModule('../../stacks/cluster.js', 'the bring-your-own-cluster stack');
  const inputs = (mod.readClusterInputs as (f: string) => unknown)(file);
  return async () => (await (mod.clusterStack as (c: ClawConfig, i: unknown) => Promise<Record<string, unknown>>)(config, inputs)) as Record<string, unknown>;
}

export async function stackProgram(target: CloudTarget, config: ClawConfig): Promise<StackProgram> {
  const { path, exportName } = STACK_MODULES[target];
  const mod = await importModule(path, `the ${target} stack`);
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    throw new ClawError('STACK_NOT_AVAILABLE', `stacks/${target}.ts does not export ${exportName}(config)`, { hint: 'this build of claw is incomplete; update it' });
  }
  return async () => (await (fn as (c: ClawConfig) => unknown)(config)) as Record<string, unknown>;
}

export type PlanOffline = (config: ClawConfig) => Promise<OfflinePlan>;

export async function loadPlanOffline(): Promise<PlanOffline> {
  const mod = await importModule('../../policies/infra/index.js', 'offline synthesis (policies/infra)');
  const fn = mod.planOffline;
  if (typeof fn !== 'function') {
    throw new ClawError('STACK_NOT_AVAILABLE', 'policies/infra/index.ts does not export planOffline(config)', { hint: 'this build of claw is incomplete; update it' });
  }
  return fn as PlanOffline;
}
