/**
 * Fairness between tenants on the shared task queue (issue 14): one tenant floods the queue
 * with FLOOD runs at once while another sends one message a second; the quiet tenant's
 * reply latency under the flood against its idle latency (same run, same Worker, same
 * dev server — started here with claw's fairness settings, stacks/local/temporal-cli.ts).
 * Target: the quiet tenant's p99 under the flood within 2x its idle p99.
 *
 * The flood's runs are started and left to run (as a channel's deliveries are: the gateway
 * starts each and answers the webhook); the quiet tenant's sender waits for each reply, as
 * `claw send` does.
 *
 * Three figures: the quiet runs' own time in the queue and Worker (first to last history
 * event: what task-queue fairness governs), and the sender's start-to-reply time, for the
 * messages sent once the flood is queued and for all of them. The last two also hold the
 * dev server's own delays under a burst — a start accepted in milliseconds whose reply
 * reaches the waiting client (the result long-poll) seconds later; the note names the
 * slowest run's parts.
 *
 * The Worker is the worker process's RuntimeWorker with its defaults; the model is the
 * scripted one behind a MODEL_MS delay (a stand-in for a provider's latency), the tool
 * runtime the worker's own (Cedar). Runs are agentRun workflows, as `claw send` starts them.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
// @temporalio/proto is CommonJS: Node's ESM loader only sees its default export.
import proto from '@temporalio/proto';
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
interface Sample {
  /** When it was sent, ms after `since`. */
  at: number;
  /** Start request to reply, as the sender sees it. */
  ms: number;
  /** Its workflow's first history event to its last: the time it spent in the task queue and the Worker. */
  execMs: number;
  /** How long the start request took to be answered. */
  startMs: number;
  handle: WorkflowHandle;
}

async function quietSeries(n: number, since = performance.now()): Promise<Sample[]> {
  const times: Promise<Sample>[] = [];
  for (let i = 0; i < n; i++) {
    const began = performance.now();
    times.push(start(quiet).then(async (handle) => {
      const startMs = performance.now() - began;
      await handle.result();
      const ms = performance.now() - began;
      const events = (await handle.fetchHistory()).events ?? [];
      return { at: began - since, ms, startMs, execMs: eventMs(events[events.length - 1]!) - eventMs(events[0]!), handle };
    }));
    await delay(1_000);
  }
  return Promise.all(times);
}
type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
const eventMs = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
const sorted = (xs: Sample[], field: 'ms' | 'execMs' = 'ms') => xs.map((x) => x[field]).sort((a, b) => a - b);
/** The dev server has one history shard: a burst of starts is turned into tasks in arrival order before matching (where fairness acts) sees them. */
const SETTLE_MS = 5_000;

let idle: number[] = [];
let busy: number[] = [];
let busySettled: number[] = [];
let idleExec: number[] = [];
let busyExec: number[] = [];
/** Where the slowest quiet run under the flood spent its time: the longest gap between two events of its history. */
let slowest = '';
let floodDoneDuringQuiet = 0;
let floodSeconds = 0;
try {
  await quietSeries(3); // warm-up: bundle loaded, caches filled
  const idleSeries = await quietSeries(QUIET);
  idle = sorted(idleSeries);
  idleExec = sorted(idleSeries, 'execMs');
  const floodStart = performance.now();
  // The flood arrives as a channel's deliveries do: the gateway starts each run and answers the
  // webhook; nobody holds a result long-poll open for each of them (2,000 open long-polls are a
  // load of their own on the one frontend, which every quiet reply then waits behind).
  await Promise.all(Array.from({ length: FLOOD }, () => start(flood)));
  const series = await quietSeries(QUIET, floodStart);
  busy = sorted(series);
  busySettled = sorted(series.filter((x) => x.at >= SETTLE_MS));
  busyExec = sorted(series, 'execMs');
  const worst = series.reduce((a, b) => (b.ms > a.ms ? b : a));
  const events = (await worst.handle.fetchHistory()).events ?? [];
  const time = eventMs;
  let gap = { ms: -1, from: '', to: '' };
  for (let i = 1; i < events.length; i++) {
    const ms = time(events[i]!) - time(events[i - 1]!);
    const name = (e: (typeof events)[number]) => proto.temporal.api.enums.v1.EventType[e.eventType ?? 0]?.replace('EVENT_TYPE_', '') ?? String(e.eventType);
    if (ms > gap.ms) gap = { ms, from: name(events[i - 1]!), to: name(events[i]!) };
  }
  slowest = `slowest quiet run ${worst.ms.toFixed(0)} ms (sent ${(worst.at / 1000).toFixed(1)} s into the flood; its start request answered after ${worst.startMs.toFixed(0)} ms, its history spans ${worst.execMs} ms): its longest gap ${gap.ms} ms, ${gap.from} -> ${gap.to}`;
  // The quiet runs are all done: what is still running is the flood's.
  const running = async () => (await clients.get(flood)!.client.workflow.count('ExecutionStatus="Running"')).count;
  floodDoneDuringQuiet = FLOOD - (await running());
  while ((await running()) > 0) await delay(250);
  floodSeconds = (performance.now() - floodStart) / 1000;
} finally {
  await w.close();
  await temporal.stop();
  await postgres.stop();
}

const figures: Figure[] = [
  {
    name: `quiet tenant run time in the queue and Worker, p99, while another tenant floods ${FLOOD} runs`,
    value: percentile(busyExec, 99),
    unit: 'ms',
    baseline: { name: 'the same, idle', value: percentile(idleExec, 99) },
    target: '<= 2x',
    note: `each quiet run's first history event to its last (what task-queue fairness governs); p50 ${percentile(busyExec, 50).toFixed(0)} ms vs ${percentile(idleExec, 50).toFixed(0)} ms idle; all ${busyExec.length} quiet runs`,
  },
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
    note: `${slowest}; all ${busy.length} quiet messages, the first sent as the burst lands: the dev server's single history shard turns the burst's starts into tasks in arrival order before task-queue fairness applies (a multi-shard cluster spreads them); p50 ${percentile(busy, 50).toFixed(0)} ms`,
  },
];
report('fairness', figures);
