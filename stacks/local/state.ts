/**
 * The local target's state directory (default ~/.claw):
 *
 *   run/<component>.pid     pid of each running component (a detached process group)
 *   run/platform.json       the running platform: its claw.yaml and addresses, so commands
 *                           find it from the state dir alone (no claw.yaml, no env vars)
 *   logs/<component>.log    its stdout and stderr
 *   temporal/temporal.db    the Temporal dev server's SQLite file
 *   store/pgdata            the metadata store (PGlite); store/.s.PGSQL.<port> its socket
 *
 * Everything is private to the platform's user (directories 0700, files 0600): the state
 * dir holds the tenants' keys and the store's only access control is its socket's directory.
 *   keys/                   the local keyring (runtime/crypto)
 *   blobs/, lake/, traces/  tenant blobs, the trace lake
 *   cache/                  the workflow bundle; bin/ a downloaded Temporal CLI
 */
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';

export const STATE_SUBDIRS = ['run', 'logs', 'temporal', 'store', 'keys', 'blobs', 'lake', 'traces', 'cache', 'bin'] as const;

export function statePaths(stateDir: string) {
  return {
    root: stateDir,
    pidFile: (component: string) => join(stateDir, 'run', `${component}.pid`),
    platformRecord: join(stateDir, 'run', 'platform.json'),
    storeDir: join(stateDir, 'store'),
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
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    chmodSync(stateDir, 0o700);
    accessSync(stateDir, constants.W_OK);
    // access() says yes to root on a read-only mount; a real write does not lie.
    const probe = join(stateDir, `.write-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
    for (const sub of STATE_SUBDIRS) mkdirSync(join(stateDir, sub), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw unwritable(stateDir, err);
  }
}

/** What `claw up` records about the platform it started (run/platform.json, 0600). */
export interface PlatformRecord {
  /** The claw.yaml it was started from (absolute), and its parsed content at the time. */
  configFile: string;
  config: ClawConfig;
  startedAt: string;
}

export function writePlatformRecord(stateDir: string, record: PlatformRecord): void {
  const file = statePaths(stateDir).platformRecord;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** The record of the platform last started from this state dir, if any (and still readable). */
export function readPlatformRecord(stateDir: string): PlatformRecord | undefined {
  const file = statePaths(stateDir).platformRecord;
  if (!existsSync(file)) return undefined;
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as PlatformRecord;
    return typeof record.configFile === 'string' && record.config?.local ? record : undefined;
  } catch {
    return undefined; // written by another version, or torn: the caller falls back to claw.yaml
  }
}
