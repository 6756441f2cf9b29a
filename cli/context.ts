/**
 * Options every command shares, and where they point: the state directory (default
 * ~/.claw), the config file (default ./claw.yaml), and machine output (--json).
 */
import type { Command } from 'commander';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

export const GlobalOptionsSchema = z.object({
  stateDir: z.string().min(1).default(() => process.env.CLAW_STATE_DIR ?? resolve(homedir(), '.claw')),
  config: z.string().min(1).default('claw.yaml'),
  json: z.boolean().default(false),
  yes: z.boolean().default(false),
  nonInteractive: z.boolean().default(false),
});

export type GlobalOptions = z.output<typeof GlobalOptionsSchema>;

/** Global options as seen from inside any subcommand's action. */
export function globalOptions(command: Command): GlobalOptions {
  const all = command.optsWithGlobals();
  const parsed = GlobalOptionsSchema.parse({
    stateDir: all.stateDir,
    config: all.config,
    json: all.json,
    yes: all.yes,
    nonInteractive: all.nonInteractive ?? (process.env.CI === 'true' ? true : undefined),
  });
  return { ...parsed, stateDir: resolve(parsed.stateDir), config: resolve(parsed.config) };
}

/** Print a result: JSON (one object per line) with --json, else the human text. */
export function output(options: Pick<GlobalOptions, 'json'>, value: unknown, human: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(value)}\n`);
  else {
    const text = human();
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}
