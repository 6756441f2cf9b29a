/**
 * The shared Worker on the fixtures' Temporal dev server and PostgreSQL: every tenant on
 * one task queue, each payload under its own tenant's key.
 * - 50 tenants, one shredded: its run is refused alone, the other 49 complete.
 * - A start for tenant B sealed with tenant A's key (label A, or relabelled B) is refused
 *   by the codec before any workflow code runs.
 * - Key checks report missing and shredded tenants without taking the Worker down.
 * - The drain path: runs left on a legacy per-tenant queue finish, and a conversation
 *   there moves itself to the shared queue (in a namespace of its own, so nothing else
 *   polls `claw-runtime` there).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { NativeConnection } from '@temporalio/worker';
import { Client, type Connection, type WorkflowHandle } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Activities } from '../activities/index.js';
import { TENANT_METADATA_KEY, TenantPayloadCodec } from '../crypto/codec.js';
import type { MetadataStore } from '../store/metadata.js';
import type { TenantClient } from '../temporal/connection.js';
import { RUNTIME_TASK_QUEUE, legacyTaskQueueFor, runWorkflowId } from '../temporal/names.js';
import { conversationWorkflowId } from '../workflows/names.js';
import type { AgentRunResult, ConversationInput } from '../workflows/types.js';
import { eventually } from '../workflows/testing/harness.js';
import { RuntimeWorker, type TenantUnavailable } from './runtime-worker.js';
import { startSharedWorker, type SharedWorker } from './testing/shared-worker.js';

const suffix = randomBytes(3).toString('hex');
const TENANTS = Array.from({ length: 50 }, (_, i) => `d${i}-${suffix}`);
const shredded = TENANTS[17]!;

let w: SharedWorker;
let keyring: SharedWorker['keyring'];
let store: MetadataStore;
let activities: Activities;
let bundle: { code: string };
let nativeConnection: NativeConnection;
let connection: Connection;
let workers: RuntimeWorker;
let taskQueue: string;
const reported: Array<[string, TenantUnavailable]> = [];
const fatal: unknown[] = [];
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
const modelCalled = deferred();
const shredDone = deferred();

const clientOf = (tenantId: string, queue?: string, namespace?: string): Promise<TenantClient> => w.clientOf(tenantId, queue, namespace);
const startRun = (client: TenantClient, runId?: string): Promise<WorkflowHandle> => w.startRun(client, runId);

/**
 * The first workflow-task failure in a run's history. A refusal by the codec names no
 * tenant key to seal it under, so it is claw's own message in the clear (failure-converter.cjs).
 */
async function taskFailure(handle: WorkflowHandle): Promise<string> {
  const failure = await eventually(async () => {
    const history = await handle.fetchHistory();
    return (history.events ?? []).map((e) => e.workflowTaskFailedEventAttributes?.failure).find(Boolean) ?? undefined;
  }, `a failed workflow task in ${handle.workflowId}`, 30_000, 200);
  expect(failure.encodedAttributes).toBeFalsy();
  return failure.message!;
}

beforeAll(async () => {
  w = await startSharedWorker({
    temporalAddress: inject('temporalAddress'),
    postgresUrl: inject('postgresUrl'),
    tenants: TENANTS,
    reply: (id) => `hi from ${id}`,
    worker: { onUnavailable: (id, r) => reported.push([id, r]), onFatal: (_queue, err) => fatal.push(err) },
    wrap: (base) => ({
      ...base,
      // The shredded tenant's model call holds until the test has destroyed its key, so the shred lands mid-activity.
      async callModel(input) {
        if (input.tenantId === shredded) {
          modelCalled.resolve();
          await shredDone.promise;
        }
        return base.callModel(input);
      },
    }),
  });
  ({ keyring, store, activities, bundle, nativeConnection, connection, workers, taskQueue } = w);
}, 120_000);

afterAll(async () => {
  // Nothing a tenant did stopped the shared Worker.
  expect(fatal).toEqual([]);
  await w?.close();
});

describe('the shared Worker', () => {
  it('checks every tenant key, reporting a missing one once, and serves the rest on one queue', async () => {
    const missing = `missing-${suffix}`;
    expect(workers.tenants()).toEqual([...TENANTS].sort());
    expect(await workers.ensure([...TENANTS, missing])).toEqual([]);
    expect(workers.healthy()).toBe(true);
    expect(workers.unavailable()).toEqual({ [missing]: { code: 'TENANT_KEY_MISSING', message: expect.stringContaining(missing) } });
    expect(await workers.ensure([missing])).toEqual([]);
    expect(reported).toHaveLength(1);
    await keyring.createTenantKey(missing);
    expect(await workers.ensure([missing])).toEqual([missing]);
    expect(workers.unavailable()).toEqual({});
  });

  it('refuses a shredded tenant among 50 alone: its run makes no progress, the other 49 complete', async () => {
    const shreddedClient = await clientOf(shredded);
    // Started while the key exists (sealed under it); shredded while its model call runs.
    const doomed = await startRun(shreddedClient);
    await modelCalled.promise;
    await keyring.destroy(shredded);
    shredDone.resolve();
    const handles = await Promise.all(TENANTS.filter((id) => id !== shredded).map(async (id) => [id, await startRun(await clientOf(id))] as const));
    const results = await Promise.all(handles.map(async ([id, handle]) => [id, (await handle.result()) as AgentRunResult] as const));
    for (const [id, result] of results) expect(result, id).toMatchObject({ status: 'completed', reply: expect.stringContaining(`hi from ${id}`) });
    // The doomed run is stuck on its key: its model call's result could not be sealed (the
    // content was dropped, not written in the clear), and its workflow tasks cannot open it.
    expect((await doomed.describe()).status.name).toBe('RUNNING');
    expect(await taskFailure(doomed)).toMatch(/could not be sealed|has been shredded/);
    expect(JSON.stringify(await doomed.fetchHistory())).not.toContain(`hi from ${shredded}`);
    await doomed.terminate('test done');
    // The worker reports the shredded tenant on its next check, and still serves the others.
    await workers.ensure(TENANTS);
    expect(workers.unavailable()[shredded]).toMatchObject({ code: 'TENANT_KEY_DESTROYED' });
    expect(workers.tenants()).toHaveLength(TENANTS.length); // the 49 + the one created in the test above
    expect(workers.healthy()).toBe(true);
  }, 120_000);

  it("refuses a start for tenant B sealed with tenant A's key, labelled A or relabelled B", async () => {
    const [attacker, victim] = [TENANTS[1]!, TENANTS[2]!];
    const attackerCrypto = await keyring.forTenant(attacker);
    // A codec that ignores whose workflow it writes for: what someone holding A's key could build.
    const forging = new TenantPayloadCodec(async () => attackerCrypto);
    // The forged start goes through the forging client; the test reads the run through a plain one.
    const plain = new Client({ connection });
    const start = async (runId: string, codecs = [forging]) => {
      const { workflowId } = await new Client({ connection, dataConverter: { payloadCodecs: codecs } }).workflow.start('agentRun', {
        taskQueue, workflowId: runWorkflowId(victim, runId), args: [{ tenantId: victim, agentId: 'helper', runId, message: 'steal' }],
      });
      return plain.workflow.getHandle(workflowId);
    };
    const labelledA = await start(`r-forge-a-${suffix}`);
    expect(await taskFailure(labelledA)).toMatch(/labelled for tenant '.*' reached tenant .*'s workflow/);
    // The same ciphertext relabelled to the victim: the label passes, the envelope (bound to A) does not.
    const relabel = {
      encode: async (payloads: Parameters<typeof forging.encode>[0], context?: Parameters<typeof forging.encode>[1]) =>
        (await forging.encode(payloads, context)).map((p) => ({ ...p, metadata: { ...p.metadata, [TENANT_METADATA_KEY]: new TextEncoder().encode(victim) } })),
      decode: async () => { throw new Error('not used'); },
    };
    const relabelled = await start(`r-forge-b-${suffix}`, [relabel as never]);
    expect(await taskFailure(relabelled)).toMatch(/CIPHERTEXT_TENANT_MISMATCH|another tenant|bound to tenant/i);
    for (const handle of [labelledA, relabelled]) {
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.terminate('test done');
    }
    expect(await store.getRun(`r-forge-a-${suffix}`)).toBeUndefined();
    expect(await store.getRun(`r-forge-b-${suffix}`)).toBeUndefined();
  });
});

describe('the drain path from per-tenant queues', () => {
  const namespace = `drain-${suffix}`;
  let drainer: RuntimeWorker;
  let visibility: Client;

  beforeAll(async () => {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    visibility = new Client({ connection, namespace });
    await eventually(() => visibility.workflow.count().then(() => true, () => false), `namespace ${namespace}`, 30_000, 250);
    drainer = new RuntimeWorker({ connection: nativeConnection, namespace, workflowBundle: bundle, activities, keyring });
  }, 60_000);

  afterAll(async () => {
    await drainer?.shutdown();
  });

  it('finishes runs left on a legacy queue and moves a conversation from it to the shared queue', async () => {
    const tenant = TENANTS[3]!;
    const legacy = await clientOf(tenant, legacyTaskQueueFor(tenant), namespace);
    // Started by an earlier release: on the tenant's own queue, with no Worker polling it yet.
    const run = await startRun(legacy);
    const key = { tenantId: tenant, agentId: 'helper', channel: 'webhook' as const, thread: 'legacy-thread' };
    const conversation = await legacy.client.workflow.signalWithStart('conversation', {
      taskQueue: legacy.taskQueue, workflowId: conversationWorkflowId(key), args: [{ key } satisfies ConversationInput],
      signal: 'inbound', signalArgs: [{ deliveryId: 'd-1', text: 'first', receivedAt: new Date().toISOString(), replyTo: { channel: 'none' } }],
    });
    await drainer.ensure([tenant]);
    // A reload and the drain timer may ask at once: one pass, one Worker for the queue.
    const [first, second] = await Promise.all([drainer.drainLegacy(visibility), drainer.drainLegacy(visibility)]);
    expect(first).toEqual([legacyTaskQueueFor(tenant)]);
    expect(second).toBe(first);
    expect(await run.result()).toMatchObject({ status: 'completed' });
    // The conversation moved before its first turn: its current execution is on the shared queue.
    const moved = await eventually(async () => {
      const d = await legacy.client.workflow.getHandle(conversation.workflowId).describe();
      return d.taskQueue === RUNTIME_TASK_QUEUE ? d : undefined;
    }, 'the conversation on the shared queue', 30_000, 200);
    expect(moved.status.name).toBe('RUNNING');
    const runs = await eventually(async () => {
      const all = await store.listRuns({ tenantId: tenant, agentId: 'helper', limit: 100 });
      return all.some((r) => r.status === 'completed' && r.workflowId !== run.workflowId) ? all : undefined;
    }, 'the moved conversation answering', 30_000, 200);
    expect(runs.filter((r) => r.status === 'completed').length).toBeGreaterThanOrEqual(2);
    // Nothing runs on the legacy queue any more: its Worker is stopped.
    await delay(200);
    expect(await drainer.drainLegacy(visibility)).toEqual([]);
    await legacy.client.workflow.getHandle(conversation.workflowId).terminate('test done');
  }, 120_000);
});
