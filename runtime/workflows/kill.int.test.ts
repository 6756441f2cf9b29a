/**
 * Durability across a worker crash: the worker PROCESS (testing/worker-process.ts, built
 * like runtime/worker/main.ts) is killed with SIGKILL mid-run; a new worker process
 * finishes the run. The Telegram loopback receives the reply exactly once (the outbox and
 * the (run, step) idempotency key), and no tool side effect happens twice: a tool that
 * completed before the crash is not run again, and one cut off mid-call is retried (within
 * the tool call's heartbeat timeout) with the same idempotency key, so the effect service
 * applies it once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO as repo } from '../../test/fixtures/claw-cli.js';
import { channelLoopback, type ChannelLoopback } from '../channels/loopback.test-helper.js';
import { workflowBundle } from '../temporal/bundle.js';
import { eventually, startHarness, type Harness } from './testing/harness.js';
import type { AgentRunResult } from './types.js';

const TOKEN = 'tg-kill-test-token';

let h: Harness;
let telegram: ChannelLoopback;
let effects: Server;
let effectUrl: string;
/** Every POST the effect service got (retries included), and the keys it applied. */
const effectRequests: string[] = [];
const applied = new Set<string>();
const children = new Set<ChildProcess>();

interface WorkerProcess {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line matching. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

async function startWorker(env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [join(repo, 'bin', 'run-ts.js'), join(repo, 'runtime', 'workflows', 'testing', 'worker-process.ts')], {
    cwd: repo,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'), DATABASE_URL: inject('postgresUrl'), CLAW_STATE_DIR: h.stateDir, TENANT_ID: h.tenantId, TASK_QUEUE: h.tenant.taskQueue,
      TELEGRAM_BOT_TOKEN: TOKEN, EFFECT_URL: effectUrl, ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const lines: string[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const worker: WorkerProcess = {
    child,
    lines,
    line: (pattern, timeoutMs = 60_000) =>
      eventually(() => {
        if (child.exitCode !== null) throw new Error(`the worker process exited (${child.exitCode}): ${stderr.slice(-500)}`);
        return lines.find((l) => pattern.test(l));
      }, `worker line ${pattern}`, timeoutMs, 50),
  };
  await worker.line(/^ready$/, 90_000);
  return worker;
}

async function kill(worker: WorkerProcess): Promise<void> {
  const exited = new Promise<void>((done) => worker.child.once('exit', () => done()));
  worker.child.kill('SIGKILL');
  await exited;
}

async function stop(worker: WorkerProcess): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = new Promise<void>((done) => worker.child.once('exit', () => done()));
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

beforeAll(async () => {
  h = await startHarness({ temporalAddress: inject('temporalAddress'), postgresUrl: inject('postgresUrl'), tenantPrefix: 'kill', noWorker: true });
  // Built once here; the worker processes read it from the cache.
  await workflowBundle(join(h.stateDir, 'cache'));
  telegram = await channelLoopback({ telegram: TOKEN });
  effects = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      effectRequests.push(key);
      const first = !applied.has(key);
      applied.add(key);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ applied: first ? 'now' : 'already' }));
    });
  });
  await new Promise<void>((done) => effects.listen(0, '127.0.0.1', done));
  effectUrl = `http://127.0.0.1:${(effects.address() as AddressInfo).port}/effect`;
  const channels = [{ type: 'telegram' as const, apiBaseUrl: telegram.url }];
  await h.store.applyAgent(h.agent({
    id: 'courier', tools: ['effect'], channels,
    model: { provider: 'scripted', script: [{ toolCalls: [{ tool: 'effect', args: { what: 'ship' } }] }, { reply: 'shipped' }] },
  }));
  await h.store.applyAgent(h.agent({
    id: 'mover', tools: ['slow-effect'], channels,
    model: { provider: 'scripted', script: [{ toolCalls: [{ tool: 'slow-effect', args: { what: 'move' } }] }, { reply: 'moved' }] },
  }));
}, 180_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await telegram?.close();
  await new Promise<void>((done) => (effects ? effects.close(() => done()) : done()));
  await h?.close();
});

describe('a worker process killed mid-run', () => {
  it('is replaced by a new worker that finishes the run: one reply, the finished tool not run again', async () => {
    const first = await startWorker({ SLOW_MODEL_STEP: '3', SLOW_MODEL_MS: '60000' });
    const before = telegram.received.length;
    const { runId, handle } = await h.start({ agentId: 'courier', message: 'ship it', replyTo: { channel: 'telegram', chatId: '42' } });
    // Step 1 model, step 2 the tool, step 3 the model again: killed while the model "thinks".
    await first.line(new RegExp(`^model ${runId} 3 1$`));
    expect(effectRequests.filter((k) => k.includes(runId))).toHaveLength(1);
    await kill(first);

    const second = await startWorker();
    try {
      const result = (await handle.result()) as AgentRunResult;
      expect(result).toMatchObject({ status: 'completed', reply: '[scripted] shipped', toolCalls: 1, delivered: true });
      // The new worker retried the model call (attempt 2) and never the completed tool call.
      expect(second.lines).toContain(`model ${runId} 3 2`);
      expect(second.lines.filter((l) => l.startsWith(`tool ${runId}`))).toEqual([]);
      expect(effectRequests.filter((k) => k.includes(runId))).toEqual([`${h.tenantId}/${runId}/2/scripted-0-0-0`]);

      const replies = telegram.received.slice(before).filter((m) => m.body?.text === '[scripted] shipped');
      expect(replies).toHaveLength(1);
      expect(replies[0]!.headers['idempotency-key']).toBe(`${h.tenantId}/${runId}/4/reply`);
      expect(await h.outbox.sentEffect(`${h.tenantId}/${runId}/4/reply`)).toMatchObject({ runId, channel: 'telegram' });
      expect(await h.store.getRun(runId)).toMatchObject({ status: 'completed', toolCalls: 1 });
    } finally {
      await stop(second);
    }
  });

  it('retries a tool cut off mid-call within the heartbeat timeout, with the same idempotency key, so its effect applies once', async () => {
    const first = await startWorker({ SLOW_TOOL_MS: '120000' });
    const before = telegram.received.length;
    const { runId, handle } = await h.start({ agentId: 'mover', message: 'move it', replyTo: { channel: 'telegram', chatId: '42' } });
    // The effect went out, then the worker died before the tool call returned.
    await eventually(() => effectRequests.some((k) => k.includes(runId)), 'the effect to be requested', 60_000);
    // The replacement is already polling, so what is timed below is Temporal noticing, not a worker starting.
    const second = await startWorker({ SLOW_TOOL_MS: '0' });
    try {
      await first.line(new RegExp(`^tool ${runId} 2 1$`));
      await kill(first);
      const killedAt = Date.now();

      // The tool call heartbeats (heartbeatTimeout 10 s): its retry starts about 10 s after the
      // kill, not after the 1 m start-to-close timeout (about 65 s before it heartbeated).
      await second.line(new RegExp(`^tool ${runId} 2 2$`), 60_000);
      expect(Date.now() - killedAt).toBeLessThan(30_000);
      const result = (await handle.result()) as AgentRunResult;
      expect(result).toMatchObject({ status: 'completed', reply: '[scripted] moved', toolCalls: 1 });
      const keys = effectRequests.filter((k) => k.includes(runId));
      expect(keys).toHaveLength(2);
      expect(new Set(keys)).toEqual(new Set([`${h.tenantId}/${runId}/2/scripted-0-0-0`]));
      expect(telegram.received.slice(before).filter((m) => m.body?.text === '[scripted] moved')).toHaveLength(1);
    } finally {
      await stop(second);
    }
  }, 180_000);
});
