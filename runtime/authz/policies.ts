/**
 * Loading a tenant's Cedar policies: the base policies, the grants compiled from
 * claw.yaml and the tenant's own directory, each parsed and validated (strict mode)
 * against the install's schema. Every syntax or schema error names its file, line and
 * column; nothing half-valid is ever returned.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ADMIN_ACTIONS, ADMIN_GROUP, ADMIN_READ_GROUP, isAdminAction } from '../../core/config/access.js';
import { ClawError } from '../../core/errors.js';
import type { ClawConfig } from '../../core/config/schema.js';
import { BASE_POLICIES_FILE, basePolicies, buildSchema, compileGrants, compileRoles, toolAction } from '../../policies/cedar/compile.js';

export interface PolicySource {
  /** Shown in errors: a path relative to the working directory, or `claw.yaml#grants/<tenant>`. */
  file: string;
  text: string;
}

export interface LoadedPolicy {
  id: string;
  text: string;
  effect: 'permit' | 'forbid';
  annotations: Record<string, string>;
  file: string;
  line: number;
  column: number;
  /** Exact principal (`Agent::"acme/helper"`) the policy is scoped to, or '*' for any other scope. */
  principal: string;
  /**
   * The principal scope in full: `principal == E`, `principal in G`, `principal is T`,
   * `principal is T in G`, or none. Keys are uid keys (`Role::"acme/ops"`).
   */
  principalScope: PrincipalScope;
  /** Actions the scope can match ('*' for any); `in Action::"invokeTool"` is kept as that group. */
  actions: '*' | { ids: string[]; groups: string[] };
  /** `@shadow` (log-only): evaluated and recorded, never enforced. */
  shadow: boolean;
}

export type PrincipalScope =
  | { op: 'any' }
  | { op: '=='; entity: string }
  | { op: 'in'; entity: string }
  | { op: 'is'; type: string; in?: string };

export interface PolicyBundle {
  schema: string;
  policies: LoadedPolicy[];
  warnings: string[];
}

export interface PolicyProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

// ------------------------------------------------------------------ positions

/** 1-based line and column of a byte offset (Cedar reports UTF-8 byte offsets). */
export function lineColumn(text: string, byteOffset: number): { line: number; column: number } {
  const before = Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8');
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

function problem(file: string, text: string, err: cedar.DetailedError, base = 0): PolicyProblem {
  const loc = err.sourceLocations?.[0];
  const { line, column } = lineColumn(text, base + (loc?.start ?? 0));
  const label = loc?.label ? ` (${loc.label})` : '';
  const help = err.help ? `; ${err.help}` : '';
  return { file, line, column, message: `${err.message}${label}${help}` };
}

export const formatProblem = (p: PolicyProblem) => `${p.file}:${p.line}:${p.column}: ${p.message}`;

function rejected(code: string, problems: PolicyProblem[], hint: string): ClawError {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new ClawError(code, `${formatProblem(first)}${more}`, { hint, details: { problems } });
}

// ------------------------------------------------------------------ schema

/** Check a schema text; throws SCHEMA_INVALID with line and column. */
export function checkSchema(schema: string, file = 'schema'): void {
  const answer = cedar.checkParseSchema(schema);
  if (answer.type === 'failure') {
    throw rejected('CEDAR_SCHEMA_INVALID', answer.errors.map((e) => problem(file, schema, e)), 'fix the Cedar schema at that line');
  }
}

// ------------------------------------------------------------------ policies

function annotationsOf(json: cedar.PolicyJson): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(json.annotations ?? {})) out[k] = v ?? '';
  return out;
}

const entityKey = (e: cedar.EntityUidJson) => {
  const u = '__entity' in e ? e.__entity : e;
  return `${u.type}::${JSON.stringify(u.id)}`;
};
const actionId = (e: cedar.EntityUidJson) => ('__entity' in e ? e.__entity.id : e.id);

function principalScopeOf(p: cedar.PrincipalConstraint): PrincipalScope {
  if (p.op === '==' && 'entity' in p) return { op: '==', entity: entityKey(p.entity) };
  if (p.op === 'in' && 'entity' in p) return { op: 'in', entity: entityKey(p.entity) };
  if (p.op === 'is') return p.in && 'entity' in p.in ? { op: 'is', type: p.entity_type, in: entityKey(p.in.entity) } : { op: 'is', type: p.entity_type };
  // `All`, or a slot (templates are rejected before this): can match any principal.
  return { op: 'any' };
}

function scopeOf(json: cedar.PolicyJson): Pick<LoadedPolicy, 'principal' | 'principalScope' | 'actions'> {
  const p = json.principal;
  const principal = p.op === '==' && 'entity' in p ? entityKey(p.entity) : '*';
  const a = json.action;
  let actions: LoadedPolicy['actions'] = '*';
  if (a.op === '==' && 'entity' in a) actions = { ids: [actionId(a.entity)], groups: [] };
  else if (a.op === 'in') {
    const list = 'entities' in a ? a.entities : [a.entity];
    // `in X` matches X itself and, for a group, its members.
    actions = { ids: list.map(actionId), groups: list.map(actionId) };
  }
  return { principal, principalScope: principalScopeOf(p), actions };
}

/**
 * Parse and validate policy sources against `schema`. Throws one ClawError
 * (CEDAR_POLICY_SYNTAX, CEDAR_POLICY_SCHEMA or CEDAR_POLICY_DUPLICATE_ID) listing every
 * problem with its file, line and column.
 */
export function compilePolicies(schema: string, sources: PolicySource[]): PolicyBundle {
  checkSchema(schema);
  const policies: LoadedPolicy[] = [];
  const warnings: string[] = [];
  const syntax: PolicyProblem[] = [];
  const invalid: PolicyProblem[] = [];
  for (const source of sources) {
    const parts = cedar.policySetTextToParts(source.text);
    if (parts.type === 'failure') {
      syntax.push(...parts.errors.map((e) => problem(source.file, source.text, e)));
      continue;
    }
    if (parts.policy_templates.length > 0) {
      invalid.push({ file: source.file, line: 1, column: 1, message: 'policy templates are not supported; write static policies' });
      continue;
    }
    const answer = cedar.validate({ schema, policies: { staticPolicies: source.text }, validationSettings: { mode: 'strict' } });
    if (answer.type === 'failure') {
      syntax.push(...answer.errors.map((e) => problem(source.file, source.text, e)));
      continue;
    }
    invalid.push(...answer.validationErrors.map((v) => problem(source.file, source.text, v.error)));
    warnings.push(...answer.validationWarnings.map((v) => formatProblem(problem(source.file, source.text, v.error))));
    let cursor = 0;
    parts.policies.forEach((text, n) => {
      const at = source.text.indexOf(text, cursor);
      const offset = at >= 0 ? at : cursor;
      cursor = at >= 0 ? at + text.length : cursor;
      const json = cedar.policyToJson(text);
      if (json.type === 'failure') {
        syntax.push(...json.errors.map((e) => problem(source.file, source.text, e, Buffer.byteLength(source.text.slice(0, offset)))));
        return;
      }
      const annotations = annotationsOf(json.json);
      const { line, column } = lineColumn(source.text, Buffer.byteLength(source.text.slice(0, offset)));
      policies.push({
        id: annotations.id || `${source.file}#${n}`,
        text,
        effect: json.json.effect,
        annotations,
        file: source.file,
        line,
        column,
        ...scopeOf(json.json),
        shadow: 'shadow' in annotations,
      });
    });
  }
  if (syntax.length) throw rejected('CEDAR_POLICY_SYNTAX', syntax, 'fix the Cedar syntax at that line; the policies in force are unchanged');
  if (invalid.length) {
    throw rejected('CEDAR_POLICY_SCHEMA', invalid, "fix the policy to match the schema ('claw policy schema' prints it); the policies in force are unchanged");
  }
  const seen = new Map<string, LoadedPolicy>();
  const duplicates: PolicyProblem[] = [];
  for (const p of policies) {
    const first = seen.get(p.id);
    if (first) duplicates.push({ file: p.file, line: p.line, column: p.column, message: `policy id '${p.id}' is already used at ${first.file}:${first.line}` });
    else seen.set(p.id, p);
  }
  if (duplicates.length) throw rejected('CEDAR_POLICY_DUPLICATE_ID', duplicates, 'give each policy a unique @id("...")');
  return { schema, policies, warnings };
}

// ------------------------------------------------------------------ sources of a tenant

const display = (file: string) => {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
};

/** The *.cedar files of a directory, sorted (a missing directory is an error: it is named in claw.yaml). */
export function readPolicyDir(dir: string): PolicySource[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ClawError('CEDAR_POLICY_DIR_MISSING', `policy directory ${display(dir)} does not exist`, {
      hint: "create it, or fix the tenant's 'policies:' in claw.yaml (relative to claw.yaml)",
    });
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cedar'))
    .sort()
    .map((f) => ({ file: display(join(dir, f)), text: readFileSync(join(dir, f), 'utf8') }));
}

/** Where a tenant's own policies live: `tenants[].policies`, relative to claw.yaml. */
export function tenantPolicyDir(config: ClawConfig, configFile: string, tenantId: string): string | undefined {
  const tenant = config.tenants.find((t) => t.id === tenantId);
  return tenant?.policies ? resolve(dirname(resolve(configFile)), tenant.policies) : undefined;
}

/**
 * Everything in force for a tenant: base policies, the compiled grants, and the tenant's
 * directory (or `overrideDir`, e.g. a directory under review).
 */
export function tenantPolicySources(config: ClawConfig, configFile: string, tenantId: string, overrideDir?: string): PolicySource[] {
  const dir = overrideDir ?? tenantPolicyDir(config, configFile, tenantId);
  return [
    { file: display(BASE_POLICIES_FILE), text: basePolicies() },
    { file: `claw.yaml#grants/${tenantId}`, text: compileGrants(config, tenantId) },
    { file: `claw.yaml#roles/${tenantId}`, text: compileRoles(config, tenantId) },
    ...(dir ? readPolicyDir(dir) : []),
  ];
}

/** Tenant policies applied through the admin API (runtime/store), as sources beside the tenant's own files. */
export function appliedPolicySources(applied: readonly { name: string; text: string }[]): PolicySource[] {
  return applied.map((p) => ({ file: `applied/${p.name}.cedar`, text: p.text }));
}

/** Id of the policy in force instead of a tenant's applied policies once they no longer compile. */
export const APPLIED_QUARANTINE_ID = 'claw:applied-policies-invalid';

/**
 * What is in force instead of a tenant's applied policies when they no longer compile with
 * the install (claw.yaml changed under them: a tool removed, an agent renamed): every
 * request of the tenant is refused, saying why, except reading and editing policies, so
 * its admins can fix or remove them. Closed, never open: a forbid that stopped compiling
 * must not silently stop forbidding, and one tenant's policies must not stop the process.
 */
export function quarantineSource(problem: string): PolicySource {
  const why = problem.replace(/\s+/g, ' ').replace(/["\\]/g, "'").slice(0, 300);
  return {
    file: 'applied/(quarantined).cedar',
    text: [
      `@id("${APPLIED_QUARANTINE_ID}")`,
      `@reason("the tenant's applied policies do not compile with this install (${why}); fix or remove them: claw policy apply|rm")`,
      'forbid (principal, action, resource) unless { action == Action::"editPolicy" || action == Action::"readPolicy" };',
      '',
    ].join('\n'),
  };
}

/** Per tenant, the applied policies' sources (appliedPolicySources), from the store's rows of every tenant. */
export function appliedByTenant(applied: readonly { tenantId: string; name: string; text: string }[]): Record<string, PolicySource[]> {
  const out: Record<string, PolicySource[]> = {};
  for (const p of applied) (out[p.tenantId] ??= []).push(...appliedPolicySources([p]));
  return out;
}

/** Validate every tenant's policies of an install (`claw policy validate`, `claw agent apply`). */
export function validateInstallPolicies(config: ClawConfig, configFile: string): { tenant: string; policies: number; warnings: string[] }[] {
  const schema = buildSchema(config);
  return config.tenants.map((t) => {
    const bundle = compilePolicies(schema, tenantPolicySources(config, configFile, t.id));
    return { tenant: t.id, policies: bundle.policies.length, warnings: bundle.warnings };
  });
}

/** Whether `action` (an Action id) is in the scope of `p`. */
export function policyMatchesAction(p: LoadedPolicy, action: string): boolean {
  if (p.actions === '*') return true;
  if (p.actions.ids.includes(action)) return true;
  const groups = p.actions.groups;
  if (action.startsWith('invokeTool:')) return groups.includes('invokeTool');
  if (!isAdminAction(action)) return false;
  // adminRead is itself in admin (policies/cedar/compile.ts adminSchema).
  return groups.includes(ADMIN_GROUP) || (ADMIN_ACTIONS[action].read && groups.includes(ADMIN_READ_GROUP));
}

/**
 * Whether the principal scope of `p` can match a principal of uid key `principal`, type
 * `type`, whose ancestors (transitively, from the tenant's entities) are `ancestors`.
 * `in G` matches G itself and its descendants, as in Cedar.
 */
export function policyMatchesPrincipal(p: LoadedPolicy, principal: string, type: string, ancestors: ReadonlySet<string>): boolean {
  const s = p.principalScope;
  switch (s.op) {
    case 'any':
      return true;
    case '==':
      return s.entity === principal;
    case 'in':
      return s.entity === principal || ancestors.has(s.entity);
    case 'is':
      return s.type === type && (s.in === undefined || s.in === principal || ancestors.has(s.in));
  }
}

export { toolAction };
