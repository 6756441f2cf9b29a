/**
 * `claw send` round trip on the scripted model (issue 2), against a bare Temporal
 * workflow with one no-op activity on the same dev server, in the same run.
 *
 * The platform is brought up with the real CLI (`claw init`, free ports, `claw up` in a
 * temp state dir) and brought down at the end. Measured:
 *  - CLI: `node bin/claw.js --json send --tenant acme --agent helper hello`, spawn to
 *    exit 0 — what a user waits for; it carries node + tsx startup and module loading,
 *    so it is also shown against `claw send --help` (the same process start and modules:
 *    the CLI loads only the command it runs, cli/index.ts; no platform work);
 *  - in process, the client path the CLI uses after it has started: (a) per call, all of
 *    send's work — open the store session and keyring, look up tenant and agent, connect
 *    to Temporal with the tenant's payload codec, `workflow.execute('agentRun')`, close —
 *    and (b) `workflow.execute('agentRun')` alone on an open tenant client;
 *  - baseline: `workflow.execute` of a workflow whose only step is one no-op activity, on
 *    a Worker in this process (same server, plain client without a codec, connection open).
 *
 * The <= 2x target is judged on (b) against the baseline: both are one workflow round trip
 * on an open connection, so the ratio is the platform's cost per run (codec, agentRun's
 * steps: the model activity, authorization, trace emit, the reply) and not node/tsx
 * startup or connection set-up, which the CLI figures show separately.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../core/config/load.js';
import { freePorts } from '../test/fixtures/ports.js';
import { REPO as repo, runClaw, type ClawResult } from '../test/fixtures/claw-cli.js';
import { findTemporalCli } from '../stacks/local/temporal-cli.js';
import { openPlatform, openTenantClient } from '../stacks/local/platform.js';
import { temporalAddress } from '../stacks/local/supervisor.js';
import { newRunId } from '../cli/commands/send.js';
import { runWorkflowId } from '../runtime/temporal/names.js';
import type { AgentRunInput, AgentRunResult } from '../runtime/workflows/types.js';
import { percentile, report, type Figure } from './lib.js';


const IN_PROCESS = Number(process.env.BENCH_IN_PROCESS ?? 30);
const CLI = Number(process.env.BENCH_CLI ?? 5);
const TENANT = 'acme';
const AGENT = 'helper';
const REPLY = '[scripted] Hello from helper! I am running on the local target.';
const temporalCli = findTemporalCli();
if (!temporalCli) throw new Error("no Temporal CLI: set TEMPORAL_CLI_PATH or put 'temporal' on PATH");

const work = mkdtempSync(join(tmpdir(), 'claw-bench-send-'));
const stateDir = join(work, 'state');
const configFile = join(work, 'claw.yaml');

async function claw(args: string[]): Promise<ClawResult & { ms: number }> {
  const start = performance.now();
  const result = await runClaw(args, { stateDir, cwd: work, env: { TEMPORAL_CLI_PATH: temporalCli! } });
  return { ...result, ms: performance.now() - start };
}

async function must(args: string[]) {
  const result = await claw(args);
  if (result.code !== 0) throw new Error(`claw ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()} ${result.stdout.trim()}`);
  return result;
}

/** The baseline's workflow: one no-op activity. Written to a temp dir that sees the repo's node_modules. */
function writeBareWorkflow(): string {
  const dir = join(work, 'bare-workflow');
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  const file = join(dir, 'workflows.js');
  writeFileSync(
    file,
    `import { proxyActivities } from '@temporalio/workflow';
const { noop } = proxyActivities({ startToCloseTimeout: '10 seconds' });
export async function bareWorkflow(input) {
  await noop(input);
  return { reply: 'ok' };
}
`,
  );
  return file;
}

const cliSend: number[] = [];
const cliHelp: number[] = [];
const fullPath: number[] = [];
const executeOnly: number[] = [];
const bare: number[] = [];
let upSeconds = 0;
let shape = '';
let bareShape = '';
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

try {
  await must(['init']);
  const ports: Record<string, number> = {};
  const names = ['temporalPort', 'temporalUiPort', 'gatewayPort', 'codecServerPort', 'storePort', 'workerPort'];
  const free = await freePorts(names.length);
  names.forEach((name, i) => (ports[name] = free[i]!));
  appendFileSync(configFile, `local:\n${Object.entries(ports).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`);
  upSeconds = (await must(['up'])).ms / 1000;
  const config = loadConfig(configFile);
  const address = temporalAddress(config);

  // Baseline worker and client, on the platform's Temporal server.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const workerConnection = await NativeConnection.connect({ address });
  const bareWorker = await Worker.create({
    connection: workerConnection,
    taskQueue: 'bench-bare',
    workflowsPath: writeBareWorkflow(),
    activities: { noop: async () => undefined },
  });
  const bareRunning = bareWorker.run();
  const bareConnection = await Connection.connect({ address });
  const bareClient = new Client({ connection: bareConnection });
  let n = 0;
  let lastBareId = '';
  const viaBare = async () => {
    lastBareId = `bench-bare-${Date.now()}-${n++}`;
    const result = await bareClient.workflow.execute('bareWorkflow', { taskQueue: 'bench-bare', workflowId: lastBareId, args: [{ message: 'hello' }] });
    if ((result as { reply: string }).reply !== 'ok') throw new Error('bare workflow failed');
  };

  // The CLI's client path, in this process.
  const session = await openPlatform(stateDir, config);
  const { tenant, connection } = await openTenantClient(address, session.keyring, TENANT);
  const agent = await session.store.getAgent(TENANT, AGENT);
  if (!agent) throw new Error('agent helper is not registered');
  let lastWorkflowId = '';
  const execute = async (client = tenant) => {
    const runId = newRunId();
    const input: AgentRunInput = { tenantId: TENANT, agentId: AGENT, runId, message: 'hello' };
    const result: AgentRunResult = await client.client.workflow.execute('agentRun', {
      ...client.route,
      workflowId: runWorkflowId(TENANT, runId),
      args: [input],
      // As send.ts: no execution timeout (the workflow enforces maxWallTime itself).
    });
    if (result.reply !== REPLY) throw new Error(`unexpected reply: ${result.reply}`);
    lastWorkflowId = runWorkflowId(TENANT, runId);
  };
  const viaFullPath = async () => {
    const cfg = loadConfig(configFile);
    const s = await openPlatform(stateDir, cfg);
    let opened: Awaited<ReturnType<typeof openTenantClient>> | undefined;
    try {
      if (!(await s.store.getTenant(TENANT)) || !(await s.store.getAgent(TENANT, AGENT))) throw new Error('not registered');
      opened = await openTenantClient(temporalAddress(cfg), s.keyring, TENANT);
      await execute(opened.tenant);
    } finally {
      await opened?.connection.close();
      await s.close();
    }
  };

  for (let i = 0; i < 5; i++) {
    // warm-up: worker caches, JIT, first workflow tasks
    await viaBare();
    await execute();
  }
  const timed = async (fn: () => Promise<void>, into: number[]) => {
    const start = performance.now();
    await fn();
    into.push(performance.now() - start);
  };
  for (let i = 0; i < IN_PROCESS; i++) {
    // Interleaved, so each sees the same server and machine.
    await timed(viaBare, bare);
    await timed(() => execute(), executeOnly);
    await timed(viaFullPath, fullPath);
  }
  // What one agentRun did, from its history: the steps the baseline does not have.
  const history = await tenant.client.workflow.getHandle(lastWorkflowId).fetchHistory();
  const events = history.events ?? [];
  const count = (attributes: string) => events.filter((e) => (e as Record<string, unknown>)[attributes] != null).length;
  shape = `${events.length} history events, ${count('activityTaskScheduledEventAttributes')} activities, ${count('markerRecordedEventAttributes')} local activities/markers, ${count('workflowTaskCompletedEventAttributes')} workflow tasks`;
  const bareHistory = await bareClient.workflow.getHandle(lastBareId).fetchHistory();
  bareShape = `${bareHistory.events?.length ?? 0} history events, 1 activity, ${(bareHistory.events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes != null).length} workflow tasks`;
  for (let i = 0; i < CLI; i++) {
    const sent = await must(['--json', 'send', '--tenant', TENANT, '--agent', AGENT, 'hello']);
    if ((JSON.parse(sent.stdout) as { reply: string }).reply !== REPLY) throw new Error(`unexpected CLI reply: ${sent.stdout}`);
    cliSend.push(sent.ms);
    cliHelp.push((await must(['send', '--help'])).ms);
  }

  await connection.close();
  await session.close();
  bareWorker.shutdown();
  await bareRunning;
  await bareConnection.close();
  await workerConnection.close();
} finally {
  await claw(['down']);
  rmSync(work, { recursive: true, force: true });
}

const shared = 'machine shared by several engineers (2 cores): figures are noisy';
const b = sorted(bare);
const e = sorted(executeOnly);
const f = sorted(fullPath);
const c = sorted(cliSend);
const h = sorted(cliHelp);
const figures: Figure[] = [
  {
    name: 'agentRun round trip p50, in process (open tenant client)',
    value: percentile(e, 50),
    unit: 'ms',
    baseline: { name: 'bare workflow + 1 no-op activity', value: percentile(b, 50) },
    target: '<= 2x',
    note: `agentRun: ${shape}; baseline: ${bareShape}. The target's pair: one workflow round trip on an open connection each; ${IN_PROCESS} runs interleaved; ${shared}`,
  },
  {
    name: 'agentRun round trip p99, in process (open tenant client)',
    value: percentile(e, 99),
    unit: 'ms',
    baseline: { name: 'bare workflow + 1 no-op activity', value: percentile(b, 99) },
    target: '<= 2x',
  },
  {
    name: "send's whole client path p50, in process (store session, lookups, connect, execute, close)",
    value: percentile(f, 50),
    unit: 'ms',
    baseline: { name: 'bare workflow + 1 no-op activity', value: percentile(b, 50) },
    note: `p99 ${percentile(f, 99).toFixed(1)} ms; adds the per-invocation connections the CLI opens`,
  },
  {
    name: 'claw send p50, CLI process (spawn to exit)',
    value: percentile(c, 50),
    unit: 'ms',
    baseline: { name: 'bare workflow + 1 no-op activity', value: percentile(b, 50) },
    note: `${CLI} sends; p99 ${percentile(c, 99).toFixed(0)} ms`,
  },
  {
    name: 'claw send p50, CLI process vs claw send --help (node + tsx startup, send\'s modules)',
    value: percentile(c, 50),
    unit: 'ms',
    baseline: { name: 'claw send --help process', value: percentile(h, 50) },
    note: `the difference (${(percentile(c, 50) - percentile(h, 50)).toFixed(0)} ms) is send's own work: store session, keyring, connect, the run; platform brought up in ${upSeconds.toFixed(1)} s for this run`,
  },
];
report('send', figures);

/** The results file says, at the top, that the figures come from a shared machine. */
