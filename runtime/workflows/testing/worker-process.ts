/**
 * A worker PROCESS for kill tests (kill.int.test.ts): the same activities and shared
 * Worker as runtime/worker/main.ts — the store, the reply outbox, real outbound channels
 * (channelSender), the tenant's payload codec, the cached workflow bundle — but against the
 * test's PostgreSQL and Temporal, with tools from the test harness and a model call that can
 * be made slow, so a SIGKILL lands mid-run.
 *
 * Run with `node bin/run-ts.js runtime/workflows/testing/worker-process.ts`. Env:
 *   TEMPORAL_ADDRESS, TASK_QUEUE, DATABASE_URL, CLAW_STATE_DIR (keyring and bundle cache), TENANT_ID,
 *   TELEGRAM_BOT_TOKEN (the tenant's secret), EFFECT_URL (where the `effect` tools POST),
 *   SLOW_MODEL_STEP + SLOW_MODEL_MS (that model step waits first), SLOW_TOOL_MS.
 * Prints `ready` once polling, and `model <runId> <step> <attempt>` / `tool <runId> <step> <attempt>`
 * as calls start.
 */
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { NativeConnection } from '@temporalio/worker';
import { createActivities, type Activities } from '../../activities/index.js';
import { BUILTIN_TOOL_SPECS } from '../../activities/builtin-tools.js';
import { ReplyOutbox } from '../../activities/outbox.js';
import { channelSender } from '../../channels/outbound.js';
import { localTenantKeyring } from '../../crypto/index.js';
import type { ToolSpec } from '../../models/types.js';
import { MetadataStore } from '../../store/metadata.js';
import { workflowBundle } from '../../temporal/bundle.js';
import { RuntimeWorker } from '../../worker/runtime-worker.js';
import { TEST_TOOLS, grantToolCall, testSecrets, type TestTool } from './harness.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`worker-process: ${name} must be set`);
  return value;
};
const stateDir = env('CLAW_STATE_DIR');
const tenantId = env('TENANT_ID');
const effectUrl = env('EFFECT_URL');
const slowModelStep = Number(process.env.SLOW_MODEL_STEP ?? -1);
const slowModelMs = Number(process.env.SLOW_MODEL_MS ?? 0);
const slowToolMs = Number(process.env.SLOW_TOOL_MS ?? 0);

const EFFECT_TOOL_SPECS: ToolSpec[] = [
  { name: 'effect', description: 'Does something once (POSTs to the effect service with the idempotency key).', input: { type: 'object', properties: {} } },
  { name: 'slow-effect', description: 'The same, then takes its time.', input: { type: 'object', properties: {} } },
];

/** A side effect elsewhere, carrying the call's idempotency key as an idempotent API expects it. */
const effect: TestTool = async (args, request) => {
  const response = await fetch(effectUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': request.idempotencyKey },
    body: JSON.stringify(args),
  });
  if (!response.ok) throw new Error(`effect service answered ${response.status}`);
  return response.json();
};

const keyring = localTenantKeyring(stateDir);
const store = await MetadataStore.connect(env('DATABASE_URL'), { keyring, max: 2 });
const outbox = await ReplyOutbox.connect(env('DATABASE_URL'));
const secrets = testSecrets({ TELEGRAM_BOT_TOKEN: env('TELEGRAM_BOT_TOKEN') });
const catalog = new Map([...BUILTIN_TOOL_SPECS, ...EFFECT_TOOL_SPECS].map((s) => [s.name, s]));

const base = createActivities({
  store,
  secrets,
  outbox,
  channels: channelSender({ secrets }),
  toolCatalog: () => catalog,
  toolCall: grantToolCall(store, {
    ...TEST_TOOLS,
    effect,
    'slow-effect': async (args, request) => {
      const done = await effect(args, request);
      await delay(slowToolMs);
      return done;
    },
  }),
});

const activities: Activities = {
  ...base,
  async callModel(input) {
    console.log(`model ${input.runId} ${input.step} ${Context.current().info.attempt}`);
    if (input.step === slowModelStep && slowModelMs > 0) {
      // Heartbeat while waiting, as the real call does while the provider thinks.
      const beat = setInterval(() => Context.current().heartbeat(), 1_000);
      try {
        await delay(slowModelMs);
      } finally {
        clearInterval(beat);
      }
    }
    return base.callModel(input);
  },
  async callTool(input) {
    console.log(`tool ${input.runId} ${input.step} ${Context.current().info.attempt}`);
    return base.callTool(input);
  },
};

const bundle = await workflowBundle(join(stateDir, 'cache'));
const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
const workers = new RuntimeWorker({
  connection,
  taskQueue: env('TASK_QUEUE'),
  workflowBundle: { code: bundle.code },
  activities,
  keyring,
  onFatal: (_queue, err) => {
    console.error(`worker-process: the Worker stopped: ${(err as Error).message}`);
    process.exit(1);
  },
});
await workers.ensure([tenantId]);
console.log('ready');

process.on('SIGTERM', () => {
  void (async () => {
    await workers.shutdown();
    await connection.close();
    await store.close();
    await outbox.close();
    process.exit(0);
  })();
});
