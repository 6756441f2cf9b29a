/**
 * What the model is told about each tool: the runtime's built-ins (core/config/schema.ts
 * BUILTIN_TOOLS, run in process by runtime/tools' executor) and claw.yaml's `tools:`.
 * Argument schemas match what Cedar types (policies/cedar/compile.ts BUILTIN_INPUTS).
 */
import type { ClawConfig } from '../../core/config/schema.js';
import { BUILTIN_INPUTS } from '../../policies/cedar/compile.js';
import type { ToolSpec } from '../models/types.js';

export const BUILTIN_TOOL_SPECS: ToolSpec[] = [
  {
    name: 'echo',
    description: 'Returns its text unchanged.',
    input: { ...BUILTIN_INPUTS.echo!, properties: { text: { type: 'string', description: 'text to echo back' } } },
  },
  {
    name: 'time.now',
    description: 'The current date and time (ISO 8601, UTC, and local time in an IANA time zone) and the Unix time in milliseconds.',
    input: { ...BUILTIN_INPUTS['time.now']!, properties: { timezone: { type: 'string', description: "IANA time zone, e.g. 'Europe/Berlin'; default UTC" } } },
  },
];

/** Every tool of an install as the model sees it, by name. */
export function modelToolCatalog(config: Pick<ClawConfig, 'tools'>): Map<string, ToolSpec> {
  const specs = [...BUILTIN_TOOL_SPECS, ...config.tools.map((t) => ({ name: t.name, description: t.description, input: t.input }))];
  return new Map(specs.map((s) => [s.name, s]));
}
