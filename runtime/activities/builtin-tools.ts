/**
 * The runtime's built-in tools (core/config/schema.ts BUILTIN_TOOLS): `echo` and `time.now`.
 * They need no sandbox (no untrusted code, no network, no secrets), so they run in the
 * worker. `BuiltinToolExecutor` is the ToolExecutor port for exactly these; CAPABILITY's
 * broker/sandbox executor takes over every other tool kind.
 */
import type { ToolSpec } from '../models/types.js';
import type { ToolCallRequest, ToolExecutor, ToolResult } from '../ports.js';

export const BUILTIN_TOOL_SPECS: ToolSpec[] = [
  {
    name: 'echo',
    description: 'Returns its arguments unchanged.',
    input: { type: 'object', properties: { text: { type: 'string', description: 'text to echo back' } } },
  },
  {
    name: 'time.now',
    description: 'The current date and time (ISO 8601, UTC) and the Unix time in milliseconds.',
    input: { type: 'object', properties: {} },
  },
];

const builtins: Record<string, (args: Record<string, unknown>, now: Date) => unknown> = {
  echo: (args) => args,
  'time.now': (_args, now) => ({ iso: now.toISOString(), unixMs: now.getTime() }),
};

export class BuiltinToolExecutor implements ToolExecutor {
  constructor(private readonly now: () => Date = () => new Date()) {}

  async execute(request: ToolCallRequest & { callId: string; idempotencyKey: string }): Promise<ToolResult> {
    const started = performance.now();
    const run = builtins[request.tool];
    if (!run) {
      return {
        ok: false,
        output: null,
        error: { code: 'TOOL_NOT_AVAILABLE', message: `no executor for tool '${request.tool}' in this worker` },
        sandbox: 'none',
        durationMs: performance.now() - started,
      };
    }
    return { ok: true, output: run(request.args, this.now()), sandbox: 'none', durationMs: performance.now() - started };
  }
}
