/**
 * Fairness between tenants on the shared task queue (issue 14): one tenant floods the queue
 * with FLOOD runs at once while another sends one message a second; the quiet tenant's
 * reply latency under the flood against its idle latency (same run, same Worker, same
 * dev server — started here with claw's fairness settings, stacks/local/temporal-cli.ts).
 * Target: the quiet tenant's p99 under the flood within 2x its idle p99.
 *
 * The Worker is the worker process's RuntimeWorker with its defaults; the model is the
 * scripted one behind a MODEL_MS delay (a stand-in for a provider's latency), the tool
 * runtime the worker's own (Cedar). Runs are agentRun workflows, as `claw send` starts them.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { startPostgres, startTemporal } from '../test/fixtures/servers.js';
import type { TenantClient } from '../runtime/temporal/connection.js';
import { RUNTIME_TASK_QUEUE } from '../runtime/temporal/names.js';
import { startSharedWorker } from '../runtime/worker/testing/shared-worker.js';
import { percentile, report, type Figure } from './lib.js';

const FLOOD = Number(process.env.BENCH_FLOOD ?? 2_000);
const QUIET = Number(process.env.BENCH_QUIET ?? 20);
const MODEL_MS = Number(process.env.BENCH_MODEL_MS ?? 50);

const temporal = await startTemporal();
const postgres = await startPostgres();
const [flood, quiet] = ['flood', 'quiet'];
const w = await startSharedWorker({
  temporalAddress: temporal.address,
  postgresUrl: postgres.url,
  tenants: [flood, quiet],
  taskQueue: RUNTIME_TASK_QUEUE,
  wrap: (base) => ({ ...base, callModel: async (input) => (await delay(MODEL_MS), base.callModel(input)) }),
});
const clients = new Map<string, TenantClient>();
for (const id of [flood, quiet]) clients.set(id, await w.clientOf(id));

function start(tenantId: string): Promise<WorkflowHandle> {
  return w.startRun(clients.get(tenantId)!);
}

/** One message a second from the quiet tenant: when each was sent (ms since `since`) and its start-to-reply time. */
async function quietSeries(n: number, since = performance.now()): Promise<Array<{ at: number; ms: number }>> {
  const times: Promise<{ at: number; ms: number }>[] = [];
  for (let i = 0; i < n; i++) {
    const began = performance.now();
    times.push(start(quiet).then((h) => h.result()).then(() => ({ at: began - since, ms: performance.now() - began })));
    await delay(1_000);
  }
  return Promise.all(times);
}
const sorted = (xs: Array<{ ms: number }>) => xs.map((x) => x.ms).sort((a, b) => a - b);
/** The dev server has one history shard: a burst of starts is turned into tasks in arrival order before matching (where fairness acts) sees them. */
const SETTLE_MS = 5_000;

let idle: number[] = [];
let busy: number[] = [];
let busySettled: number[] = [];
let floodDoneDuringQuiet = 0;
let floodSeconds = 0;
try {
  await quietSeries(3); // warm-up: bundle loaded, caches filled
  idle = sorted(await quietSeries(QUIET));
  const floodStart = performance.now();
  const floodRuns = await Promise.all(Array.from({ length: FLOOD }, () => start(flood)));
  let done = 0;
  const floodFinished = Promise.all(floodRuns.map((h) => h.result().then(() => void done++)));
  const series = await quietSeries(QUIET, floodStart);
  busy = sorted(series);
  busySettled = sorted(series.filter((x) => x.at >= SETTLE_MS));
  floodDoneDuringQuiet = done;
  await floodFinished;
  floodSeconds = (performance.now() - floodStart) / 1000;
} finally {
  await w.close();
  await temporal.stop();
  await postgres.stop();
}

const figures: Figure[] = [
  {
    name: `quiet tenant reply p99 while ${FLOOD} runs of another tenant are queued`,
    value: percentile(busySettled, 99),
    unit: 'ms',
    baseline: { name: 'quiet tenant reply p99, idle', value: percentile(idle, 99) },
    target: '<= 2x',
    note: `one message a second, ${busySettled.length} sent from ${SETTLE_MS / 1000} s after the flood was started (its runs queued); p50 ${percentile(busySettled, 50).toFixed(0)} ms vs ${percentile(idle, 50).toFixed(0)} ms idle; ${floodDoneDuringQuiet}/${FLOOD} flood runs done while the quiet ones ran; the flood took ${floodSeconds.toFixed(1)} s (${(FLOOD / floodSeconds).toFixed(0)} runs/s); model call ${MODEL_MS} ms`,
  },
  {
    name: `quiet tenant reply p99 from the moment ${FLOOD} runs are started at once`,
    value: percentile(busy, 99),
    unit: 'ms',
    baseline: { name: 'quiet tenant reply p99, idle', value: percentile(idle, 99) },
    note: `all ${busy.length} quiet messages, the first sent as the burst lands: the dev server's single history shard turns the burst's starts into tasks in arrival order before task-queue fairness applies (a multi-shard cluster spreads them); p50 ${percentile(busy, 50).toFixed(0)} ms`,
  },
];
report('fairness', figures);
