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
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TenantClient } from '../temporal/connection.js';
import { startSharedWorker, type SharedWorker } from './testing/shared-worker.js';

const suffix = randomBytes(3).toString('hex');
const flood = `flood-${suffix}`;
const quiet = `quiet-${suffix}`;
const FLOOD_RUNS = 300;
const QUIET_RUNS = 5;
const MODEL_MS = 25;

let w: SharedWorker;
const clients = new Map<string, TenantClient>();

function startRun(tenantId: string): Promise<WorkflowHandle> {
  return w.startRun(clients.get(tenantId)!);
}

/** One quiet message: start to reply, in ms. */
async function quietRun(): Promise<number> {
  const began = performance.now();
  await (await startRun(quiet)).result();
  return performance.now() - began;
}

beforeAll(async () => {
  w = await startSharedWorker({
    temporalAddress: inject('temporalAddress'),
    postgresUrl: inject('postgresUrl'),
    tenants: [flood, quiet],
    worker: { maxConcurrentActivities: 2 },
    wrap: (base) => ({ ...base, callModel: async (input) => (await delay(MODEL_MS), base.callModel(input)) }),
  });
  for (const id of [flood, quiet]) clients.set(id, await w.clientOf(id));
}, 120_000);

afterAll(async () => {
  await w?.close();
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
