/**
 * The guardrail rule set: the AWS, Kubernetes and GCP rules (rules/*.ts); this file only collects them.
 */
import { awsRules } from './rules/aws.js';
import type { GuardrailPolicy } from './rules/common.js';
import { k8sRules } from './rules/k8s.js';

export const PACK_NAME = 'claw-guardrails';

async function gcpRules(): Promise<GuardrailPolicy[]> {
  try {
    const mod = (await import('./rules/gcp.js' as string)) as { gcpRules?: GuardrailPolicy[] };
    return mod.gcpRules ?? [];
  } catch (err) {
    // Only "rules/gcp.ts does not exist yet" is tolerated; a broken file must fail loudly.
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes('rules/gcp')) return [];
    throw err;
  }
}

/** Every rule of the pack, for `target` (or all of them). */
export async function guardrails(target?: 'aws' | 'gcp'): Promise<GuardrailPolicy[]> {
  if (target === 'aws') return [...awsRules, ...k8sRules];
  const gcp = await gcpRules();
  if (target === 'gcp') return [...gcp, ...k8sRules];
  return [...awsRules, ...gcp, ...k8sRules];
}
