/**
 * Helpers for the installer's tests (imported only by *.test.ts): a temporary aws install
 * on the fake engine, and the CLI run in-process (output captured) or as a child process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import { isClawError } from '../../../core/errors.js';
import { buildProgram } from '../../index.js';

export const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export const AWS_CONFIG = `# an install under test
apiVersion: claw.dev/v1
name: demo
target: aws
aws:
  region: us-east-1   # where it runs
state:
  secretsProvider: awskms://alias/claw-state?region=us-east-1
tenants:
  # the first customer
  - id: acme
    name: Acme Corp
`;

export function tempInstall(config = AWS_CONFIG): { dir: string; config: string; stateDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'claw-installer-'));
  const file = join(dir, 'claw.yaml');
  writeFileSync(file, config);
  return { dir, config: file, stateDir: join(dir, 'state') };
}

export interface CliRun {
  stdout: string;
  stderr: string;
  exitCode: number;
  error?: unknown;
}

/** Run `claw <argv>` in this process; ClawErrors become their exit code, as cli/main.ts does. */
export async function runCli(argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const so = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  const se = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  const before = process.exitCode;
  process.exitCode = undefined;
  let error: unknown;
  try {
    const args = ['node', 'claw', ...argv];
    await (await buildProgram(args)).exitOverride().parseAsync(args);
  } catch (e) {
    error = e;
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
  const exitCode = error ? (isClawError(error) ? error.exitCode : 1) : Number(process.exitCode ?? 0);
  process.exitCode = before;
  return { stdout: out.join(''), stderr: err.join(''), exitCode, error };
}

/** Spawn the real CLI (bin/claw.js). Resolves with its output and exit code. */
export function spawnCli(argv: string[], env: Record<string, string>, onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<CliRun> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/claw.js'), ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => {
      stderr += String(d);
      onStderr?.(stderr, child);
    });
    child.on('close', (code) => resolvePromise({ stdout, stderr, exitCode: code ?? -1 }));
  });
}
