/**
 * Tenant density (issue 14): the local target with 1, 10, 100 and 500 tenants in claw.yaml,
 * through the real CLI (`claw init`, the tenants written into claw.yaml, `claw up`), each
 * in a fresh state dir with its own Temporal dev server.
 *
 *  - `claw up` (CLI spawn to exit 0, every component healthy: that includes the worker
 *    checking every tenant's key and polling) — target < 30 s with 500 tenants;
 *  - the worker process's RSS and thread count (/proc/<pid>/status) once healthy, and again
 *    after one run for one tenant — targets < 1.5 GB with 500 tenants, < 1 MB per tenant
 *    beyond the first (the baseline: the same install with 1 tenant, same run).
 *
 * Before the shared task queue the worker ran one Temporal Worker per tenant: measured on
 * this machine, RSS grew ~30-37 MB per tenant (0.42 GB with 1, 1.9-2.3 GB with 51), and
 * `claw up` took 20.7 s with 51 tenants (issue 14's numbers; that design is gone, so it is
 * not re-measured here). BENCH_TENANTS=1,10 runs fewer sizes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../test/fixtures/ports.js';
import { runClaw } from '../test/fixtures/claw-cli.js';
import { findTemporalCli } from '../stacks/local/temporal-cli.js';
import { report, type Figure } from './lib.js';

const SIZES = (process.env.BENCH_TENANTS ?? '1,10,100,500').split(',').map(Number);
const temporalCli = findTemporalCli();
if (!temporalCli) throw new Error("no Temporal CLI: set TEMPORAL_CLI_PATH or put 'temporal' on PATH (this bench does not download it)");

interface Size {
  tenants: number;
  upMs: number;
  rssMiB: number;
  threads: number;
  rssAfterRunMiB: number;
  runMs: number;
}

function procStatus(pid: number): { rssMiB: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return { rssMiB: field('VmRSS') / 1024, threads: field('Threads') };
}

async function measure(tenants: number): Promise<Size> {
  const work = mkdtempSync(join(tmpdir(), 'claw-bench-tenants-'));
  const stateDir = join(work, 'state');
  const claw = async (args: string[]) => {
    const start = performance.now();
    const result = await runClaw(args, { stateDir, cwd: work, env: { TEMPORAL_CLI_PATH: temporalCli! } });
    if (result.code !== 0) throw new Error(`claw ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()} ${result.stdout.trim()}`);
    return { ...result, ms: performance.now() - start };
  };
  try {
    await claw(['init']);
    // acme (the starter agent's tenant) plus tenants t0001...; keys are created by `claw up`.
    const ids = ['acme', ...Array.from({ length: tenants - 1 }, (_, i) => `t${String(i + 1).padStart(4, '0')}`)];
    const config = readFileSync(join(work, 'claw.yaml'), 'utf8');
    const tenantsYaml = `tenants:\n${ids.map((id) => `  - { id: ${id}, name: ${id} }`).join('\n')}\n`;
    const names = ['temporalPort', 'temporalUiPort', 'gatewayPort', 'codecServerPort', 'storePort', 'workerPort'];
    const ports = await freePorts(names.length);
    writeFileSync(
      join(work, 'claw.yaml'),
      config.replace(/^tenants:\n(?:  .*\n|    .*\n)*/m, tenantsYaml) + `local:\n${names.map((n, i) => `  ${n}: ${ports[i]}`).join('\n')}\n`,
    );
    const up = await claw(['--json', 'up']);
    const status = JSON.parse((await claw(['--json', 'status'])).stdout) as { components: { name: string; state: string; pid?: number; tenants?: string[] }[] };
    const worker = status.components.find((c) => c.name === 'worker')!;
    if (worker.state !== 'running' || !worker.pid) throw new Error(`worker not running: ${JSON.stringify(worker)}`);
    if (worker.tenants?.length !== tenants) throw new Error(`worker serves ${worker.tenants?.length} tenants, expected ${tenants}`);
    const idle = procStatus(worker.pid);
    const sent = await claw(['send', '--tenant', 'acme', '--agent', 'helper', 'hello']);
    const afterRun = procStatus(worker.pid);
    return { tenants, upMs: up.ms, rssMiB: idle.rssMiB, threads: idle.threads, rssAfterRunMiB: afterRun.rssMiB, runMs: sent.ms };
  } finally {
    await runClaw(['down'], { stateDir, cwd: work, env: { TEMPORAL_CLI_PATH: temporalCli! } }).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

const results: Size[] = [];
for (const size of SIZES) {
  const result = await measure(size);
  console.log(`tenants ${size}: up ${(result.upMs / 1000).toFixed(1)} s, worker RSS ${result.rssMiB.toFixed(0)} MiB (${result.threads} threads), after one run ${result.rssAfterRunMiB.toFixed(0)} MiB`);
  results.push(result);
}

const one = results.find((r) => r.tenants === 1) ?? results[0]!;
const figures: Figure[] = results.flatMap((r): Figure[] => [
  {
    name: `claw up with ${r.tenants} tenant(s)`,
    value: r.upMs / 1000,
    unit: 's',
    baseline: { name: `claw up with ${one.tenants} tenant(s)`, value: one.upMs / 1000 },
    ...(r.tenants >= 500 ? { target: '< 30 s' } : {}),
    note: 'CLI spawn to exit 0, every component healthy (fresh state dir: keys created, tenants registered)',
  },
  {
    name: `worker RSS with ${r.tenants} tenant(s)`,
    value: r.rssMiB,
    unit: 'MiB',
    baseline: { name: `worker RSS with ${one.tenants} tenant(s)`, value: one.rssMiB },
    ...(r.tenants >= 500 ? { target: '< 1536 MiB' } : {}),
    note: `${r.threads} threads; ${r.rssAfterRunMiB.toFixed(0)} MiB after one run (claw send ${(r.runMs / 1000).toFixed(2)} s)`,
  },
  ...(r.tenants > one.tenants
    ? [{
        name: `worker memory per tenant beyond the first (${r.tenants} tenants)`,
        value: (r.rssMiB - one.rssMiB) / (r.tenants - one.tenants),
        unit: 'MiB',
        target: '< 1 MiB',
        note: 'before the shared queue: ~30-37 MiB per tenant (one Temporal Worker each)',
      }]
    : []),
]);
report('tenants', figures);
