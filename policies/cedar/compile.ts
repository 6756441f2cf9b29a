/**
 * claw.yaml → Cedar: the full schema (the base schema plus one action per tool, its
 * context typing that tool's arguments), each tenant's entities, and the policies that
 * an agent's `tools:` grants compile to. Pure functions of the config; no I/O except
 * reading the two checked-in base files once.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { grantName, toolCatalog } from '../../core/config/load.js';
import type { Agent, ClawConfig, Tool } from '../../core/config/schema.js';
import { ADMIN_ACTION_NAMES, ADMIN_ACTIONS, ADMIN_GROUP, ADMIN_READ_GROUP, type AdminActionSpec, type RoleGrant } from '../../core/config/access.js';

const here = dirname(fileURLToPath(import.meta.url));
export const BASE_SCHEMA_FILE = join(here, 'claw.cedarschema');
export const BASE_POLICIES_FILE = join(here, 'base.cedar');

let baseSchemaText: string | undefined;
let basePoliciesText: string | undefined;
export function baseSchema(): string {
  return (baseSchemaText ??= readFileSync(BASE_SCHEMA_FILE, 'utf8'));
}
export function basePolicies(): string {
  return (basePoliciesText ??= readFileSync(BASE_POLICIES_FILE, 'utf8'));
}

// ------------------------------------------------------------------ entity uids

export interface Uid {
  type: string;
  id: string;
}

export const uid = {
  tenant: (tenantId: string): Uid => ({ type: 'Tenant', id: tenantId }),
  agent: (tenantId: string, agentId: string): Uid => ({ type: 'Agent', id: `${tenantId}/${agentId}` }),
  tool: (tenantId: string, tool: string): Uid => ({ type: 'Tool', id: `${tenantId}/${tool}` }),
  toolGroup: (tenantId: string, tool: string): Uid => ({ type: 'ToolGroup', id: `${tenantId}/${tool.split('.')[0]}` }),
  host: (tenantId: string, host: string): Uid => ({ type: 'Host', id: `${tenantId}/${host}` }),
  channel: (tenantId: string, type: string): Uid => ({ type: 'Channel', id: `${tenantId}/${type}` }),
  blob: (tenantId: string, key: string): Uid => ({ type: 'Blob', id: `${tenantId}/${key}` }),
  role: (tenantId: string, name: string): Uid => ({ type: 'Role', id: `${tenantId}/${name}` }),
  user: (tenantId: string, name: string): Uid => ({ type: 'User', id: `${tenantId}/${name}` }),
  apiKey: (tenantId: string, keyId: string): Uid => ({ type: 'ApiKey', id: `${tenantId}/${keyId}` }),
  secret: (tenantId: string, name: string): Uid => ({ type: 'Secret', id: `${tenantId}/${name}` }),
};

export const uidKey = (u: Uid): string => `${u.type}::${JSON.stringify(u.id)}`;

/** The action a call of `tool` is authorized as; a member of `Action::"invokeTool"`. */
export const toolAction = (tool: string): string => `invokeTool:${tool}`;

// ------------------------------------------------------------------ the tool catalog

export interface CatalogTool {
  name: string;
  kind: 'builtin' | Tool['kind'];
  input: Record<string, unknown>;
  secrets: string[];
  egress: string[];
}

/** Argument schemas of the built-in tools (their implementations are in runtime/tools). */
export const BUILTIN_INPUTS: Record<string, Record<string, unknown>> = {
  echo: { type: 'object', properties: { text: { type: 'string' } } },
  'time.now': { type: 'object', properties: { timezone: { type: 'string' } } },
};

export function catalog(config: Pick<ClawConfig, 'tools'>): CatalogTool[] {
  const tools: CatalogTool[] = [];
  for (const name of toolCatalog(config)) {
    const defined = config.tools.find((t) => t.name === name);
    if (defined) tools.push({ name, kind: defined.kind, input: defined.input, secrets: defined.secrets, egress: defined.egress });
    else tools.push({ name, kind: 'builtin', input: BUILTIN_INPUTS[name] ?? { type: 'object' }, secrets: [], egress: [] });
  }
  return tools.sort((a, b) => a.name.localeCompare(b.name));
}

// ------------------------------------------------------------------ argument types

/** A tool's arguments as Cedar sees them: the subset of JSON Schema Cedar can type. */
export type ArgType =
  | { kind: 'String' | 'Long' | 'Boolean' }
  | { kind: 'Set'; element: ArgType }
  | { kind: 'Record'; attrs: Record<string, { type: ArgType; required: boolean }> };

const MAX_DEPTH = 5;

/**
 * JSON Schema → Cedar type. `string` (and string enums) → String, `integer` → Long,
 * `boolean` → Boolean, `array` → Set, `object` with `properties` → Record. What Cedar
 * cannot type (`number` with fractions, free-form objects, unions) is left out of
 * `context.args`: policies cannot see it, so they cannot be fooled by it either.
 */
export function argType(schema: unknown, depth = 0): ArgType | undefined {
  if (!schema || typeof schema !== 'object' || depth > MAX_DEPTH) return undefined;
  const s = schema as Record<string, unknown>;
  const type = s.type ?? (s.properties ? 'object' : Array.isArray(s.enum) && s.enum.every((v) => typeof v === 'string') ? 'string' : undefined);
  switch (type) {
    case 'string':
      return { kind: 'String' };
    case 'integer':
      return { kind: 'Long' };
    case 'boolean':
      return { kind: 'Boolean' };
    case 'array': {
      const element = argType(s.items, depth + 1);
      return element ? { kind: 'Set', element } : undefined;
    }
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
      const attrs: Record<string, { type: ArgType; required: boolean }> = {};
      for (const [name, prop] of Object.entries(props)) {
        const t = argType(prop, depth + 1);
        if (t) attrs[name] = { type: t, required: required.has(name) };
      }
      return { kind: 'Record', attrs };
    }
    default:
      return undefined;
  }
}

export function argTypeText(t: ArgType, indent = ''): string {
  switch (t.kind) {
    case 'Set':
      return `Set<${argTypeText(t.element, indent)}>`;
    case 'Record': {
      const entries = Object.entries(t.attrs);
      if (entries.length === 0) return '{}';
      const inner = `${indent}  `;
      const lines = entries.map(([name, a]) => `${inner}${JSON.stringify(name)}${a.required ? '' : '?'}: ${argTypeText(a.type, inner)}`);
      return `{\n${lines.join(',\n')}\n${indent}}`;
    }
    default:
      return t.kind;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Project call arguments onto their Cedar type: unknown attributes are dropped, a
 * missing required attribute or a value of the wrong type is an error (the call is then
 * denied; a forbid must never be skipped because an argument had a surprising type).
 */
export function projectArgs(value: unknown, t: ArgType, path = 'args'): { value?: unknown; errors: string[] } {
  switch (t.kind) {
    case 'String':
      return typeof value === 'string' ? { value, errors: [] } : { errors: [`${path} must be a string`] };
    case 'Boolean':
      return typeof value === 'boolean' ? { value, errors: [] } : { errors: [`${path} must be a boolean`] };
    case 'Long':
      return typeof value === 'number' && Number.isInteger(value) && BigInt(value) >= INT64_MIN && BigInt(value) <= INT64_MAX
        ? { value, errors: [] }
        : { errors: [`${path} must be an integer`] };
    case 'Set': {
      if (!Array.isArray(value)) return { errors: [`${path} must be an array`] };
      const out: unknown[] = [];
      const errors: string[] = [];
      value.forEach((v, i) => {
        const r = projectArgs(v, t.element, `${path}[${i}]`);
        errors.push(...r.errors);
        out.push(r.value);
      });
      return errors.length ? { errors } : { value: out, errors };
    }
    case 'Record': {
      if (!value || typeof value !== 'object' || Array.isArray(value)) return { errors: [`${path} must be an object`] };
      const out: Record<string, unknown> = {};
      const errors: string[] = [];
      for (const [name, a] of Object.entries(t.attrs)) {
        const v = (value as Record<string, unknown>)[name];
        if (v === undefined || v === null) {
          if (a.required) errors.push(`${path}.${name} is required`);
          continue;
        }
        const r = projectArgs(v, a.type, `${path}.${name}`);
        errors.push(...r.errors);
        if (r.errors.length === 0) out[name] = r.value;
      }
      return errors.length ? { errors } : { value: out, errors };
    }
  }
}

/** Cedar type of a tool's `context.args` (an empty record when nothing is typeable). */
export function toolArgType(tool: Pick<CatalogTool, 'input'>): ArgType & { kind: 'Record' } {
  const t = argType(tool.input);
  return t && t.kind === 'Record' ? t : { kind: 'Record', attrs: {} };
}

// ------------------------------------------------------------------ the schema

/** The base schema plus one `invokeTool:<tool>` action per catalog tool. */
export function buildSchema(config: Pick<ClawConfig, 'tools'>): string {
  const actions = catalog(config).map((tool) => {
    const args = argTypeText(toolArgType(tool), '    ');
    return [
      `// ${tool.kind} tool ${tool.name}`,
      `action ${JSON.stringify(toolAction(tool.name))} in [Action::"invokeTool"] appliesTo {`,
      `  principal: [Agent],`,
      `  resource: [Tool],`,
      `  context: {`,
      `    tool: String, runId: String, channel: String, time: Time, budget: Budget,`,
      `    args: ${args},`,
      `  },`,
      `};`,
    ].join('\n');
  });
  return `${baseSchema()}\n${adminSchema()}\n// ---- generated from the tool catalog ----\n${actions.join('\n\n')}\n`;
}

/** The admin actions of people and API keys (core/config/access.ts), in their two groups. */
export function adminSchema(): string {
  const lines = [
    '// ---- generated from core/config/access.ts: what people and API keys may do ----',
    `action ${ADMIN_GROUP};`,
    `action ${ADMIN_READ_GROUP} in [Action::${quote(ADMIN_GROUP)}];`,
  ];
  for (const name of ADMIN_ACTION_NAMES) {
    const spec: AdminActionSpec = ADMIN_ACTIONS[name];
    const context = name === 'decideApproval' ? '{ time: Time, runId: String, reason: String, approve: Bool }' : 'AdminContext';
    lines.push(
      `// ${spec.summary}`,
      `action ${quote(name)} in [Action::${quote(spec.read ? ADMIN_READ_GROUP : ADMIN_GROUP)}] appliesTo { principal: [User, ApiKey], resource: [${spec.resource}], context: ${context} };`,
    );
  }
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------ entities

export interface EntityJson {
  uid: Uid;
  attrs: Record<string, unknown>;
  parents: Uid[];
}

const ref = (u: Uid) => ({ __entity: u });

/** The tenant's entities: itself, its agents, the tool catalog (tenant-qualified), hosts, channels. */
export function tenantEntities(config: ClawConfig, tenantId: string): EntityJson[] {
  const tenant = uid.tenant(tenantId);
  const entities = new Map<string, EntityJson>();
  const add = (e: EntityJson) => entities.set(uidKey(e.uid), e);
  add({ uid: tenant, attrs: { tenant: ref(tenant) }, parents: [] });
  for (const role of config.tenants.find((t) => t.id === tenantId)?.roles ?? []) {
    add({ uid: uid.role(tenantId, role.name), attrs: { tenant: ref(tenant), name: role.name }, parents: [tenant] });
  }
  for (const agent of config.agents.filter((a) => a.tenant === tenantId)) {
    add({ uid: uid.agent(tenantId, agent.id), attrs: { tenant: ref(tenant), name: agent.id }, parents: [tenant] });
    for (const channel of agent.channels) {
      add({ uid: uid.channel(tenantId, channel.type), attrs: { tenant: ref(tenant), type: channel.type }, parents: [tenant] });
    }
  }
  for (const tool of catalog(config)) {
    const group = uid.toolGroup(tenantId, tool.name);
    add({ uid: group, attrs: { tenant: ref(tenant), name: group.id.slice(tenantId.length + 1) }, parents: [tenant] });
    add({
      uid: uid.tool(tenantId, tool.name),
      attrs: { tenant: ref(tenant), name: tool.name, kind: tool.kind, secrets: tool.secrets, egress: tool.egress },
      parents: [group, tenant],
    });
    for (const host of tool.egress) add({ uid: uid.host(tenantId, host), attrs: { tenant: ref(tenant), name: host }, parents: [tenant] });
  }
  return [...entities.values()];
}

// ------------------------------------------------------------------ roles

/** The id of the policy a role compiles to: `role:<name>`. */
export const rolePolicyId = (role: string) => `role:${role}`;

/**
 * A tenant's `roles:` as Cedar permits, one per role: its members (users whose groups map
 * to it, API keys created with it) may take the admin actions its `can:` lists.
 */
export function compileRoles(config: Pick<ClawConfig, 'tenants'>, tenantId: string): string {
  const out: string[] = [`// Generated from claw.yaml: the roles of tenant ${tenantId}. Do not edit.`];
  for (const role of config.tenants.find((t) => t.id === tenantId)?.roles ?? []) {
    const can = new Set<RoleGrant>(role.can);
    const action = can.has('all')
      ? `action in Action::${quote(ADMIN_GROUP)}`
      : `action in [${[...can].map((c) => `Action::${quote(c === 'read' ? ADMIN_READ_GROUP : c)}`).join(', ')}]`;
    out.push(
      [
        `@id(${quote(rolePolicyId(role.name))})`,
        `@reason(${quote(`claw.yaml gives role ${role.name} of tenant ${tenantId}: ${[...can].join(', ')}`)})`,
        `permit (principal in Role::${quote(uid.role(tenantId, role.name).id)}, ${action}, resource);`,
      ].join('\n'),
    );
  }
  return `${out.join('\n\n')}\n`;
}

// ------------------------------------------------------------------ grants

const quote = (s: string) => JSON.stringify(s);

/** The id of the policy a grant compiles to: `grant:<agent>:<tool>`. */
export const grantPolicyId = (agentId: string, tool: string) => `grant:${agentId}:${tool}`;

/**
 * An agent's `tools:` grants as Cedar permits (one per grant, `@approval("required")`
 * when the grant asks for a human), plus the egress its granted tools need and the
 * channels it replies on. Generated text, validated like any other policy.
 */
export function compileGrants(config: ClawConfig, tenantId: string): string {
  const tools = new Map(catalog(config).map((t) => [t.name, t]));
  const out: string[] = [`// Generated from claw.yaml: the tool grants of tenant ${tenantId}'s agents. Do not edit.`];
  for (const agent of config.agents.filter((a) => a.tenant === tenantId)) {
    out.push(...agentGrants(tenantId, agent, tools));
  }
  return `${out.join('\n\n')}\n`;
}

function agentGrants(tenantId: string, agent: Agent, tools: Map<string, CatalogTool>): string[] {
  const principal = `Agent::${quote(uid.agent(tenantId, agent.id).id)}`;
  const out: string[] = [];
  // A tool granted twice is one grant; approval is required if either grant asks for it.
  const grants = new Map<string, boolean>();
  for (const grant of agent.tools) {
    const name = grantName(grant);
    grants.set(name, (grants.get(name) ?? false) || (typeof grant !== 'string' && grant.approval === 'required'));
  }
  for (const [name, approval] of grants) {
    out.push(
      [
        `@id(${quote(grantPolicyId(agent.id, name))})`,
        `@reason(${quote(`claw.yaml grants ${name} to agent ${agent.id}${approval ? ' with human approval' : ''}`)})`,
        ...(approval ? ['@approval("required")'] : []),
        `permit (principal == ${principal}, action == Action::${quote(toolAction(name))}, resource == Tool::${quote(uid.tool(tenantId, name).id)});`,
      ].join('\n'),
    );
    for (const host of tools.get(name)?.egress ?? []) {
      out.push(
        [
          `@id(${quote(`${grantPolicyId(agent.id, name)}:egress:${host}`)})`,
          `@reason(${quote(`tool ${name} declares egress to ${host}`)})`,
          `permit (principal == ${principal}, action == Action::"egress", resource == Host::${quote(uid.host(tenantId, host).id)})`,
          `when { context.tool == ${quote(name)} };`,
        ].join('\n'),
      );
    }
  }
  for (const channel of agent.channels) {
    out.push(
      [
        `@id(${quote(`grant:${agent.id}:channel:${channel.type}`)})`,
        `@reason(${quote(`agent ${agent.id} replies on its ${channel.type} channel`)})`,
        `permit (principal == ${principal}, action == Action::"sendMessage", resource == Channel::${quote(uid.channel(tenantId, channel.type).id)});`,
      ].join('\n'),
    );
  }
  out.push(
    [
      `@id(${quote(`grant:${agent.id}:blobs`)})`,
      `@reason(${quote(`agent ${agent.id} reads and writes its own blobs under agents/${agent.id}/`)})`,
      `permit (principal == ${principal}, action in [Action::"readBlob", Action::"writeBlob"], resource)`,
      `when { resource.key like ${quote(`agents/${agent.id}/*`)} };`,
    ].join('\n'),
  );
  return out;
}
