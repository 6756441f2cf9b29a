/**
 * What every installer command shares: the state options (--backend, --secrets-provider),
 * opening the install named by --config, and the session (prompting, progress, --json).
 */
import { Option, type Command } from 'commander';
import { globalOptions, type GlobalOptions } from '../context.js';
import { openInstall, type Install, type SessionOptions } from './lifecycle.js';
import type { StackSpecOverrides } from './workspace.js';

export function withStateOptions(command: Command): Command {
  return command
    .addOption(new Option('--backend <url>', 'Pulumi state backend: file://<dir> (default: under the state dir), s3://<bucket>[/prefix], gs://<bucket>[/prefix]'))
    .addOption(new Option('--secrets-provider <uri>', "what encrypts secrets in the state: awskms://..., gcpkms://..., or 'passphrase' (default: claw.yaml state.secretsProvider)"));
}

export function overridesFrom(command: Command): StackSpecOverrides {
  const opts = command.opts<{ backend?: string; secretsProvider?: string }>();
  return { backend: opts.backend, secretsProvider: opts.secretsProvider };
}

export function sessionFrom(global: GlobalOptions): SessionOptions {
  return { json: global.json, yes: global.yes, nonInteractive: global.nonInteractive, stateDir: global.stateDir };
}

export interface Opened {
  global: GlobalOptions;
  session: SessionOptions;
  install: Install;
  overrides: StackSpecOverrides;
}

export async function openFromCommand(command: Command): Promise<Opened> {
  const global = globalOptions(command);
  const overrides = overridesFrom(command);
  const install = await openInstall(global.config, global.stateDir, overrides);
  return { global, session: sessionFrom(global), install, overrides };
}

/** Left-aligned columns; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
