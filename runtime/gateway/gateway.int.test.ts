/**
 * The gateway's real path: Fastify on a loopback port → signalWithStart on the Temporal dev
 * server. 2xx must mean "the signal is in the workflow's history"; a rejection must leave
 * no workflow behind.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Connection, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../core/config/load.js';
import { tenantClient } from '../temporal/connection.js';
import { conversationWorkflowId } from '../channels/types.js';
import { buildGateway } from './server.js';
import { signSlack, signWebhook } from './signatures.js';
import { temporalStarter } from './starter.js';

const tenant = `gw${Date.now().toString(36)}`;
const SIGNING = 'slack-signing-secret-for-int-test';
const HOOK = 'webhook-secret-for-int-test';
const config = parseConfig(`
tenants: [{ id: ${tenant}, name: Gateway test, gateway: { maxBodyBytes: 4096 } }]
agents:
  - id: helper
    tenant: ${tenant}
    model: { provider: scripted, script: [{ reply: hi }] }
    channels: [{ type: slack }, { type: webhook }]
`);
const secrets = {
  get: async (t: string, name: string) => (t === tenant ? ({ SLACK_SIGNING_SECRET: SIGNING, WEBHOOK_SIGNING_SECRET: HOOK } as Record<string, string>)[name] : undefined),
  set: async () => {},
  list: async () => [],
  remove: async () => false,
};

let connection: Connection;
let client: Client;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = tenantClient(connection, tenant).client;
  app = await buildGateway({ config: () => config, secrets, starter: temporalStarter(() => client) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await connection.close();
});

async function signals(workflowId: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
}

async function exists(workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

describe('gateway → Temporal (dev server)', () => {
  it('2xx only once the signal is in history; 5 identical deliveries → one signal', async () => {
    const body = JSON.stringify({ type: 'event_callback', event_id: 'EvInt1', event: { type: 'message', channel: 'C9', user: 'U1', text: 'hello', ts: '1760000001.000200' } });
    const post = () => fetch(`${base}/t/${tenant}/slack`, { method: 'POST', headers: { 'content-type': 'application/json', ...signSlack(SIGNING, body, Math.floor(Date.now() / 1000)) }, body });
    const first = await post();
    expect(first.status).toBe(200);
    const { workflowIds } = (await first.json()) as { workflowIds: string[] };
    const workflowId = conversationWorkflowId({ tenantId: tenant, agentId: 'helper', channel: 'slack', thread: 'C9:1760000001.000200' });
    expect(workflowIds).toEqual([workflowId]);
    // Durable: the answer came after the server recorded the start and the signal.
    expect(await signals(workflowId)).toBe(1);
    const description = await client.workflow.getHandle(workflowId).describe();
    expect(description).toMatchObject({ type: 'conversation', taskQueue: 'claw-runtime' });

    for (let i = 0; i < 4; i++) expect((await post()).status).toBe(200);
    expect(await signals(workflowId)).toBe(1);
    await client.workflow.getHandle(workflowId).terminate('test cleanup');
  });

  it('bad signature, stale timestamp, unknown tenant, malformed and oversize bodies: 4xx and no workflow', async () => {
    const now = Math.floor(Date.now() / 1000);
    const thread = (n: number) => JSON.stringify({ thread: `reject-${n}`, text: 'x' });
    const hook = (body: string, secret: string, ts: number, path = `/t/${tenant}/webhook`) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...signWebhook(secret, body, ts, `d-${body.length}-${ts}`) }, body });

    const cases: Array<[Promise<Response>, number, string | undefined]> = [
      [hook(thread(1), 'wrong-secret', now), 401, 'reject-1'],
      [hook(thread(2), HOOK, now - 301), 401, 'reject-2'],
      [hook(thread(3), HOOK, now, '/t/no-such-tenant/webhook'), 404, 'reject-3'],
      [hook('{"thread": "reject-4", "text": ', HOOK, now), 400, undefined],
      [hook(JSON.stringify({ thread: 'reject-5', text: 'x'.repeat(5000) }), HOOK, now), 413, 'reject-5'],
    ];
    for (const [response, status, threadId] of cases) {
      const res = await response;
      expect(res.status).toBe(status);
      if (threadId) expect(await exists(conversationWorkflowId({ tenantId: tenant, agentId: 'helper', channel: 'webhook', thread: threadId }))).toBe(false);
    }
    // Nothing at all was started for this tenant's webhook channel.
    const started: string[] = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH "${tenant}/conv/helper/webhook/"` })) started.push(wf.workflowId);
    expect(started).toEqual([]);
  });

  it('answers within the Slack deadline under a burst of distinct events', async () => {
    const now = Math.floor(Date.now() / 1000);
    const started = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const body = JSON.stringify({ type: 'event_callback', event_id: `EvBurst${i}`, event: { type: 'message', channel: 'C10', user: 'U', text: `m${i}`, ts: `1760000002.${i}` } });
        return fetch(`${base}/t/${tenant}/slack`, { method: 'POST', headers: { 'content-type': 'application/json', ...signSlack(SIGNING, body, now) }, body });
      }),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(Date.now() - started).toBeLessThan(3_000);
    for (let i = 0; i < 50; i++) {
      await client.workflow.getHandle(conversationWorkflowId({ tenantId: tenant, agentId: 'helper', channel: 'slack', thread: `C10:1760000002.${i}` })).terminate('cleanup');
    }
  });
});
