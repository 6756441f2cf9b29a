/**
 * The local target's supervisor: starts the platform's components as detached processes
 * (each its own process group, pid file, log file), waits for each to be healthy, reports
 * their status and stops them. `up` is idempotent: a healthy component is left alone.
 *
 * Service processes follow one contract (contracts/wiring.ts): env CLAW_STATE_DIR, CLAW_CONFIG,
 * TEMPORAL_ADDRESS, CLAW_PORT, DATABASE_URL; GET /healthz on 127.0.0.1:CLAW_PORT.
 *
 * Where a running platform is: its addresses derive from claw.yaml's `local:` and the state
 * dir (the store's socket lives there), and `up` records both in run/platform.json, so the
 * CLI finds the platform from `--state-dir` alone.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Connection } from '@temporalio/client';
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import type { TenantUnavailable } from '../../runtime/worker/runtime-worker.js';
import { socketFile } from '../../runtime/store/wire-server.js';
import { ensureStateDir, statePaths, writePlatformRecord } from './state.js';
import { TEMPORAL_DEV_DYNAMIC_CONFIG, resolveTemporalCli } from './temporal-cli.js';


export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type ComponentName = 'temporal' | 'store' | 'worker' | 'gateway' | 'codec-server';

export interface ComponentSpec {
  name: ComponentName;
  port: number;
  /** The claw.yaml field that sets the port (named in port errors). */
  portField: string;
  /** Components of stage 0 start first; stage 1 needs them healthy. */
  stage: 0 | 1;
  /** Node services: the entry file (relative to the repo). */
  entry?: string;
  health: 'temporal' | 'postgres' | 'http';
  /** Shown by `claw status`. */
  address: string;
}

export interface LocalPlatform {
  stateDir: string;
  configFile: string;
  config: ClawConfig;
}

export function components(config: ClawConfig, stateDir: string): ComponentSpec[] {
  const l = config.local;
  return [
    { name: 'temporal', port: l.temporalPort, portField: 'local.temporalPort', stage: 0, health: 'temporal', address: `127.0.0.1:${l.temporalPort} (UI http://127.0.0.1:${l.temporalUiPort})` },
    { name: 'store', port: l.storePort, portField: 'local.storePort', stage: 0, entry: 'runtime/store/main.ts', health: 'postgres', address: databaseUrl(config, stateDir) },
    { name: 'worker', port: l.workerPort, portField: 'local.workerPort', stage: 1, entry: 'runtime/worker/main.ts', health: 'http', address: `http://127.0.0.1:${l.workerPort}/healthz` },
    { name: 'gateway', port: l.gatewayPort, portField: 'local.gatewayPort', stage: 1, entry: 'runtime/gateway/main.ts', health: 'http', address: `http://127.0.0.1:${l.gatewayPort}` },
    { name: 'codec-server', port: l.codecServerPort, portField: 'local.codecServerPort', stage: 1, entry: 'runtime/codec-server/main.ts', health: 'http', address: `http://127.0.0.1:${l.codecServerPort}` },
  ];
}

export function temporalAddress(config: ClawConfig): string {
  return `127.0.0.1:${config.local.temporalPort}`;
}

/**
 * The metadata store's URL: its Unix socket in the state dir (libpq's `host=<dir>` form,
 * which psql and node-postgres both take), so it works as printed and needs no password.
 */
export function databaseUrl(config: ClawConfig, stateDir: string): string {
  const dir = statePaths(stateDir).storeDir;
  return `postgresql://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${config.local.storePort}`;
}

/** The longest Unix socket path Linux takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

function checkSocketPath(config: ClawConfig, stateDir: string): void {
  const path = socketFile(statePaths(stateDir).storeDir, config.local.storePort);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new ClawError('STATE_DIR_PATH_TOO_LONG', `the store's socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes`, {
      hint: 'pass a shorter --state-dir (or CLAW_STATE_DIR)',
    });
  }
}

function installed(spec: ComponentSpec): boolean {
  return !spec.entry || existsSync(join(REPO_ROOT, spec.entry));
}

// ------------------------------------------------------------------ processes

/** Marks our processes' command lines, so a pid reused after a reboot is not mistaken for ours. */
function identity(stateDir: string): string {
  return `--claw-state=${stateDir}`;
}

function readPid(stateDir: string, name: string): number | undefined {
  const file = statePaths(stateDir).pidFile(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number, stateDir: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync('/proc')) return true;
  try {
    // Node services carry the marker argument; the Temporal CLI refuses unknown flags, but its
    // --db-filename (inside this state dir) identifies it just as well.
    const args = readFileSync(cmdline, 'utf8').split('\0');
    return args.includes(identity(stateDir)) || args.includes(statePaths(stateDir).temporalDb);
  } catch {
    return false;
  }
}

/** The pid of a running component of this state dir, or undefined (stale pid files are removed). */
export function runningPid(stateDir: string, name: string): number | undefined {
  const pid = readPid(stateDir, name);
  if (pid === undefined) return undefined;
  if (alive(pid, stateDir)) return pid;
  rmSync(statePaths(stateDir).pidFile(name), { force: true });
  return undefined;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

function portInUse(spec: ComponentSpec): ClawError {
  if (spec.name === 'temporal') {
    return new ClawError('TEMPORAL_PORT_IN_USE', `port ${spec.port} (Temporal) is already in use on 127.0.0.1`, {
      hint: `stop what listens there, or set '${spec.portField}' in claw.yaml to a free port`,
    });
  }
  return new ClawError('PORT_IN_USE', `port ${spec.port} (${spec.name}) is already in use on 127.0.0.1`, {
    hint: `stop what listens there, or set '${spec.portField}' in claw.yaml to a free port`,
  });
}

async function spawnComponent(platform: LocalPlatform, spec: ComponentSpec, temporalCli: string | undefined): Promise<number> {
  const paths = statePaths(platform.stateDir);
  const log = openSync(paths.logFile(spec.name), 'a', 0o600);
  const { config } = platform;
  let command: string;
  let args: string[];
  if (spec.name === 'temporal') {
    command = temporalCli!;
    args = [
      'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(spec.port), '--ui-port', String(config.local.temporalUiPort),
      '--db-filename', paths.temporalDb, '--log-level', 'warn', ...TEMPORAL_DEV_DYNAMIC_CONFIG,
    ];
  } else {
    command = process.execPath;
    args = [join(REPO_ROOT, 'bin', 'run-ts.js'), join(REPO_ROOT, spec.entry!), identity(platform.stateDir)];
  }
  const child = spawn(command, args, {
    cwd: dirname(platform.configFile),
    detached: true,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      CLAW_STATE_DIR: platform.stateDir,
      CLAW_CONFIG: platform.configFile,
      TEMPORAL_ADDRESS: temporalAddress(config),
      CLAW_PORT: String(spec.port),
      DATABASE_URL: databaseUrl(config, platform.stateDir),
    },
  });
  closeSync(log);
  const pid = await new Promise<number>((resolveSpawn, reject) => {
    child.once('error', reject);
    child.once('spawn', () => resolveSpawn(child.pid!));
  });
  child.unref();
  writeFileSync(paths.pidFile(spec.name), `${pid}\n`, { mode: 0o600 });
  return pid;
}

// ------------------------------------------------------------------ health

/** What a component's /healthz says beyond ok (the worker: tenants it serves, and those whose key does not open). */
export interface HealthDetail {
  tenants?: string[];
  unavailable?: Record<string, TenantUnavailable>;
}

/** The detail of a /healthz answer's JSON body, as far as it has one. */
async function healthDetail(response: Response): Promise<HealthDetail> {
  const body = (await response.json().catch(() => ({}))) as HealthDetail;
  return {
    ...(Array.isArray(body.tenants) ? { tenants: body.tenants } : {}),
    ...(body.unavailable && Object.keys(body.unavailable).length > 0 ? { unavailable: body.unavailable } : {}),
  };
}

async function probe(spec: ComponentSpec): Promise<{ ok: boolean; detail?: HealthDetail }> {
  // One slow answer is not a sick component: probes wait up to 2 s.
  try {
    if (spec.health === 'http') {
      const response = await fetch(`http://127.0.0.1:${spec.port}/healthz`, { signal: AbortSignal.timeout(2_000) });
      return { ok: response.ok, detail: await healthDetail(response) };
    }
    if (spec.health === 'postgres') {
      const client = new pg.Client({ connectionString: spec.address, connectionTimeoutMillis: 2_000, query_timeout: 2_000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('select 1');
        return { ok: true };
      } finally {
        await client.end().catch(() => {});
      }
    }
    const connection = await Connection.connect({ address: `127.0.0.1:${spec.port}`, connectTimeout: 2_000 });
    try {
      await connection.workflowService.getSystemInfo({});
      return { ok: true };
    } finally {
      await connection.close();
    }
  } catch {
    return { ok: false };
  }
}

function lastLogLine(stateDir: string, name: string): string {
  const file = statePaths(stateDir).logFile(name);
  if (!existsSync(file)) return '';
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

async function waitHealthy(platform: LocalPlatform, spec: ComponentSpec, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await probe(spec)).ok) return;
    if (!alive(pid, platform.stateDir)) {
      rmSync(statePaths(platform.stateDir).pidFile(spec.name), { force: true });
      const last = lastLogLine(platform.stateDir, spec.name);
      throw new ClawError('COMPONENT_FAILED', `${spec.name} exited while starting${last ? `: ${last}` : ''}`, {
        hint: `see 'claw logs ${spec.name}'`,
      });
    }
    if (Date.now() > deadline) {
      throw new ClawError('COMPONENT_UNHEALTHY', `${spec.name} did not become healthy within ${Math.round(timeoutMs / 1000)} s`, {
        hint: `see 'claw logs ${spec.name}'; 'claw down' stops what started`,
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ------------------------------------------------------------------ up / down / status

export interface ComponentState {
  name: ComponentName;
  state: 'running' | 'unhealthy' | 'stopped' | 'not installed';
  pid?: number;
  address: string;
  /** Whether `up` started it now (false: it was already running). */
  started?: boolean;
  /** Why `up` stopped and started it again (it ran but was unhealthy). */
  restarted?: string;
  /** The worker: the tenants it serves, and those whose key does not open (and why). */
  tenants?: string[];
  unavailable?: HealthDetail['unavailable'];
}

/**
 * Bring every installed component up and healthy. Checks that can fail (state dir, ports)
 * run before anything starts, so a failed `up` changes nothing. A component that runs but
 * stays unhealthy is stopped and started again (`restarted` says so), instead of `up`
 * failing on a platform it could heal.
 */
export async function up(
  platform: LocalPlatform,
  options: { timeoutMs?: number; beforeStage1?: () => Promise<void>; onRestart?: (name: ComponentName, why: string) => void } = {},
): Promise<ComponentState[]> {
  ensureStateDir(platform.stateDir);
  checkSocketPath(platform.config, platform.stateDir);
  const specs = components(platform.config, platform.stateDir).filter(installed);
  const restart = new Map<ComponentName, string>();
  for (const spec of specs) {
    if (runningPid(platform.stateDir, spec.name) === undefined) continue;
    if (await healthyWithin(spec, 3_000)) continue;
    restart.set(spec.name, 'it was running but did not answer its health check');
  }
  for (const spec of specs) {
    if (runningPid(platform.stateDir, spec.name) !== undefined && !restart.has(spec.name)) continue;
    // The store listens on a socket in the state dir, not on a TCP port.
    if (spec.name !== 'store' && !restart.has(spec.name) && !(await portFree(spec.port))) throw portInUse(spec);
  }
  for (const [name, why] of restart) {
    options.onRestart?.(name, why);
    await stopComponent(platform.stateDir, name, 10_000);
  }
  writePlatformRecord(platform.stateDir, { configFile: platform.configFile, config: platform.config, startedAt: new Date().toISOString() });
  const pending = specs.filter((s) => runningPid(platform.stateDir, s.name) === undefined);
  const temporalCli = pending.some((s) => s.name === 'temporal') ? (await resolveTemporalCli(statePaths(platform.stateDir).bin)).path : undefined;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = new Set<ComponentName>();
  for (const stage of [0, 1] as const) {
    if (stage === 1) await options.beforeStage1?.();
    await Promise.all(
      specs
        .filter((s) => s.stage === stage)
        .map(async (spec) => {
          let pid = runningPid(platform.stateDir, spec.name);
          if (pid === undefined) {
            pid = await spawnComponent(platform, spec, temporalCli);
            started.add(spec.name);
          }
          await waitHealthy(platform, spec, pid, timeoutMs);
        }),
    );
  }
  return (await status(platform)).map((s) => ({ ...s, started: started.has(s.name), ...(restart.has(s.name) ? { restarted: restart.get(s.name) } : {}) }));
}

async function healthyWithin(spec: ComponentSpec, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if ((await probe(spec)).ok) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** SIGTERM to a component's process group, SIGKILL after `graceMs`; its pid file goes. */
async function stopComponent(stateDir: string, name: ComponentName, graceMs: number): Promise<boolean> {
  const pid = runningPid(stateDir, name);
  if (pid === undefined) return false;
  signalGroup(pid, 'SIGTERM');
  // A stopped (SIGSTOP) process handles SIGTERM only once it runs again.
  signalGroup(pid, 'SIGCONT');
  const deadline = Date.now() + graceMs;
  while (processExists(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (processExists(pid)) signalGroup(pid, 'SIGKILL');
  rmSync(statePaths(stateDir).pidFile(name), { force: true });
  return true;
}

export async function status(platform: Pick<LocalPlatform, 'stateDir' | 'config'>): Promise<ComponentState[]> {
  return Promise.all(
    components(platform.config, platform.stateDir).map(async (spec): Promise<ComponentState> => {
      if (!installed(spec)) return { name: spec.name, state: 'not installed', address: spec.address };
      const pid = runningPid(platform.stateDir, spec.name);
      if (pid === undefined) return { name: spec.name, state: 'stopped', address: spec.address };
      const { ok, detail } = await probe(spec);
      return { name: spec.name, state: ok ? 'running' : 'unhealthy', pid, address: spec.address, ...detail };
    }),
  );
}

/** Stop every component (reverse order): SIGTERM to its process group, SIGKILL after `graceMs`. */
export async function down(platform: Pick<LocalPlatform, 'stateDir' | 'config'>, graceMs = 10_000): Promise<ComponentName[]> {
  const stopped: ComponentName[] = [];
  for (const stage of [1, 0] as const) {
    const names = components(platform.config, platform.stateDir)
      .filter((s) => s.stage === stage)
      .map((s) => s.name);
    await Promise.all(names.map(async (name) => (await stopComponent(platform.stateDir, name, graceMs)) && stopped.push(name)));
  }
  return stopped;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (exited, not yet reaped by init) still answers signal 0.
    if (existsSync(`/proc/${pid}/stat`)) return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return true;
  } catch {
    return false;
  }
}

/** Whether the platform is up enough to take work (Temporal, store and worker running). */
export function requireRunning(platform: Pick<LocalPlatform, 'stateDir'>): void {
  const missing = (['temporal', 'store', 'worker'] as const).filter((name) => runningPid(platform.stateDir, name) === undefined);
  if (missing.length > 0) {
    throw new ClawError('PLATFORM_NOT_RUNNING', `the local platform is not running (${missing.join(', ')} stopped) under ${platform.stateDir}`, {
      hint: "start it with 'claw up' (same --state-dir)",
    });
  }
}
