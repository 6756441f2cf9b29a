/**
 * Loading claw.yaml: YAML parse (with line/column), schema validation, agent files
 * resolved, cross-references checked. Every failure is one ClawError naming the file,
 * the field path, the line and what to do.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { ClawError } from '../errors.js';
import {
  AgentFileSchema,
  BUILTIN_TOOLS,
  ClawConfigSchema,
  type Agent,
  type ClawConfig,
  type RawClawConfig,
} from './schema.js';

export const DEFAULT_CONFIG_FILE = 'claw.yaml';

interface ParsedYaml {
  doc: Document;
  lines: LineCounter;
  file: string;
}

function parseYaml(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    throw new ClawError('CONFIG_YAML', `${where}: ${first.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax at that line (indentation, quotes, duplicate keys)',
    });
  }
  return { doc, lines, file };
}

/** `tenants[0].key.ref` style path. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    return acc ? `${acc}.${String(part)}` : String(part);
  }, '');
}

/** Line:col of the deepest node that exists along `path`. */
function locate(parsed: ParsedYaml, path: readonly PropertyKey[]): string {
  let node: unknown = parsed.doc.contents;
  let found: YamlNode | undefined = node as YamlNode | undefined;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => (item.key as { value?: unknown } | null)?.value === part);
      if (!pair) break;
      found = (pair.key as YamlNode) ?? found;
      node = pair.value;
      if (node && (node as YamlNode).range) found = node as YamlNode;
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
      if (!node) break;
      found = node as YamlNode;
    } else break;
  }
  const offset = found?.range?.[0];
  if (offset === undefined) return parsed.file;
  const { line, col } = parsed.lines.linePos(offset);
  return `${parsed.file}:${line}:${col}`;
}

function invalid(parsed: ParsedYaml, error: z.ZodError): ClawError {
  const issue = error.issues[0]!;
  const path = formatPath(issue.path);
  const where = locate(parsed, issue.path);
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
  return new ClawError('CONFIG_INVALID', `${where}: ${path || '(top level)'}: ${issue.message}${more}`, {
    hint: `fix '${path || 'the file'}' and run 'claw config validate'`,
    details: { file: parsed.file, issues: error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) },
  });
}

function readText(file: string): string {
  if (!existsSync(file)) {
    throw new ClawError('CONFIG_NOT_FOUND', `no config file at ${file}`, {
      hint: "run 'claw init' to write a starter claw.yaml, or pass --config <file>",
    });
  }
  return readFileSync(file, 'utf8');
}

/** Validate an agent object against the schema; errors name `source`. */
export function parseAgentFile(text: string, file: string): Agent {
  const parsed = parseYaml(text, file);
  const result = AgentFileSchema.safeParse(parsed.doc.toJS());
  if (!result.success) throw invalid(parsed, result.error);
  const { kind: _kind, ...agent } = result.data;
  return agent;
}

export function loadAgentFile(file: string): Agent {
  return parseAgentFile(readText(file), file);
}

/** Parse and validate claw.yaml text. `file` is used for messages and resolving agent files. */
export function parseConfig(text: string, file = DEFAULT_CONFIG_FILE): ClawConfig {
  const parsed = parseYaml(text, file);
  const raw = parsed.doc.toJS() ?? {};
  const result = ClawConfigSchema.safeParse(raw);
  if (!result.success) throw invalid(parsed, result.error);
  const config: RawClawConfig = result.data;
  const baseDir = dirname(resolve(file));
  const agents = config.agents.map((entry) => ('file' in entry ? loadAgentFile(resolve(baseDir, entry.file)) : entry));
  const resolved: ClawConfig = { ...config, agents };
  checkReferences(resolved);
  return resolved;
}

export function loadConfig(file = DEFAULT_CONFIG_FILE): ClawConfig {
  return parseConfig(readText(file), file);
}

/**
 * The files a loaded config is made of: claw.yaml and the agent files it references, so a
 * process that reloads on change sees an edited agent file too (absolute paths).
 */
export function configSourceFiles(file = DEFAULT_CONFIG_FILE): string[] {
  const raw = (parseYaml(readText(file), file).doc.toJS() ?? {}) as { agents?: unknown };
  const refs = Array.isArray(raw.agents) ? raw.agents.filter((a): a is { file: string } => typeof a?.file === 'string') : [];
  const baseDir = dirname(resolve(file));
  return [resolve(file), ...refs.map((r) => resolve(baseDir, r.file))];
}

/** Names of every tool an agent may be granted: built-ins plus claw.yaml's `tools:`. */
export function toolCatalog(config: Pick<ClawConfig, 'tools'>): Set<string> {
  return new Set<string>([...BUILTIN_TOOLS, ...config.tools.map((t) => t.name)]);
}

export function grantName(grant: Agent['tools'][number]): string {
  return typeof grant === 'string' ? grant : grant.name;
}

/** Cross-references the schema alone cannot see: tenants, tools, unique agent ids. */
export function checkReferences(config: ClawConfig): void {
  const tenants = new Set(config.tenants.map((t) => t.id));
  const tools = toolCatalog(config);
  const agentKeys = new Set<string>();
  config.agents.forEach((agent, i) => checkAgent(agent, `agents[${i}]`, tenants, tools, agentKeys));
}

export function checkAgent(
  agent: Agent,
  where: string,
  tenants: Set<string>,
  tools: Set<string>,
  seen: Set<string> = new Set(),
): void {
  if (!tenants.has(agent.tenant)) {
    throw new ClawError('UNKNOWN_TENANT', `${where}: agent '${agent.id}' names tenant '${agent.tenant}', which is not in claw.yaml`, {
      hint: `add the tenant ('claw tenant create ${agent.tenant}') or fix the agent's 'tenant'`,
    });
  }
  const key = `${agent.tenant}/${agent.id}`;
  if (seen.has(key)) {
    throw new ClawError('CONFIG_INVALID', `${where}: duplicate agent '${agent.id}' in tenant '${agent.tenant}'`, {
      hint: 'agent ids are unique within a tenant',
    });
  }
  seen.add(key);
  const names = [
    ...agent.tools.map(grantName),
    ...(agent.model.provider === 'scripted' ? agent.model.script.flatMap((s) => (s.toolCalls ?? []).map((c) => c.tool)) : []),
  ];
  // A scripted model may *call* an ungranted tool (that is how denial is demonstrated),
  // but every name must exist in the catalog; a typo is a config error, not a denial.
  for (const name of names) {
    if (!tools.has(name)) {
      throw new ClawError('UNKNOWN_TOOL', `${where}: agent '${agent.id}' names tool '${name}', which does not exist`, {
        hint: `define it under 'tools:' in claw.yaml or use one of: ${[...tools].sort().join(', ')}`,
      });
    }
  }
}
