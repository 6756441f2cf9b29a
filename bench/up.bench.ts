/**
 * `claw up` to all-healthy on the local target (issue 2), through the real CLI
 * (`node bin/claw.js --state-dir <tmp>` after `claw init`, free ports in `local:`), with
 * the Temporal binary present (TEMPORAL_CLI_PATH or `temporal` on PATH; no download).
 *
 *  - cold: the first `up` of a fresh state dir (creates the Temporal SQLite file, the
 *    store, tenant keys, registers tenants and agents, bundles the workflows);
 *  - warm: `up` again after `claw down` (everything exists; the bundle is cached).
 * The clock runs from spawning the CLI until it exits 0 (it returns only once every
 * component answers its health check); `claw --json status` then confirms all running.
 * Baseline, same run: the Temporal dev server alone (same CLI binary and flags as the
 * supervisor, its own temp SQLite file) from spawn to answering `GetSystemInfo`,
 * cold (new file) and warm (the file of the previous start). `claw down` always runs at the end.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { freePort, freePorts } from '../test/fixtures/ports.js';
import { REPO as repo, runClaw } from '../test/fixtures/claw-cli.js';
import { TEMPORAL_DEV_DYNAMIC_CONFIG, findTemporalCli } from '../stacks/local/temporal-cli.js';
import { report, type Figure } from './lib.js';


const WARM_ROUNDS = Number(process.env.BENCH_WARM_ROUNDS ?? 3);
const temporalCli = findTemporalCli();
if (!temporalCli) throw new Error("no Temporal CLI: set TEMPORAL_CLI_PATH or put 'temporal' on PATH (this bench does not download it)");

const work = mkdtempSync(join(tmpdir(), 'claw-bench-up-'));
const stateDir = join(work, 'state');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

async function claw(args: string[]): Promise<Result> {
  const start = performance.now();
  const result = await runClaw(args, { stateDir, cwd: work, env: { TEMPORAL_CLI_PATH: temporalCli! } });
  return { ...result, ms: performance.now() - start };
}

async function must(args: string[]): Promise<Result> {
  const result = await claw(args);
  if (result.code !== 0) throw new Error(`claw ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()} ${result.stdout.trim()}`);
  return result;
}

async function allRunning(): Promise<void> {
  const status = JSON.parse((await must(['--json', 'status'])).stdout) as { components: { name: string; state: string }[] };
  const bad = status.components.filter((c) => c.state !== 'running' && c.state !== 'not installed');
  if (bad.length > 0) throw new Error(`not healthy after up: ${bad.map((c) => `${c.name}=${c.state}`).join(', ')}`);
}

/** The Temporal dev server alone: spawn → GetSystemInfo answers (polled every 100 ms, as the supervisor does). */
async function temporalAlone(dbFile: string): Promise<number> {
  const port = await freePort();
  const uiPort = await freePort();
  const start = performance.now();
  const child = spawn(
    temporalCli!,
    ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort), '--db-filename', dbFile, '--log-level', 'warn', ...TEMPORAL_DEV_DYNAMIC_CONFIG],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`temporal exited with ${child.exitCode}`);
      try {
        const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1_000 });
        try {
          await connection.workflowService.getSystemInfo({});
          return performance.now() - start;
        } finally {
          await connection.close();
        }
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
    child.kill('SIGTERM');
    const timer = setTimeout(kill, 10_000);
    await exited;
    clearTimeout(timer);
    process.removeListener('exit', kill);
  }
}

/** Spawn to exit of `node bin/run-ts.js <empty.ts>`: the floor every Node service (and the CLI) pays to start through tsx. */
async function tsxFloor(): Promise<number> {
  const { writeFileSync } = await import('node:fs');
  const entry = join(work, 'empty.ts');
  writeFileSync(entry, 'export {};\n');
  const start = performance.now();
  await new Promise<void>((r) => spawn(process.execPath, [join(repo, 'bin', 'run-ts.js'), entry], { stdio: 'ignore' }).on('close', () => r()));
  return performance.now() - start;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const baselineDb = join(work, 'baseline', 'temporal.db');
const clawSeconds = (r: Result) => (JSON.parse(r.stdout) as { seconds: number }).seconds * 1000;

const up: { cold?: Result; warm: Result[]; down: number[] } = { warm: [], down: [] };
const baseline: { cold?: number; warm: number[] } = { warm: [] };
const floor: number[] = [];
try {
  await must(['init']);
  const ports: Record<string, number> = {};
  const names = ['temporalPort', 'temporalUiPort', 'gatewayPort', 'codecServerPort', 'storePort', 'workerPort'];
  const free = await freePorts(names.length);
  names.forEach((name, i) => (ports[name] = free[i]!));
  appendFileSync(join(work, 'claw.yaml'), `local:\n${Object.entries(ports).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`);

  const { mkdirSync } = await import('node:fs');
  mkdirSync(dirname(baselineDb), { recursive: true });
  baseline.cold = await temporalAlone(baselineDb);
  up.cold = await must(['--json', 'up']);
  await allRunning();
  up.down.push((await must(['down'])).ms);
  for (let round = 0; round < WARM_ROUNDS; round++) {
    baseline.warm.push(await temporalAlone(baselineDb));
    floor.push(await tsxFloor());
    up.warm.push(await must(['--json', 'up']));
    await allRunning();
    up.down.push((await must(['down'])).ms);
  }
} finally {
  await claw(['down']);
  rmSync(work, { recursive: true, force: true });
}

const shared = 'machine shared by several engineers (2 cores): figures are noisy';
const warmMs = up.warm.map((r) => r.ms);
const figures: Figure[] = [
  {
    name: 'claw up, cold (first up of a fresh state dir)',
    value: up.cold!.ms / 1000,
    unit: 's',
    baseline: { name: 'Temporal dev server alone, new SQLite file', value: baseline.cold! / 1000 },
    target: '<= 10 s',
    note: `CLI process spawn to exit 0, all components healthy; in-process 'up' reported ${(clawSeconds(up.cold!) / 1000).toFixed(2)} s (the rest is node + tsx startup); ${shared}`,
  },
  {
    name: `claw up, warm (after claw down), median of ${WARM_ROUNDS}`,
    value: median(warmMs) / 1000,
    unit: 's',
    baseline: { name: 'Temporal dev server alone, existing SQLite file', value: median(baseline.warm) / 1000 },
    target: '<= 10 s',
    note: `runs: ${warmMs.map((m) => (m / 1000).toFixed(2)).join(', ')} s; in-process 'up' ${up.warm.map((r) => (clawSeconds(r) / 1000).toFixed(2)).join(', ')} s`,
  },
  {
    name: 'node + tsx start of an empty entry (bin/run-ts.js), median',
    value: median(floor) / 1000,
    unit: 's',
    note: `runs: ${floor.map((m) => (m / 1000).toFixed(2)).join(', ')} s; every Node component (store, worker, gateway, codec-server) and the CLI itself start through tsx, so each pays at least this`,
  },
  {
    name: 'claw down, median',
    value: median(up.down) / 1000,
    unit: 's',
    note: `runs: ${up.down.map((m) => (m / 1000).toFixed(2)).join(', ')} s`,
  },
];
report('up', figures);

/** The results file says, at the top, that the figures come from a shared machine. */
