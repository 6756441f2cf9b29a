/**
 * agentRun on the real Temporal dev server and PostgreSQL (test/fixtures): the shared
 * Worker with the keyring codec, the scripted model, tools through the worker's Cedar tool runtime, a real
 * HTTP model adapter over loopback, budgets, and the run records in the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAgentFile, parseConfig } from '../../core/config/load.js';
import { STARTER_AGENT } from '../../core/config/starter.js';
import type { Agent } from '../../core/config/schema.js';
import { createActivities } from '../activities/index.js';
import { modelToolCatalog } from '../activities/builtin-tools.js';
import { localTenantKeyring } from '../crypto/index.js';
import { loopbackServer } from '../models/loopback.test-helper.js';
import type { SecretStore } from '../ports.js';
import { MetadataStore } from '../store/metadata.js';
import { workflowBundle } from '../temporal/bundle.js';
import { tenantPayloadCodec } from '../crypto/codec.js';
import { tenantClient } from '../temporal/connection.js';
import { runWorkflowId } from '../temporal/names.js';
import { RuntimeWorker } from '../worker/runtime-worker.js';
import { WorkerToolRuntime } from '../worker/tool-runtime.js';
import type { AgentRunInput, AgentRunResult } from './types.js';

const suffix = randomBytes(3).toString('hex');
const acme = `acme-${suffix}`;
const idle = `idle-${suffix}`; // a tenant whose key the worker does not have
const stateDir = mkdtempSync(join(tmpdir(), 'claw-wf-test-'));
const keyring = localTenantKeyring(stateDir);
// Where the idle tenant's key lives: not in the worker's keyring.
const elsewhere = localTenantKeyring(join(stateDir, 'elsewhere'));
const taskQueue = `test-agent-run-${suffix}`;
const secrets: SecretStore = {
  get: async (tenantId, name) => (tenantId === acme && name === 'OPENAI_API_KEY' ? 'sk-test-loopback' : undefined),
  set: async () => {},
  list: async () => [],
  remove: async () => false,
};

let store: MetadataStore;
let tools: WorkerToolRuntime;
let workers: RuntimeWorker;
let nativeConnection: NativeConnection;
let connection: Connection;

const starter = parseAgentFile(STARTER_AGENT, 'helper.yaml');
function agent(overrides: Partial<Agent>): Agent {
  return { ...starter, tenant: acme, ...overrides };
}

/** A tenant's client as claw builds it (its codec), on this test's queue. */
async function clientOf(tenantId: string) {
  return tenantClient(connection, tenantId, { taskQueue, payloadCodecs: [tenantPayloadCodec(await keyring.forTenant(tenantId))] });
}

async function run(tenantId: string, agentId: string, message: string): Promise<{ result: AgentRunResult; runId: string }> {
  const client = await clientOf(tenantId);
  const runId = `r-${randomBytes(4).toString('hex')}`;
  const input: AgentRunInput = { tenantId, agentId, runId, message };
  const result = await client.client.workflow.execute('agentRun', { ...client.route, workflowId: runWorkflowId(tenantId, runId), args: [input] });
  return { result: result as AgentRunResult, runId };
}

beforeAll(async () => {
  store = await MetadataStore.connect(inject('postgresUrl'), { keyring });
  await keyring.createTenantKey(acme);
  await elsewhere.createTenantKey(idle);
  for (const id of [acme, idle]) await store.upsertTenant({ id, name: id });
  await store.applyAgent(agent({}));
  nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  connection = await Connection.connect({ address: inject('temporalAddress') });
  const bundle = await workflowBundle(join(stateDir, 'cache'));
  // The agents live in the store only (as after 'claw agent apply'); their grants become Cedar policies.
  const configFile = join(stateDir, 'claw.yaml');
  const config = parseConfig(`tenants: [{ id: ${acme}, name: Acme }, { id: ${idle}, name: Idle }]\n`, configFile);
  tools = await WorkerToolRuntime.create({ config, configFile, store, secrets, isolatePoolSize: 1 });
  workers = new RuntimeWorker({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    keyring,
    activities: createActivities({ store, secrets, toolCall: tools.toolCall, toolCatalog: () => modelToolCatalog(config) }),
  });
  expect(await workers.ensure([acme, idle])).toEqual([acme]);
  expect(workers.unavailable()[idle]).toMatchObject({ code: 'TENANT_KEY_MISSING' });
});

afterAll(async () => {
  await workers?.shutdown();
  tools?.close();
  await nativeConnection?.close();
  await connection?.close();
  await store?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('agentRun workflow', () => {
  it('answers on the scripted model and records the run with its content encrypted', async () => {
    const { result, runId } = await run(acme, 'helper', 'hello');
    expect(result).toMatchObject({ status: 'completed', reply: '[scripted] Hello from helper! I am running on the local target.', model: 'scripted', steps: 1, toolCalls: 0 });
    const record = await store.getRun(runId);
    expect(record).toMatchObject({ tenantId: acme, agentId: 'helper', status: 'completed', workflowId: `${acme}/run/${runId}`, steps: 1, model: 'scripted' });
    expect(await store.runContent(record!)).toEqual({ message: 'hello', reply: result.reply });
  });

  it('calls a granted tool through the ports and loops back to the model', async () => {
    const { result, runId } = await run(acme, 'helper', 'what time is it?');
    expect(result).toMatchObject({ reply: '[scripted] I checked the clock for you.', steps: 2, toolCalls: 1 });
    expect(await store.getRun(runId)).toMatchObject({ status: 'completed', steps: 2, toolCalls: 1 });
  });

  it('plays tool use with a real HTTP model: a tool denied by Cedar is reported to the model, a granted one runs', async () => {
    const model = await loopbackServer([
      { body: { model: 'gpt-loop', choices: [{ message: { content: null, tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'echo', arguments: '{"text":"ping"}' } },
        { id: 'c2', type: 'function', function: { name: 'time__now', arguments: '{}' } },
      ] } }], usage: { prompt_tokens: 11, completion_tokens: 3 } } },
      { body: { model: 'gpt-loop', choices: [{ message: { content: 'done' } }], usage: { prompt_tokens: 30, completion_tokens: 2 } } },
    ]);
    try {
      await store.applyAgent(agent({ id: 'http-agent', tools: ['echo'], model: { provider: 'openai', model: 'gpt-loop', apiKeySecret: 'OPENAI_API_KEY', baseUrl: model.url, maxTokens: 64 } }));
      const { result } = await run(acme, 'http-agent', 'ping and time');
      expect(result).toMatchObject({ reply: 'done', model: 'gpt-loop', steps: 2, toolCalls: 2, usage: { inputTokens: 41, outputTokens: 5 } });
      expect(model.requests[0]!.headers.authorization).toBe('Bearer sk-test-loopback');
      expect(model.requests[0]!.body.tools.map((t: any) => t.function.name)).toEqual(['echo']);
      const toolMessages = model.requests[1]!.body.messages.filter((m: any) => m.role === 'tool');
      expect(toolMessages[0]).toEqual({ role: 'tool', tool_call_id: 'c1', content: '{"text":"ping"}' });
      expect(toolMessages[1].tool_call_id).toBe('c2');
      expect(JSON.parse(toolMessages[1].content)).toMatchObject({ error: 'TOOL_CALL_DENIED', policies: ['cedar:default-deny'] });
      expect(JSON.parse(toolMessages[1].content).message).toContain('the call to time.now was denied by policy');
    } finally {
      await model.close();
    }
  });

  it('ends a run that exceeds its step budget cleanly, with the reason recorded', async () => {
    await store.applyAgent(agent({ id: 'looper', budget: { maxSteps: 3, maxTokens: 1000, maxWallTime: '1m' }, model: { provider: 'scripted', script: [{ toolCalls: [{ tool: 'echo', args: {} }] }] } }));
    const runId = `r-${randomBytes(4).toString('hex')}`;
    const client = await clientOf(acme);
    // Not a workflow failure: the run ends with a result that says why.
    const result = await client.client.workflow.execute('agentRun', {
      ...client.route, workflowId: runWorkflowId(acme, runId), args: [{ tenantId: acme, agentId: 'looper', runId, message: 'go' }],
    });
    expect(result).toMatchObject({ status: 'budget_exceeded', reason: 'BUDGET_STEPS_EXCEEDED', budget: 'steps', steps: 3, toolCalls: 3 });
    expect(await store.getRun(runId)).toMatchObject({ status: 'failed', errorCode: 'BUDGET_STEPS_EXCEEDED', steps: 3, toolCalls: 3 });
  });

  it('fails an unknown agent with a stable code', async () => {
    const failure = await run(acme, 'nobody', 'hi').catch((e: unknown) => e);
    expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'UNKNOWN_AGENT' });
  });

  it("makes no progress on a tenant whose key the worker cannot open, while another tenant's run completes", async () => {
    const client = tenantClient(connection, idle, { taskQueue, payloadCodecs: [tenantPayloadCodec(await elsewhere.forTenant(idle))] });
    const runId = `r-${randomBytes(4).toString('hex')}`;
    const handle = await client.client.workflow.start('agentRun', { ...client.route, workflowId: runWorkflowId(idle, runId), args: [{ tenantId: idle, agentId: 'helper', runId, message: 'hello' }] });
    // Same queue, same Worker: acme is served while idle's workflow task fails on its key.
    expect((await run(acme, 'helper', 'still here')).result.status).toBe('completed');
    const history = await handle.fetchHistory();
    expect((history.events ?? []).some((e) => e.workflowTaskFailedEventAttributes)).toBe(true);
    const description = await handle.describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.taskQueue).toBe(taskQueue);
    expect(await store.getRun(runId)).toBeUndefined();
    await handle.terminate('test done');
  });
});
