/**
 * Shared pieces of the guardrail rules: reading IAM/KMS policy documents (JSON strings or
 * objects, single values or lists) and the tags that say which tenant owns a resource.
 * Rules are plain @pulumi/policy objects, so the same code runs in the Pulumi policy
 * engine (policies/infra/main.ts) and offline over mocked stacks (policies/infra/run.ts).
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';

export type GuardrailPolicy = ResourceValidationPolicy | StackValidationPolicy;

import { TENANT_TAG } from '../../../contracts/aws.js';
export { TENANT_TAG };

export interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export const list = (value: unknown): string[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value.map(String) : [String(value)]);

/** The statements of a policy document; undefined when unknown (a preview's computed value) or unparsable. */
export function statements(policy: unknown): Statement[] | undefined {
  if (policy === undefined || policy === null || policy === '') return undefined;
  let doc: unknown = policy;
  if (typeof policy === 'string') {
    try {
      doc = JSON.parse(policy);
    } catch {
      return undefined;
    }
  }
  const raw = (doc as { Statement?: unknown }).Statement;
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]) as Statement[];
}

/** Every principal a statement names, flattened ('*' for the anonymous wildcard). */
export function principals(statement: Statement): string[] {
  const p = statement.Principal;
  if (p === '*') return ['*'];
  if (p && typeof p === 'object') return Object.values(p as Record<string, unknown>).flatMap(list);
  return [];
}

/** A wildcard action: '*' or '<service>:*'. (Prefix patterns like 'kms:Describe*' are allowed.) */
export const isWildcardAction = (action: string) => action === '*' || /^[a-z0-9-]+:\*$/i.test(action);

export function tagsOf(props: Record<string, any> | undefined): Record<string, string> {
  return { ...(props?.tagsAll ?? {}), ...(props?.tags ?? {}) };
}

export function tenantOf(props: Record<string, any> | undefined): string | undefined {
  return tagsOf(props)[TENANT_TAG];
}

/** `s3://bucket/path` → `bucket`. */
export function bucketOfLocation(location: unknown): string | undefined {
  const m = /^s3:\/\/([^/]+)/.exec(String(location ?? ''));
  return m?.[1];
}
