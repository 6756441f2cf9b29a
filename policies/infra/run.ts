/**
 * Running the guardrail rules outside the Pulumi engine: over the resources a mocked
 * stack registered (policies/infra/synth.ts), or over one hand-built resource in a test.
 * Resource rules see a resource's inputs, stack rules see every resource's outputs —
 * as in the engine.
 */
import type { PolicyResource, ResourceValidationArgs, StackValidationArgs } from '@pulumi/policy';
import type { GuardrailPolicy } from './rules/common.js';
import type { RecordedResource } from './synth.js';

export interface Verdict {
  rule: string;
  /** URN of the offending resource. */
  resource: string;
  type: string;
  name: string;
  tenant?: string;
  message: string;
  enforcement: 'mandatory' | 'advisory';
}

type Typed = { __pulumiType?: string };
const isTypeOf = (type: string) => (cls: unknown) => (cls as Typed).__pulumiType === type;

/** A `ResourceValidationArgs` as the engine would pass it (tests build these directly). */
export function resourceArgs(resource: { type: string; props: Record<string, any>; name?: string; urn?: string }): ResourceValidationArgs {
  const name = resource.name ?? 'test';
  const isType = isTypeOf(resource.type);
  return {
    type: resource.type,
    props: resource.props,
    urn: resource.urn ?? `urn:pulumi:test::claw::${resource.type}::${name}`,
    name,
    opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
    stackTags: new Map(),
    isType: isType as ResourceValidationArgs['isType'],
    asType: ((cls: unknown) => (isType(cls) ? resource.props : undefined)) as ResourceValidationArgs['asType'],
    getConfig: (() => ({})) as ResourceValidationArgs['getConfig'],
    notApplicable: ((reason?: string) => {
      throw new Error(`not applicable: ${reason ?? ''}`);
    }) as ResourceValidationArgs['notApplicable'],
  } as ResourceValidationArgs;
}

function policyResource(r: RecordedResource): PolicyResource {
  const isType = isTypeOf(r.type);
  return {
    type: r.type,
    props: r.state,
    urn: r.urn,
    name: r.name,
    opts: resourceArgs({ type: r.type, props: r.state }).opts,
    dependencies: [],
    propertyDependencies: {},
    isType: isType as PolicyResource['isType'],
    asType: ((cls: unknown) => (isType(cls) ? r.state : undefined)) as PolicyResource['asType'],
  } as PolicyResource;
}

/** Every violation the rules find; an empty list means the resources pass. */
export async function runRules(resources: RecordedResource[], rules: GuardrailPolicy[]): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const custom = resources.filter((r) => r.custom);
  for (const rule of rules) {
    const enforcement = rule.enforcementLevel === 'advisory' ? 'advisory' : 'mandatory';
    if (rule.enforcementLevel === 'disabled') continue;
    const add = (target: RecordedResource | undefined, urn: string, message: string) =>
      verdicts.push({ rule: rule.name, resource: urn, type: target?.type ?? 'unknown', name: target?.name ?? urn, tenant: target?.tenant, message, enforcement });
    if ('validateResource' in rule && rule.validateResource) {
      const validators = Array.isArray(rule.validateResource) ? rule.validateResource : [rule.validateResource];
      for (const r of custom) {
        const args = resourceArgs({ type: r.type, props: r.inputs, name: r.name, urn: r.urn });
        for (const validate of validators) await validate(args, (message) => add(r, r.urn, message));
      }
    }
    if ('validateStack' in rule) {
      const args = {
        resources: custom.map(policyResource),
        stackTags: new Map(),
        getConfig: () => ({}),
        notApplicable: (reason?: string) => {
          throw new Error(`not applicable: ${reason ?? ''}`);
        },
      } as unknown as StackValidationArgs;
      await rule.validateStack(args, (message, urn) => add(urn ? byUrn.get(urn) : undefined, urn ?? '(stack)', message));
    }
  }
  return verdicts;
}

/** One line per verdict: `rule: message (type name)`. */
export function formatVerdict(v: Verdict): string {
  return `[${v.enforcement}] ${v.rule}: ${v.message} — ${v.type} '${v.name}'${v.tenant ? ` (tenant ${v.tenant})` : ''}`;
}
