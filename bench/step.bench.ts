/**
 * Per tool-call step overhead of the agentRun workflow against a bare Temporal activity
 * round trip, in the same run, on the same dev server (started here on 127.0.0.1, stopped
 * at the end), both with the tenant's payload codec.
 *
 * A tool-call step: the model activity (scripted model) asks for `echo`, the tool activity
 * authorizes it by the agent's grants and runs it, the workflow appends both to the
 * conversation and loops — so one step is two activity round trips plus the workflow's own
 * bookkeeping. The baseline is a bare workflow doing one no-op activity per iteration.
 * Fixed costs (load the agent, record start and finish) are taken out by measuring N steps
 * and 0 steps and dividing the difference by N, for both.
 *
 * The tool runtime is the test harness's grant-based stand-in (runtime/workflows/testing),
 * not Cedar: this measures the workflow, not authorization (bench/authz measures that).
 */
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { startPostgres, startTemporal } from '../test/fixtures/servers.js';
import { tenantPayloadCodec } from '../runtime/crypto/codec.js';
import { startHarness } from '../runtime/workflows/testing/harness.js';
import { percentile, report, type Figure } from './lib.js';

const STEPS = Number(process.env.BENCH_STEPS ?? 16);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 12);

const temporal = await startTemporal();
const postgres = await startPostgres();
const h = await startHarness({ temporalAddress: temporal.address, postgresUrl: postgres.url, tenantPrefix: 'bench' });

const script = (n: number) => [...Array.from({ length: n }, (_, i) => ({ toolCalls: [{ tool: 'echo', args: { text: `step ${i}` } }] })), { reply: 'done' }];
for (const n of [0, STEPS]) {
  await h.store.applyAgent(h.agent({ id: `stepper-${n}`, tools: ['echo'], budget: { maxSteps: n + 2, maxTokens: 1_000_000, maxWallTime: '10m' }, model: { provider: 'scripted', script: script(n) } }));
}

// The baseline Worker: its own task queue and bundle, the same connection kind and codec.
const baselineQueue = `${h.tenant.taskQueue}-bare`;
const codec = tenantPayloadCodec(await h.keyring.forTenant(h.tenantId));
const nativeConnection = await NativeConnection.connect({ address: temporal.address });
const { code } = await bundleWorkflowCode({ workflowsPath: new URL('../runtime/workflows/testing/baseline.ts', import.meta.url).pathname, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
const baselineWorker = await Worker.create({
  connection: nativeConnection, taskQueue: baselineQueue, workflowBundle: { code }, activities: { noop: async (payload: unknown) => payload },
  dataConverter: { payloadCodecs: [codec] },
});
const baselineRunning = baselineWorker.run();

let n = 0;
async function agentRun(steps: number): Promise<number> {
  const started = performance.now();
  const { result } = await h.run({ agentId: `stepper-${steps}`, message: 'go' });
  if (result.status !== 'completed' || result.toolCalls !== steps) throw new Error(`bench run ended ${result.status} after ${result.toolCalls} tool calls`);
  return performance.now() - started;
}
async function bare(count: number): Promise<number> {
  const started = performance.now();
  await h.tenant.client.workflow.execute('bareActivities', { taskQueue: baselineQueue, workflowId: `${h.tenantId}/bench/bare-${n++}`, args: [count, { text: 'step' }] });
  return performance.now() - started;
}

// Warm both up, then interleave so neither gets a warmer server.
for (let i = 0; i < 3; i++) {
  await agentRun(STEPS);
  await bare(STEPS);
}
const samples = { runN: [] as number[], run0: [] as number[], bareN: [] as number[], bare0: [] as number[] };
for (let i = 0; i < REPEATS; i++) {
  samples.runN.push(await agentRun(STEPS));
  samples.run0.push(await agentRun(0));
  samples.bareN.push(await bare(STEPS));
  samples.bare0.push(await bare(0));
}
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const perStep = (median(samples.runN) - median(samples.run0)) / STEPS;
const perActivity = (median(samples.bareN) - median(samples.bare0)) / STEPS;

const figures: Figure[] = [
  {
    name: 'agentRun per tool-call step (model + echo)', value: perStep, unit: 'ms', baseline: { name: 'bare activity round trip', value: perActivity }, target: '<= 2x',
    note: `median of ${REPEATS} runs of ${STEPS} steps minus 0 steps; a step is 2 activities (model, tool); tenant payload codec on both; Temporal dev server on loopback`,
  },
  {
    name: 'agentRun per activity of a step', value: perStep / 2, unit: 'ms', baseline: { name: 'bare activity round trip', value: perActivity },
    note: "the workflow's own cost per activity it schedules (bookkeeping, growing history payloads)",
  },
  { name: `agentRun of ${STEPS} steps (median)`, value: median(samples.runN), unit: 'ms', baseline: { name: `bare workflow of ${STEPS} activities`, value: median(samples.bareN) } },
  { name: 'agentRun of 0 steps (median, reply only)', value: median(samples.run0), unit: 'ms', baseline: { name: 'bare workflow of 0 activities', value: median(samples.bare0) },
    note: 'fixed costs: load the agent, record start and finish (PostgreSQL), one model call' },
];
report('step', figures);

baselineWorker.shutdown();
await baselineRunning;
await nativeConnection.close();
await h.close();
await postgres.stop();
await temporal.stop();
