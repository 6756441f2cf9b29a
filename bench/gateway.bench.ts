/**
 * Gateway ack latency and throughput with durable accept, against a bare Temporal client
 * doing the same signalWithStart calls, in the same run, on the same dev server.
 *
 * Gateway path: HTTP POST on loopback → Slack v0 signature check → parse → dedup →
 * signalWithStart (answered only after Temporal recorded it). Baseline: the same
 * signalWithStart straight from a client. Each event is a distinct delivery on its own
 * thread (a new conversation workflow), the expensive case for the server.
 * Both use one client without a payload codec, so the ratio is the gateway's own cost.
 */
import { Client, Connection } from '@temporalio/client';
import { parseConfig } from '../core/config/load.js';
import { startTemporal } from '../test/fixtures/servers.js';
import { buildGateway } from '../runtime/gateway/server.js';
import { temporalStarter } from '../runtime/gateway/starter.js';
import { sampleDelivery } from '../runtime/gateway/sample.js';
import { CONVERSATION_WORKFLOW, INBOUND_SIGNAL, conversationWorkflowId } from '../runtime/channels/types.js';
import { routeFor } from '../runtime/temporal/names.js';
import { percentile, report, type Figure } from './lib.js';

const SECRET = 'bench-signing-secret';
const TENANT = 'bench';
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 300);
const CONCURRENT_TOTAL = Number(process.env.BENCH_TOTAL ?? 600);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const config = parseConfig(`
tenants: [{ id: ${TENANT}, name: Bench, gateway: { ratePerMinute: 1000000 } }]
agents:
  - id: helper
    tenant: ${TENANT}
    model: { provider: scripted, script: [{ reply: hi }] }
    channels: [{ type: slack }]
`);

const temporal = await startTemporal();
const connection = await Connection.connect({ address: temporal.address });
const client = new Client({ connection });
const secrets = { get: async () => SECRET, set: async () => {}, list: async () => [], remove: async () => false };
const app = await buildGateway({ config: () => config, secrets, starter: temporalStarter(() => client), logger: process.env.BENCH_LOG === '1' });
const base = await app.listen({ host: '127.0.0.1', port: 0 });
const url = `${base}/t/${TENANT}/slack`;

let n = 0;
/** 503s: the gateway could not get Temporal's ack within Slack's deadline, so Slack would retry. */
let notAccepted = 0;
async function viaGateway(): Promise<void> {
  const i = n++;
  const sample = sampleDelivery('slack', { text: `event ${i}`, thread: `C${i % 97}:${1760000000 + i}.000100`, deliveryId: `EvBench${i}`, secret: SECRET });
  for (;;) {
    const res = await fetch(url, { method: 'POST', headers: sample.headers, body: sample.body });
    await res.arrayBuffer();
    if (res.status === 200) return;
    if (res.status !== 503) throw new Error(`gateway answered ${res.status}`);
    notAccepted++; // retried at once, as a channel's redelivery would (dedup makes it safe)
  }
}

async function viaClient(): Promise<void> {
  const i = n++;
  const key = { tenantId: TENANT, agentId: 'helper', channel: 'slack' as const, thread: `C${i % 97}:${1760000000 + i}.000100` };
  await client.workflow.signalWithStart(CONVERSATION_WORKFLOW, {
    workflowId: conversationWorkflowId(key),
    ...routeFor(TENANT),
    args: [{ key }],
    signal: INBOUND_SIGNAL,
    signalArgs: [{ deliveryId: `EvBench${i}`, text: `event ${i}`, receivedAt: new Date().toISOString(), replyTo: { channel: 'slack', slackChannel: 'C', threadTs: '1' } }],
  });
}

async function latencies(fn: () => Promise<void>, count: number): Promise<number[]> {
  for (let i = 0; i < 20; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}

/** Events per second with `concurrency` callers; also returns each call's latency. */
async function throughput(fn: () => Promise<void>, total: number, concurrency: number): Promise<{ perSecond: number; times: number[] }> {
  let left = total;
  const times: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const t = performance.now();
        await fn();
        times.push(performance.now() - t);
      }
    }),
  );
  return { perSecond: total / ((performance.now() - start) / 1000), times: times.sort((a, b) => a - b) };
}

// Interleave the two so neither benefits from a warmer server.
const seqClient1 = await latencies(viaClient, SEQUENTIAL / 2);
const seqGateway1 = await latencies(viaGateway, SEQUENTIAL / 2);
const seqClient2 = await latencies(viaClient, SEQUENTIAL / 2);
const seqGateway2 = await latencies(viaGateway, SEQUENTIAL / 2);
const seqClient = [...seqClient1, ...seqClient2].sort((a, b) => a - b);
const seqGateway = [...seqGateway1, ...seqGateway2].sort((a, b) => a - b);

// The gateway's own cost, without Temporal: the same requests into a gateway whose starter
// resolves at once, against a bare Fastify route that only answers 200.
const noopApp = await buildGateway({ config: () => config, secrets, starter: { deliver: async (e) => ({ workflowId: e.key.thread }) } });
const noopUrl = `${await noopApp.listen({ host: '127.0.0.1', port: 0 })}/t/${TENANT}/slack`;
const Fastify = (await import('fastify')).default;
const bare = Fastify();
bare.post('/t/:tenant/:channel', async () => ({ ok: true }));
const bareUrl = `${await bare.listen({ host: '127.0.0.1', port: 0 })}/t/${TENANT}/slack`;
const post = (target: string) => async () => {
  const i = n++;
  const sample = sampleDelivery('slack', { text: `event ${i}`, deliveryId: `EvNoop${i}`, secret: SECRET });
  const res = await fetch(target, { method: 'POST', headers: sample.headers, body: sample.body });
  if (res.status !== 200) throw new Error(`answered ${res.status}`);
  await res.arrayBuffer();
};
const ownGateway = await latencies(post(noopUrl), 2_000);
const ownBare = await latencies(post(bareUrl), 2_000);
await noopApp.close();
await bare.close();

const tpClient = await throughput(viaClient, CONCURRENT_TOTAL, CONCURRENCY);
const tpGateway = await throughput(viaGateway, CONCURRENT_TOTAL, CONCURRENCY);

const figures: Figure[] = [
  { name: 'gateway own cost p50 (no Temporal)', value: percentile(ownGateway, 50), unit: 'ms', baseline: { name: 'bare Fastify 200', value: percentile(ownBare, 50) },
    note: 'verify + parse + dedup + routing over HTTP loopback' },
  { name: 'gateway own cost p99 (no Temporal)', value: percentile(ownGateway, 99), unit: 'ms', baseline: { name: 'bare Fastify 200', value: percentile(ownBare, 99) }, target: '< 50 ms' },
  { name: 'ack p50 (sequential)', value: percentile(seqGateway, 50), unit: 'ms', baseline: { name: 'bare signalWithStart', value: percentile(seqClient, 50) } },
  { name: 'ack p99 (sequential)', value: percentile(seqGateway, 99), unit: 'ms', baseline: { name: 'bare signalWithStart', value: percentile(seqClient, 99) }, target: '< 50 ms' },
  { name: `ack p50 (${CONCURRENCY} concurrent)`, value: percentile(tpGateway.times, 50), unit: 'ms', baseline: { name: 'bare signalWithStart', value: percentile(tpClient.times, 50) } },
  { name: `ack p99 (${CONCURRENCY} concurrent)`, value: percentile(tpGateway.times, 99), unit: 'ms', baseline: { name: 'bare signalWithStart', value: percentile(tpClient.times, 99) }, target: '< 50 ms' },
  { name: `accepted events/s (${CONCURRENCY} concurrent)`, value: tpGateway.perSecond, unit: 'events/s', baseline: { name: 'bare signalWithStart', value: tpClient.perSecond }, target: '>= 0.8x',
    note: `${CONCURRENT_TOTAL} distinct deliveries, each a new conversation workflow; Temporal dev server on loopback; ${notAccepted} answered 503 past the deadline and were redelivered` },
];
report('gateway', figures);

await app.close();
await connection.close();
await temporal.stop();
