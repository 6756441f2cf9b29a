/**
 * The isolate sandbox (runtime/sandbox/isolate.ts, issue 5): cold start, warm-pool
 * acquire and memory per call, against bare `isolated-vm` in the same run.
 *
 *  - cold start: `acquire()` on a sandbox with no pool (a new 64 MB isolate and a fresh
 *    context), against a bare `new ivm.Isolate({ memoryLimit: 64 })` + `createContext()`;
 *  - cold call: a whole `run()` of a trivial tool with no pool (acquire, globals,
 *    compile, run, result copy, dispose), against the bare isolate + context + one
 *    `eval` + dispose;
 *  - warm-pool acquire: `acquire()` when the pool is full (the pool refills between
 *    calls, as it does between tool calls);
 *  - memory: the isolate's heap in use at the end of a call (`heapBytes`), against a bare
 *    isolate's heap after the same eval; and the process RSS growth per call over many
 *    calls (each call's isolate is disposed, so this should stay near zero).
 */
import ivm from '../runtime/sandbox/ivm.js';
import type ivmTypes from 'isolated-vm';
import { IsolateSandbox } from '../runtime/sandbox/isolate.js';
import { percentile, report, type Figure } from './lib.js';


const COLD = Number(process.env.BENCH_COLD ?? 300);
const WARM = Number(process.env.BENCH_WARM ?? 300);
const MEMORY_CALLS = Number(process.env.BENCH_MEMORY_CALLS ?? 1_000);
const MEMORY_MB = 64;
const TOOL = 'function run(args) { return { sum: args.values.reduce((a, b) => a + b, 0) }; }';
const ARGS = { values: [1, 2, 3, 4, 5] };

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

async function bareIsolate(): Promise<{ isolate: ivmTypes.Isolate; context: ivmTypes.Context }> {
  const isolate = new ivm.Isolate({ memoryLimit: MEMORY_MB });
  const context = await isolate.createContext();
  return { isolate, context };
}

const cold = new IsolateSandbox({ poolSize: 0 });
const pooled = new IsolateSandbox({ poolSize: 2, poolMemoryMb: MEMORY_MB });
await pooled.warm();

// Correctness first: the tool runs and returns the sum.
const check = await cold.run({ code: TOOL, args: ARGS });
if (!check.ok || (check.value as { sum: number }).sum !== 15) throw new Error(`tool did not run: ${JSON.stringify(check)}`);

const coldAcquire: number[] = [];
const bareStart: number[] = [];
const coldCall: number[] = [];
const bareCall: number[] = [];
const heap: number[] = [];
const bareHeap: number[] = [];
for (let i = 0; i < 20; i++) {
  // warm-up (JIT, allocator)
  (await cold.acquire()).isolate.dispose();
  (await bareIsolate()).isolate.dispose();
}
for (let i = 0; i < COLD; i++) {
  // Interleaved, so both see the same machine.
  let t = process.hrtime.bigint();
  const acquired = await cold.acquire();
  coldAcquire.push(ms(t));
  acquired.isolate.dispose();

  t = process.hrtime.bigint();
  const bare = await bareIsolate();
  bareStart.push(ms(t));
  bare.isolate.dispose();

  t = process.hrtime.bigint();
  const outcome = await cold.run({ code: TOOL, args: ARGS });
  coldCall.push(ms(t));
  if (!outcome.ok) throw new Error(`tool failed: ${JSON.stringify(outcome.error)}`);
  if (outcome.heapBytes !== undefined) heap.push(outcome.heapBytes);

  t = process.hrtime.bigint();
  const b = await bareIsolate();
  const value = await b.context.eval(`${TOOL}; JSON.stringify(run(${JSON.stringify(ARGS)}))`, { copy: true });
  bareHeap.push((await b.isolate.getHeapStatistics()).used_heap_size);
  b.isolate.dispose();
  bareCall.push(ms(t));
  if (JSON.parse(value as string).sum !== 15) throw new Error('bare eval failed');
}

// Warm pool: wait until it is full again before each acquire (the refill runs on setImmediate).
const warmAcquire: number[] = [];
const poolState = pooled as unknown as { pool: unknown[] };
for (let i = 0; i < WARM; i++) {
  for (let spins = 0; poolState.pool.length < 2 && spins < 1_000; spins++) await new Promise((r) => setTimeout(r, 1));
  const t = process.hrtime.bigint();
  const acquired = await pooled.acquire();
  warmAcquire.push(ms(t));
  acquired.isolate.dispose();
}
// Back to back: calls as fast as they come, the pool may run dry (then a call starts cold).
const backToBack: number[] = [];
for (let i = 0; i < WARM; i++) {
  const t = process.hrtime.bigint();
  const outcome = await pooled.run({ code: TOOL, args: ARGS });
  backToBack.push(ms(t));
  if (!outcome.ok) throw new Error('pooled tool failed');
}

// RSS growth per call over many calls (GC first, so garbage does not count).
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const rssBefore = process.memoryUsage().rss;
for (let i = 0; i < MEMORY_CALLS; i++) await pooled.run({ code: TOOL, args: ARGS });
gc?.();
await new Promise((r) => setTimeout(r, 200));
const rssAfter = process.memoryUsage().rss;
cold.close();
pooled.close();

const shared = 'machine shared by several engineers (2 cores): figures are noisy';
const c = sorted(coldAcquire);
const b = sorted(bareStart);
const cc = sorted(coldCall);
const bc = sorted(bareCall);
const w = sorted(warmAcquire);
const btb = sorted(backToBack);
const figures: Figure[] = [
  { name: 'cold start p50 (acquire, no pool: new isolate + context)', value: percentile(c, 50), unit: 'ms', baseline: { name: 'bare new ivm.Isolate + createContext', value: percentile(b, 50) }, target: '< 3 ms', note: `${COLD} starts; p99 ${percentile(c, 99).toFixed(2)} ms vs bare ${percentile(b, 99).toFixed(2)} ms; ${shared}` },
  { name: 'cold call p50 (whole run() of a trivial tool, no pool)', value: percentile(cc, 50), unit: 'ms', baseline: { name: 'bare isolate + context + eval + dispose', value: percentile(bc, 50) }, note: `p99 ${percentile(cc, 99).toFixed(2)} ms vs bare ${percentile(bc, 99).toFixed(2)} ms; the sandbox adds console/host-function globals, a compiled script, a JSON result copy, CPU/wall watchdogs` },
  { name: 'warm-pool acquire p99 (pool full)', value: percentile(w, 99), unit: 'ms', baseline: { name: 'bare new ivm.Isolate + createContext p99', value: percentile(b, 99) }, target: '< 5 ms', note: `${WARM} acquires; p50 ${percentile(w, 50).toFixed(3)} ms` },
  { name: 'pooled run() p99, back to back (pool may run dry)', value: percentile(btb, 99), unit: 'ms', baseline: { name: 'cold call p99', value: percentile(cc, 99) }, note: `p50 ${percentile(btb, 50).toFixed(2)} ms; pool of 2 refilled on setImmediate` },
  { name: 'isolate heap in use at the end of a call p50', value: percentile(sorted(heap), 50) / 1024, unit: 'KiB', baseline: { name: 'bare isolate heap after the same eval', value: percentile(sorted(bareHeap), 50) / 1024 }, note: `V8 heap of the call's isolate (its 64 MB limit is a ceiling, not an allocation)` },
  { name: 'process RSS growth per call', value: (rssAfter - rssBefore) / MEMORY_CALLS / 1024, unit: 'KiB', note: `${MEMORY_CALLS} pooled calls, RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssAfter / 2 ** 20).toFixed(0)} MiB${gc ? '' : ' (no --expose-gc: includes garbage not yet collected)'}; each isolate is disposed after its call` },
];
report('isolate', figures);

/** The results file says, at the top, that the figures come from a shared machine. */
