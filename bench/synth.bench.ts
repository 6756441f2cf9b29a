/**
 * Synthesis of the aws and gcp stacks under Pulumi mocks (policies/infra/synth.ts, what
 * `claw plan --offline` and the stack tests run) for 1, 10, 100 and 500 tenants: wall
 * time, peak memory and resources declared per tenant.
 *
 * Each (target, size) runs in a child process of its own, so one size's heap does not
 * colour the next one's peak: the child imports the stack, synthesizes once with one
 * tenant (warm-up: module init, JIT), then the measured size, and prints one JSON line.
 * Memory is the process's peak RSS (getrusage maxrss) and the peak V8 heap sampled every
 * 20 ms, each next to the RSS before the measured synthesis.
 *
 * Linearity: the marginal time per tenant, (t(N) - t(1)) / (N - 1), at 500 against at 10
 * (ratio ~1 means linear growth; > 1 means each tenant costs more in a bigger install), in
 * wall time and in CPU time (user + system): the machine the results come from is shared,
 * so wall time carries other processes' load (recorded with each figure) and CPU time is
 * the steadier measure of the synthesis itself.
 *
 * Targets (issue 8): 500 tenants < 60 s; <= 30 resources per tenant.
 *   BENCH_SIZES=1,10,100,500 BENCH_TARGETS=aws,gcp npm run bench synth
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report, type Figure } from './lib.js';

const SIZES = (process.env.BENCH_SIZES ?? '1,10,100,500').split(',').map(Number);
const TARGETS = (process.env.BENCH_TARGETS ?? 'aws,gcp').split(',') as ('aws' | 'gcp')[];

interface Sample {
  target: 'aws' | 'gcp';
  tenants: number;
  ms: number;
  /** CPU time (user + system) of the measured synthesis: what it costs on an idle core. */
  cpuMs: number;
  warmupMs: number;
  /** Custom resources (what a deployment creates), all of them and per tenant. */
  resources: number;
  shared: number;
  perTenantMax: number;
  perTenantMean: number;
  rssBeforeMiB: number;
  peakRssMiB: number;
  peakHeapMiB: number;
  /** 1-minute load average when the measured synthesis ended (the machine is shared). */
  load: number;
}

const MiB = 2 ** 20;

async function child(target: 'aws' | 'gcp', tenants: number): Promise<Sample> {
  const synth = await import('../policies/infra/synth.js');
  await synth.synthesize(() => {}); // mocks in place before the stack (and its providers) load
  const program =
    target === 'aws'
      ? { run: (await import('../stacks/aws.js')).awsStack, config: (await import('../stacks/aws.fixture.js')).awsConfig }
      : { run: (await import('../stacks/gcp.js')).gcpStack, config: (await import('../stacks/gcp.fixture.js')).gcpConfig };
  const warm = performance.now();
  await synth.synthesize(() => program.run(program.config(1)) as unknown as Record<string, unknown>);
  const warmupMs = performance.now() - warm;

  const config = program.config(tenants);
  globalThis.gc?.();
  const rssBeforeMiB = process.memoryUsage().rss / MiB;
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 20);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const { resources } = await synth.synthesize(() => program.run(config) as unknown as Record<string, unknown>);
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  clearInterval(sampler);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);

  const custom = resources.filter((r) => r.custom && !r.type.startsWith('pulumi:'));
  const perTenant = new Map<string, number>();
  for (const r of custom) if (r.tenant) perTenant.set(r.tenant, (perTenant.get(r.tenant) ?? 0) + 1);
  const counts = [...perTenant.values()];
  return {
    target,
    tenants,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    warmupMs,
    resources: custom.length,
    shared: custom.filter((r) => !r.tenant).length,
    perTenantMax: Math.max(0, ...counts),
    perTenantMean: counts.length ? counts.reduce((a, b) => a + b, 0) / counts.length : 0,
    rssBeforeMiB,
    peakRssMiB: (process.resourceUsage().maxRSS * 1024) / MiB,
    peakHeapMiB: peakHeap / MiB,
    load: loadavg()[0]!,
  };
}

function measure(target: 'aws' | 'gcp', tenants: number): Sample {
  const here = dirname(fileURLToPath(import.meta.url));
  const result = spawnSync(process.execPath, ['--expose-gc', join(here, '..', 'bin', 'run-ts.js'), fileURLToPath(import.meta.url), '--child', target, String(tenants)], {
    encoding: 'utf8',
    maxBuffer: 16 * MiB,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`synthesis of ${target} with ${tenants} tenants exited with ${result.status}`);
  const line = result.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`no result from the ${target}/${tenants} child: ${result.stdout}`);
  return JSON.parse(line) as Sample;
}

if (process.argv[2] === '--child') {
  const sample = await child(process.argv[3] as 'aws' | 'gcp', Number(process.argv[4]));
  process.stdout.write(`${JSON.stringify(sample)}\n`);
  process.exit(0); // Pulumi's runtime keeps handles open after a mocked run
} else {
  const figures: Figure[] = [];
  for (const target of TARGETS) {
    const samples = new Map<number, Sample>();
    for (const n of SIZES) {
      const s = measure(target, n);
      samples.set(n, s);
      console.error(`${target} ${n} tenants: ${(s.ms / 1000).toFixed(2)} s (CPU ${(s.cpuMs / 1000).toFixed(2)} s, load ${s.load.toFixed(1)}), ${s.resources} resources (${s.shared} shared, <= ${s.perTenantMax}/tenant), peak RSS ${s.peakRssMiB.toFixed(0)} MiB`);
      const note = `${s.resources} resources (${s.shared} shared, ${s.perTenantMean.toFixed(1)} per tenant); warm-up (1 tenant) ${(s.warmupMs / 1000).toFixed(2)} s; load average ${s.load.toFixed(1)} on ${cpus().length} cores`;
      figures.push({ name: `${target} synthesis, ${n} tenants`, value: s.ms / 1000, unit: 's', ...(n === 500 ? { target: '< 60 s' } : {}), note });
      figures.push({
        name: `${target} synthesis CPU time, ${n} tenants`,
        value: s.cpuMs / 1000,
        unit: 's',
        ...(n === 500 ? { target: '< 60 s' } : {}),
        note: 'user + system CPU of the synthesis, GC helper threads included: an estimate of the wall time on an idle machine (the wall time above is inflated by other processes on the shared cores)',
      });
      figures.push({
        name: `${target} peak RSS, ${n} tenants`,
        value: s.peakRssMiB,
        unit: 'MiB',
        note: `RSS before synthesis ${s.rssBeforeMiB.toFixed(0)} MiB; peak V8 heap ${s.peakHeapMiB.toFixed(0)} MiB`,
      });
    }
    const maxPerTenant = Math.max(...[...samples.values()].map((s) => s.perTenantMax));
    figures.push({ name: `${target} resources per tenant (max over sizes)`, value: maxPerTenant, unit: 'resources', target: '<= 30', note: 'custom resources under the claw:<cloud>:Tenant component (components excluded)' });
    const one = samples.get(1);
    const marginal = (n: number, of: (s: Sample) => number) => {
      const s = samples.get(n);
      return s && one && n > 1 ? (of(s) - of(one)) / (n - 1) : undefined;
    };
    for (const [what, of] of [['time', (s: Sample) => s.ms], ['CPU time', (s: Sample) => s.cpuMs]] as const) {
      const at10 = marginal(10, of);
      const at500 = marginal(500, of);
      if (at10 === undefined || at500 === undefined) continue;
      figures.push({
        name: `${target} marginal ${what} per tenant at 500 tenants`,
        value: at500,
        unit: 'ms',
        baseline: { name: 'at 10 tenants', value: at10 },
        target: '<= 2x',
        note: '(t(N) - t(1)) / (N - 1); a ratio ~1 is linear growth, > 1 means each tenant costs more in a bigger install',
      });
    }
    const shared = [...samples.values()].map((s) => s.shared);
    figures.push({ name: `${target} shared resources (${SIZES.join(', ')} tenants)`, value: Math.max(...shared), unit: 'resources', note: new Set(shared).size === 1 ? 'the same at every size' : `varies with size: ${shared.join(', ')}` });
  }
  report('synth', figures);
}
