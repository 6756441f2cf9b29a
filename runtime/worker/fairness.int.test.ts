/**
 * Fairness on the shared task queue, on the fixtures' real Temporal dev server (started with
 * matching.enableFairness): one tenant floods the queue with runs while another sends one
 * message at a time. Every start carries its tenant as the fairness key (routeFor), so the
 * server hands out the two tenants' tasks in turn: the quiet tenant's runs finish in about
 * their idle time while most of the flood is still queued. The Worker is kept small (two
 * activities at once, a model call of 25 ms) so a backlog forms within bounded counts.
 *
 * Measured here (idle ~75 ms a run): without fairness the first quiet run waited 4.7 s and
 * the whole flood finished first; with `matching.enableFairness` alone, 2.3 s; with the
 * settings of stacks/local/temporal-cli.ts and the Worker's few workflow-task slots,
 * 0.14-0.31 s with three quarters of the flood still queued.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { NativeConnection } from '@temporalio/worker';
import { Connection, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAgentFile, parseConfig } from '../../core/config/load.js';
import { STARTER_AGENT } from '../../core/config/starter.js';
import { createActivities } from '../activities/index.js';
import { modelToolCatalog } from '../activities/builtin-tools.js';
import { tenantPayloadCodec } from '../crypto/codec.js';
import { localTenantKeyring } from '../crypto/index.js';
import { MetadataStore } from '../store/metadata.js';
import { workflowBundle } from '../temporal/bundle.js';
import { tenantClient, type TenantClient } from '../temporal/connection.js';
import { runWorkflowId } from '../temporal/names.js';
import { testSecrets } from '../workflows/testing/harness.js';
import { RuntimeWorker } from './runtime-worker.js';
import { WorkerToolRuntime } from './tool-runtime.js';

const suffix = randomBytes(3).toString('hex');
const flood = `flood-${suffix}`;
const quiet = `quiet-${suffix}`;
const FLOOD_RUNS = 300;
const QUIET_RUNS = 5;
const MODEL_MS = 25;
const stateDir = mkdtempSync(join(tmpdir(), 'claw-fair-test-'));
const keyring = localTenantKeyring(stateDir);
const taskQueue = `test-fair-${suffix}`;

let store: MetadataStore;
let tools: WorkerToolRuntime;
let nativeConnection: NativeConnection;
let connection: Connection;
let workers: RuntimeWorker;
const clients = new Map<string, TenantClient>();

function startRun(tenantId: string): Promise<WorkflowHandle> {
  const client = clients.get(tenantId)!;
  const runId = `r-${randomBytes(5).toString('hex')}`;
  return client.client.workflow.start('agentRun', {
    ...client.route, workflowId: runWorkflowId(tenantId, runId), args: [{ tenantId, agentId: 'helper', runId, message: 'hi' }],
  });
}

/** One quiet message: start to reply, in ms. */
async function quietRun(): Promise<number> {
  const began = performance.now();
  await (await startRun(quiet)).result();
  return performance.now() - began;
}

beforeAll(async () => {
  store = await MetadataStore.connect(inject('postgresUrl'), { keyring });
  const starter = parseAgentFile(STARTER_AGENT, 'helper.yaml');
  for (const id of [flood, quiet]) {
    await keyring.createTenantKey(id);
    await store.upsertTenant({ id, name: id });
    await store.applyAgent({ ...starter, tenant: id, model: { provider: 'scripted', script: [{ reply: 'ok' }] } });
  }
  const configFile = join(stateDir, 'claw.yaml');
  const config = parseConfig(`tenants: [{ id: ${flood}, name: F }, { id: ${quiet}, name: Q }]\n`, configFile);
  const secrets = testSecrets();
  tools = await WorkerToolRuntime.create({ config, configFile, store, secrets, isolatePoolSize: 1 });
  const base = createActivities({ store, secrets, toolCall: tools.toolCall, toolCatalog: () => modelToolCatalog(config) });
  nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  connection = await Connection.connect({ address: inject('temporalAddress') });
  for (const id of [flood, quiet]) clients.set(id, tenantClient(connection, id, { taskQueue, payloadCodecs: [tenantPayloadCodec(await keyring.forTenant(id))] }));
  workers = new RuntimeWorker({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(join(stateDir, 'cache')),
    keyring,
    maxConcurrentActivities: 2,
    activities: { ...base, callModel: async (input) => (await delay(MODEL_MS), base.callModel(input)) },
  });
  await workers.ensure([flood, quiet]);
}, 120_000);

afterAll(async () => {
  await workers?.shutdown();
  tools?.close();
  await nativeConnection?.close();
  await connection?.close();
  await store?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('fairness between tenants on the shared queue', () => {
  it("serves a quiet tenant's messages in about their idle time while another tenant floods the queue", async () => {
    const idle: number[] = [];
    for (let i = 0; i < QUIET_RUNS; i++) idle.push(await quietRun());

    const floodRuns = await Promise.all(Array.from({ length: FLOOD_RUNS }, () => startRun(flood)));
    expect((await floodRuns[0]!.describe()).raw.workflowExecutionInfo?.priority?.fairnessKey).toBe(flood);
    let floodDone = 0;
    const floodFinished = Promise.all(floodRuns.map((h) => h.result().then(() => void floodDone++)));

    const busy: number[] = [];
    for (let i = 0; i < QUIET_RUNS; i++) {
      busy.push(await quietRun());
      await delay(200);
    }
    const floodDoneWhenQuietDone = floodDone;
    await floodFinished;

    const worst = (xs: number[]) => Math.max(...xs);
    console.log(`idle ${idle.map((x) => x.toFixed(0)).join(', ')} ms; under flood ${busy.map((x) => x.toFixed(0)).join(', ')} ms; flood runs done meanwhile: ${floodDoneWhenQuietDone}/${FLOOD_RUNS}`);
    // A backlog existed: most of the flood was still queued when the quiet tenant was done.
    expect(floodDoneWhenQuietDone).toBeLessThan(FLOOD_RUNS / 2);
    // In arrival order the quiet runs would wait behind the flood's hundreds of tasks (seconds);
    // taken in turn they wait a few tasks. Slack for a 2-core machine shared with other suites.
    expect(worst(busy)).toBeLessThan(3 * worst(idle) + 1_500);
  }, 300_000);
});
