/**
 * Must show: the raw workflow history, read straight from the Temporal server (no codec),
 * holds none of a run's plaintext; only the tenant's own codec reads it back.
 */
import { describe, expect, inject, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import proto from '@temporalio/proto';

const { temporal } = proto;
import { localTenantKeyring, type EnvelopeKeyring } from './index.js';
import { tenantPayloadCodec, payloadTenant } from './codec.js';
import type { EchoActivities } from './testing/echo-workflow.js';

const workflowsPath = fileURLToPath(new URL('./testing/echo-workflow.ts', import.meta.url));
let bundle: WorkflowBundleWithSourceMap;
let keyring: EnvelopeKeyring;
let connection: Connection;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code ?? `not a ClawError: ${String(err)}`;
  }
  return 'no error';
}

/** Run echoWorkflow for `tenantId` on its own task queue, worker and client, all with its codec. */
async function runEcho(tenantId: string, input: { message: string; toolArgs: string }) {
  const codec = tenantPayloadCodec(await keyring.forTenant(tenantId));
  const taskQueue = `claw-tenant-${tenantId}-${randomUUID().slice(0, 8)}`;
  const activities: EchoActivities = { shout: async (text, secretArg) => `${text.toUpperCase()} (${secretArg.length} chars of args)` };
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: inject('temporalAddress') }),
    taskQueue,
    workflowBundle: bundle,
    activities,
    dataConverter: { payloadCodecs: [codec] },
  });
  const client = new Client({ connection, dataConverter: { payloadCodecs: [codec] } });
  const workflowId = `${tenantId}/echo/${randomUUID()}`;
  const result = await worker.runUntil(client.workflow.execute('echoWorkflow', { taskQueue, workflowId, args: [input] }));
  return { workflowId, result };
}

/** The history exactly as the server stores it: raw gRPC, no data converter anywhere. */
async function rawHistory(workflowId: string) {
  const response = await connection.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId } });
  return response.history!;
}

describe('tenant payload codec on a real Temporal server', () => {
  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    bundle = await bundleWorkflowCode({ workflowsPath, logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never });
    keyring = localTenantKeyring(mkdtempSync(join(tmpdir(), 'claw-codec-')));
    await keyring.createTenantKey('acme');
    await keyring.createTenantKey('globex');
    connection = await Connection.connect({ address: inject('temporalAddress') });
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('stores none of the plaintext in the raw history; the tenant codec reads it back', async () => {
    const message = 'Please wire 4,200 EUR to Bob - plaintext-marker-7f3a';
    const toolArgs = '{"account":"DE89-tool-arg-marker-91c2"}';
    const { workflowId, result } = await runEcho('acme', { message, toolArgs });
    expect(result).toBe(`reply: ${message.toUpperCase()} (${toolArgs.length} chars of args)`);

    const history = await rawHistory(workflowId);
    const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    const asText = raw.toString('latin1');
    for (const secret of ['plaintext-marker-7f3a', 'PLAINTEXT-MARKER-7F3A', 'tool-arg-marker-91c2', 'Please wire', 'reply: ']) {
      expect(asText.includes(secret), `raw history contains '${secret}'`).toBe(false);
    }
    // The routing metadata stays readable: the workflow type and the workflow id.
    expect(asText).toContain('echoWorkflow');
    expect(asText).toContain(workflowId);

    // Every payload in the history is an envelope of acme.
    const payloads = collectPayloads(history);
    expect(payloads.length).toBeGreaterThanOrEqual(4); // input, activity args, activity result, workflow result
    for (const p of payloads) expect(payloadTenant(p)).toBe('acme');

    // acme's codec decodes them; globex's refuses them with a clear code.
    const acmeCodec = tenantPayloadCodec(await keyring.forTenant('acme'));
    const decoded = await acmeCodec.decode(payloads);
    expect(decoded.map((p) => Buffer.from(p.data ?? []).toString('utf8')).join('\n')).toContain('plaintext-marker-7f3a');
    const globexCodec = tenantPayloadCodec(await keyring.forTenant('globex'));
    expect(await codeOf(globexCodec.decode(payloads.slice(0, 1)))).toBe('PAYLOAD_TENANT_MISMATCH');
  });

  it('after shredding a tenant its history no longer decodes; other tenants still run', async () => {
    const { workflowId } = await runEcho('acme', { message: 'to be shredded', toolArgs: '{}' });
    const payloads = collectPayloads(await rawHistory(workflowId));
    const codec = tenantPayloadCodec(await keyring.forTenant('acme'));
    await keyring.destroy('acme');
    expect(await codeOf(codec.decode(payloads))).toBe('TENANT_KEY_DESTROYED');
    const other = await runEcho('globex', { message: 'still fine', toolArgs: '{}' });
    expect(other.result).toContain('STILL FINE');
  });
});

function collectPayloads(history: proto.temporal.api.history.v1.IHistory): proto.temporal.api.common.v1.IPayload[] {
  const found: proto.temporal.api.common.v1.IPayload[] = [];
  const visit = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    if (Array.isArray(value)) return value.forEach(visit);
    const record = value as Record<string, unknown>;
    if ('payloads' in record && Array.isArray(record.payloads)) found.push(...(record.payloads as proto.temporal.api.common.v1.IPayload[]));
    for (const child of Object.values(record)) if (child && typeof child === 'object' && !(child instanceof Uint8Array)) visit(child);
  };
  visit(history.events);
  return found;
}
