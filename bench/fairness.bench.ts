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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { NativeConnection } from '@temporalio/worker';
import { Connection, type WorkflowHandle } from '@temporalio/client';
import { startPostgres, startTemporal } from '../test/fixtures/servers.js';
import { parseAgentFile, parseConfig } from '../core/config/load.js';
import { STARTER_AGENT } from '../core/config/starter.js';
import { createActivities } from '../runtime/activities/index.js';
import { modelToolCatalog } from '../runtime/activities/builtin-tools.js';
import { tenantPayloadCodec } from '../runtime/crypto/codec.js';
import { localTenantKeyring } from '../runtime/crypto/index.js';
import { MetadataStore } from '../runtime/store/metadata.js';
import { workflowBundle } from '../runtime/temporal/bundle.js';
import { tenantClient, type TenantClient } from '../runtime/temporal/connection.js';
import { runWorkflowId } from '../runtime/temporal/names.js';
import { testSecrets } from '../runtime/workflows/testing/harness.js';
import { RuntimeWorker } from '../runtime/worker/runtime-worker.js';
import { WorkerToolRuntime } from '../runtime/worker/tool-runtime.js';
import { percentile, report, type Figure } from './lib.js';

const FLOOD = Number(process.env.BENCH_FLOOD ?? 2_000);
const QUIET = Number(process.env.BENCH_QUIET ?? 20);
const MODEL_MS = Number(process.env.BENCH_MODEL_MS ?? 50);

const temporal = await startTemporal();
const postgres = await startPostgres();
const stateDir = mkdtempSync(join(tmpdir(), 'claw-bench-fair-'));
const keyring = localTenantKeyring(stateDir);
const store = await MetadataStore.connect(postgres.url, { keyring });
const [flood, quiet] = ['flood', 'quiet'];
const starter = parseAgentFile(STARTER_AGENT, 'helper.yaml');
for (const id of [flood, quiet]) {
  await keyring.createTenantKey(id);
  await store.upsertTenant({ id, name: id });
  await store.applyAgent({ ...starter, tenant: id, model: { provider: 'scripted', script: [{ reply: 'ok' }] } });
}
const configFile = join(stateDir, 'claw.yaml');
const config = parseConfig(`tenants: [{ id: ${flood}, name: F }, { id: ${quiet}, name: Q }]\n`, configFile);
const secrets = testSecrets();
const tools = await WorkerToolRuntime.create({ config, configFile, store, secrets, isolatePoolSize: 1 });
const base = createActivities({ store, secrets, toolCall: tools.toolCall, toolCatalog: () => modelToolCatalog(config) });
const nativeConnection = await NativeConnection.connect({ address: temporal.address });
const connection = await Connection.connect({ address: temporal.address });
const clients = new Map<string, TenantClient>();
for (const id of [flood, quiet]) clients.set(id, tenantClient(connection, id, { payloadCodecs: [tenantPayloadCodec(await keyring.forTenant(id))] }));
const workers = new RuntimeWorker({
  connection: nativeConnection,
  workflowBundle: await workflowBundle(join(stateDir, 'cache')),
  keyring,
  activities: { ...base, callModel: async (input) => (await delay(MODEL_MS), base.callModel(input)) },
});
await workers.ensure([flood, quiet]);

function start(tenantId: string): Promise<WorkflowHandle> {
  const client = clients.get(tenantId)!;
  const runId = `r-${randomBytes(5).toString('hex')}`;
  return client.client.workflow.start('agentRun', { ...client.route, workflowId: runWorkflowId(tenantId, runId), args: [{ tenantId, agentId: 'helper', runId, message: 'hi' }] });
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
  await workers.shutdown();
  tools.close();
  await nativeConnection.close();
  await connection.close();
  await store.close();
  await temporal.stop();
  await postgres.stop();
  rmSync(stateDir, { recursive: true, force: true });
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
