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
 * Figures: the quiet runs' own time in the queue and Worker (first to last history event:
 * what task-queue fairness governs), and the sender's start-to-reply time, for the messages
 * sent once the flood is queued and for all of them. The reply times also hold the dev
 * server's own delays under a burst — a start accepted in milliseconds whose reply reaches
 * the waiting client (the result long-poll) seconds later; a note names the slowest run's
 * parts, and each run's history is split into phases (waiting for a workflow task or an
 * activity to be taken, running it).
 *
 * The control: a third tenant sends its own message every second alongside the quiet one,
 * on a queue of its own served by a Worker of its own in the same process — what the
 * per-tenant Workers this design replaced gave each tenant, with slots the flood never
 * holds. It measures what the machine itself (2 cores shared by the Worker, the dev server
 * with its one history shard, and PostgreSQL, all saturated by the flood) costs a run that
 * waits behind nobody on its queue; the quiet tenant's figure against the control's is what
 * sharing the queue with the flood costs.
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
import { RuntimeWorker } from '../runtime/worker/runtime-worker.js';
import { startSharedWorker } from '../runtime/worker/testing/shared-worker.js';
import { percentile, report, type Figure } from './lib.js';

const FLOOD = Number(process.env.BENCH_FLOOD ?? 2_000);
const QUIET = Number(process.env.BENCH_QUIET ?? 20);
const MODEL_MS = Number(process.env.BENCH_MODEL_MS ?? 50);

const temporal = await startTemporal();
const postgres = await startPostgres();
const [flood, quiet, alone] = ['flood', 'quiet', 'alone'];
/** The control tenant's own queue (see the header). */
const ALONE_QUEUE = 'claw-control-alone';
const w = await startSharedWorker({
  temporalAddress: temporal.address,
  postgresUrl: postgres.url,
  tenants: [flood, quiet, alone],
  taskQueue: RUNTIME_TASK_QUEUE,
  wrap: (base) => ({ ...base, callModel: async (input) => (await delay(MODEL_MS), base.callModel(input)) }),
});
const clients = new Map<string, TenantClient>();
for (const id of [flood, quiet]) clients.set(id, await w.clientOf(id));
clients.set(alone, await w.clientOf(alone, ALONE_QUEUE));
const aloneWorker = new RuntimeWorker({ connection: w.nativeConnection, taskQueue: ALONE_QUEUE, workflowBundle: w.bundle, activities: w.activities, keyring: w.keyring });
await aloneWorker.ensure([alone]);

function start(tenantId: string): Promise<WorkflowHandle> {
  return w.startRun(clients.get(tenantId)!);
}

/** One message: when it was sent (ms since `since`) and how long its reply took. */
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
  /** Its history's time by phase (see `phases`). */
  phases: Record<string, number>;
}

/** One message a second from `tenant`, each waited for as `claw send` does. */
async function quietSeries(n: number, since = performance.now(), tenant = quiet): Promise<Sample[]> {
  const times: Promise<Sample>[] = [];
  for (let i = 0; i < n; i++) {
    const began = performance.now();
    times.push(start(tenant).then(async (handle) => {
      const startMs = performance.now() - began;
      await handle.result();
      const ms = performance.now() - began;
      const events = (await handle.fetchHistory()).events ?? [];
      return { at: began - since, ms, startMs, execMs: eventMs(events[events.length - 1]!) - eventMs(events[0]!), handle, phases: phases(events) };
    }));
    await delay(1_000);
  }
  return Promise.all(times);
}
type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
const eventMs = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
const eventName = (e: HistoryEvent) => proto.temporal.api.enums.v1.EventType[e.eventType ?? 0]?.replace('EVENT_TYPE_', '') ?? String(e.eventType);
/** A run's history time by phase: waiting for a workflow task (its first, its later ones) or an activity to be taken, running it, and the rest. */
function phases(events: HistoryEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  let workflowTasks = 0;
  for (let i = 1; i < events.length; i++) {
    const [from, to] = [eventName(events[i - 1]!), eventName(events[i]!)];
    const queued = from === 'WORKFLOW_TASK_SCHEDULED' && to === 'WORKFLOW_TASK_STARTED';
    // The first workflow task comes from the shared queue; the next ones from the Worker's own (sticky) queue while it holds the run.
    if (queued) workflowTasks++;
    const phase =
      queued ? (workflowTasks === 1 ? 'first workflow task queued' : 'later workflow tasks queued')
      : from === 'WORKFLOW_TASK_STARTED' ? 'workflow task in the Worker'
      : from === 'ACTIVITY_TASK_SCHEDULED' && to === 'ACTIVITY_TASK_STARTED' ? 'activity queued'
      : from === 'ACTIVITY_TASK_STARTED' ? 'activity running'
      : 'other';
    out[phase] = (out[phase] ?? 0) + eventMs(events[i]!) - eventMs(events[i - 1]!);
  }
  return out;
}
/** The mean time by phase over `xs`, as 'phase a/b ms' (idle / busy). */
function phaseTable(idleRuns: Sample[], busyRuns: Sample[]): string {
  const mean = (xs: Sample[], k: string) => xs.reduce((a, x) => a + (x.phases[k] ?? 0), 0) / Math.max(1, xs.length);
  const keys = [...new Set([...idleRuns, ...busyRuns].flatMap((x) => Object.keys(x.phases)))];
  return keys.map((k) => `${k} ${mean(idleRuns, k).toFixed(0)}/${mean(busyRuns, k).toFixed(0)} ms`).join(', ');
}
/** The dev server has one history shard: a burst of starts is turned into tasks in arrival order before matching (where fairness acts) sees them. */
const SETTLE_MS = 5_000;

/** The quiet and the control tenants' messages, idle and under the flood. */
const runs = { idle: [] as Sample[], busy: [] as Sample[], aloneIdle: [] as Sample[], aloneBusy: [] as Sample[] };
/** Where the slowest quiet run under the flood spent its time: the longest gap between two events of its history. */
let slowest = '';
let floodDoneDuringQuiet = 0;
let floodSeconds = 0;
try {
  await Promise.all([quietSeries(3), quietSeries(3, undefined, alone)]); // warm-up: bundle loaded, caches filled
  [runs.idle, runs.aloneIdle] = await Promise.all([quietSeries(QUIET), quietSeries(QUIET, undefined, alone)]);
  const floodStart = performance.now();
  // The flood arrives as a channel's deliveries do: the gateway starts each run and answers the
  // webhook; nobody holds a result long-poll open for each of them (2,000 open long-polls are a
  // load of their own on the one frontend, which every quiet reply then waits behind).
  await Promise.all(Array.from({ length: FLOOD }, () => start(flood)));
  [runs.busy, runs.aloneBusy] = await Promise.all([quietSeries(QUIET, floodStart), quietSeries(QUIET, floodStart, alone)]);
  const worst = runs.busy.reduce((a, b) => (b.ms > a.ms ? b : a));
  const events = (await worst.handle.fetchHistory()).events ?? [];
  let gap = { ms: -1, from: '', to: '' };
  for (let i = 1; i < events.length; i++) {
    const ms = eventMs(events[i]!) - eventMs(events[i - 1]!);
    if (ms > gap.ms) gap = { ms, from: eventName(events[i - 1]!), to: eventName(events[i]!) };
  }
  slowest = `slowest quiet run ${worst.ms.toFixed(0)} ms (sent ${(worst.at / 1000).toFixed(1)} s into the flood; its start request answered after ${worst.startMs.toFixed(0)} ms, its history spans ${worst.execMs} ms): its longest gap ${gap.ms} ms, ${gap.from} -> ${gap.to}`;
  // The quiet runs are all done: what is still running is the flood's.
  const running = async () => (await clients.get(flood)!.client.workflow.count('ExecutionStatus="Running"')).count;
  floodDoneDuringQuiet = FLOOD - (await running());
  while ((await running()) > 0) await delay(250);
  floodSeconds = (performance.now() - floodStart) / 1000;
} finally {
  await aloneWorker.shutdown();
  await w.close();
  await temporal.stop();
  await postgres.stop();
}

/** The q-th percentile of `xs`' run time in the queue and Worker (execMs) or reply time (ms). */
const p = (xs: Sample[], q: number, field: 'ms' | 'execMs' = 'execMs') => percentile(xs.map((x) => x[field]).sort((a, b) => a - b), q);
const settled = runs.busy.filter((x) => x.at >= SETTLE_MS);
const figures: Figure[] = [
  {
    name: `quiet tenant run time in the queue and Worker, p99, while another tenant floods ${FLOOD} runs`,
    value: p(runs.busy, 99),
    unit: 'ms',
    baseline: { name: 'the same, idle', value: p(runs.idle, 99) },
    target: '<= 2x',
    note: `each quiet run's first history event to its last (what task-queue fairness governs); p50 ${p(runs.busy, 50).toFixed(0)} ms vs ${p(runs.idle, 50).toFixed(0)} ms idle; all ${runs.busy.length} quiet runs; mean time by phase, idle/flood: ${phaseTable(runs.idle, runs.busy)}`,
  },
  {
    name: `control: a tenant on a queue and Worker of its own, run time p99 under the same flood`,
    value: p(runs.aloneBusy, 99),
    unit: 'ms',
    baseline: { name: 'the same, idle', value: p(runs.aloneIdle, 99) },
    note: `what the per-tenant Workers this design replaced give on this machine: no flood task ever holds its queue or slots, so what it loses is the machine's (CPU, the dev server's one history shard); p50 ${p(runs.aloneBusy, 50).toFixed(0)} ms vs ${p(runs.aloneIdle, 50).toFixed(0)} ms idle; mean time by phase, idle/flood: ${phaseTable(runs.aloneIdle, runs.aloneBusy)}`,
  },
  {
    name: `quiet tenant on the shared queue vs the control on its own, run time p99 under the flood`,
    value: p(runs.busy, 99),
    unit: 'ms',
    baseline: { name: 'the control, under the same flood', value: p(runs.aloneBusy, 99) },
    note: `what sharing the queue with the flood costs over a queue of one's own, measured side by side; p50 ${p(runs.busy, 50).toFixed(0)} vs ${p(runs.aloneBusy, 50).toFixed(0)} ms`,
  },
  {
    name: `quiet tenant reply p99 while ${FLOOD} runs of another tenant are queued`,
    value: p(settled, 99, 'ms'),
    unit: 'ms',
    baseline: { name: 'quiet tenant reply p99, idle', value: p(runs.idle, 99, 'ms') },
    target: '<= 2x',
    note: `one message a second, ${settled.length} sent from ${SETTLE_MS / 1000} s after the flood was started (its runs queued); p50 ${p(settled, 50, 'ms').toFixed(0)} ms vs ${p(runs.idle, 50, 'ms').toFixed(0)} ms idle; ${floodDoneDuringQuiet}/${FLOOD} flood runs done while the quiet ones ran; the flood took ${floodSeconds.toFixed(1)} s (${(FLOOD / floodSeconds).toFixed(0)} runs/s); model call ${MODEL_MS} ms`,
  },
  {
    name: `quiet tenant reply p99 from the moment ${FLOOD} runs are started at once`,
    value: p(runs.busy, 99, 'ms'),
    unit: 'ms',
    baseline: { name: 'quiet tenant reply p99, idle', value: p(runs.idle, 99, 'ms') },
    note: `${slowest}; all ${runs.busy.length} quiet messages, the first sent as the burst lands: the dev server's single history shard turns the burst's starts into tasks in arrival order before task-queue fairness applies (a multi-shard cluster spreads them); p50 ${p(runs.busy, 50, 'ms').toFixed(0)} ms`,
  },
];
report('fairness', figures);
