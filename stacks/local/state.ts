/**
 * The local target's state directory (default ~/.claw):
 *
 *   run/<component>.pid     pid of each running component (a detached process group)
 *   logs/<component>.log    its stdout and stderr
 *   temporal/temporal.db    the Temporal dev server's SQLite file
 *   store/pgdata            the metadata store (PGlite)
 *   keys/                   the local keyring (runtime/crypto)
 *   blobs/, lake/, traces/  tenant blobs, the trace lake
 *   cache/                  the workflow bundle; bin/ a downloaded Temporal CLI
 */
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClawError } from '../../core/errors.js';

export const STATE_SUBDIRS = ['run', 'logs', 'temporal', 'store', 'keys', 'blobs', 'lake', 'traces', 'cache', 'bin'] as const;

export function statePaths(stateDir: string) {
  return {
    root: stateDir,
    pidFile: (component: string) => join(stateDir, 'run', `${component}.pid`),
    logFile: (component: string) => join(stateDir, 'logs', `${component}.log`),
    temporalDb: join(stateDir, 'temporal', 'temporal.db'),
    cache: join(stateDir, 'cache'),
    bin: join(stateDir, 'bin'),
  };
}

function unwritable(stateDir: string, err: unknown): ClawError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new ClawError('STATE_DIR_UNWRITABLE', `cannot write to the state directory ${stateDir} (${code})`, {
    hint: 'pass a writable --state-dir (or set CLAW_STATE_DIR), or fix its permissions',
    cause: err,
  });
}

/** Create the layout, or fail with STATE_DIR_UNWRITABLE before anything else happens. */
export function ensureStateDir(stateDir: string): void {
  try {
    mkdirSync(stateDir, { recursive: true });
    accessSync(stateDir, constants.W_OK);
    // access() says yes to root on a read-only mount; a real write does not lie.
    const probe = join(stateDir, `.write-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
    for (const sub of STATE_SUBDIRS) mkdirSync(join(stateDir, sub), { recursive: true });
  } catch (err) {
    throw unwritable(stateDir, err);
  }
}
