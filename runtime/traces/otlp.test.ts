import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OtlpTraceExporter, rootSpanIdOf, traceIdOf, type OtlpTraceExporterOptions } from './otlp.js';
import { traceEvents } from './events.js';
import { openTraceWriter } from './writer.js';
import { CANARY, localKeyring, mustShowRun, tempStateDir } from './testing/support.js';
import { LocalLake } from './local-lake.js';

/** OTLP/JSON as the collector receives it (the HTTP exporter's default encoding). */
interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: AnyValue }[];
  status?: { code?: number; message?: string };
}
interface Received {
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  spans: OtlpSpan[];
  resource: Record<string, unknown>;
}

function plain(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(plain);
  return undefined;
}
const attrs = (s: OtlpSpan) => Object.fromEntries(s.attributes.map((a) => [a.key, plain(a.value)]));

const CONTENT_KEYS = ['gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.tool.call.arguments', 'gen_ai.tool.call.result', 'claw.content'];
const SECRETS = { header: 'Bearer ghp_SECRETTOKEN0123456789', apiKey: 'sk-live-SECRET-abcdef', known: 'hunter2-SECRET-value', collectorKey: 'collector-api-key-XYZ' };

describe('OTLP exporter against a loopback collector on 127.0.0.1 (decodes the OTLP/JSON the HTTP exporter sends)', () => {
  let server: Server;
  let url = '';
  const received: Received[] = [];
  const { stateDir, cleanup } = tempStateDir();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw) as { resourceSpans: { resource: { attributes: { key: string; value: AnyValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const rs of body.resourceSpans) {
          received.push({
            headers: req.headers,
            raw,
            spans: rs.scopeSpans.flatMap((s) => s.spans),
            resource: Object.fromEntries(rs.resource.attributes.map((a) => [a.key, plain(a.value)])),
          });
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  });
  beforeEach(() => {
    received.length = 0;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    cleanup();
  });

  const exporter = (options: Partial<OtlpTraceExporterOptions> = {}) => new OtlpTraceExporter({ url, scheduledDelayMillis: 50, ...options });
  const spans = () => received.flatMap((r) => r.spans);
  const raw = () => received.map((r) => r.raw).join('\n');

  it('sends a run as one trace, one span per event, with the gen_ai.* and claw.* attributes, and no content by default', async () => {
    const run = mustShowRun('acme', 'run-1');
    const otlp = exporter({ serviceName: 'claw-worker-test', headers: { 'x-api-key': SECRETS.collectorKey } });
    otlp.export(run.slice(0, 5));
    otlp.export(run.slice(5)); // a later batch of the same run joins the same trace
    await otlp.shutdown();

    expect(received[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(received[0]!.headers['x-api-key']).toBe(SECRETS.collectorKey);
    expect(received[0]!.resource['service.name']).toBe('claw-worker-test');
    const all = spans();
    expect(all).toHaveLength(run.length);
    expect(new Set(all.map((s) => s.traceId))).toEqual(new Set([traceIdOf('acme', 'run-1')]));
    expect(new Set(all.map((s) => s.spanId)).size).toBe(run.length); // the retried model call is its own span

    const root = all.find((s) => !s.parentSpanId)!;
    expect(root).toMatchObject({ name: 'invoke_agent helper', spanId: rootSpanIdOf('acme', 'run-1') });
    expect(attrs(root)).toMatchObject({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.id': 'helper', 'claw.tenant.id': 'acme', 'claw.run.id': 'run-1', 'claw.channel': 'slack', 'gen_ai.conversation.id': 'C1/T1' });
    for (const s of all.filter((x) => x !== root)) expect(s.parentSpanId).toBe(root.spanId);

    const chats = all.filter((s) => s.name === 'chat claude-sonnet-4-5');
    expect(chats).toHaveLength(3);
    expect(chats.every((s) => s.kind === 3)).toBe(true); // OTLP SPAN_KIND_CLIENT
    const failed = chats.find((s) => attrs(s)['claw.retry.attempt'] === 1 && attrs(s)['claw.status'] === 'error')!;
    expect(failed.status).toMatchObject({ code: 2, message: 'rate_limited' }); // STATUS_CODE_ERROR
    const ok = chats.find((s) => attrs(s)['gen_ai.usage.input_tokens'] === 412)!;
    expect(attrs(ok)).toMatchObject({ 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-5', 'gen_ai.usage.output_tokens': 57, 'gen_ai.response.finish_reasons': ['tool_use'], 'claw.retry.attempt': 2 });
    expect(BigInt(ok.endTimeUnixNano) - BigInt(ok.startTimeUnixNano)).toBe(840_000_000n); // claw.duration_ms before the event

    const denied = all.find((s) => attrs(s)['gen_ai.tool.name'] === 'shell.exec')!;
    expect(denied.name).toBe('execute_tool shell.exec');
    expect(attrs(denied)).toMatchObject({ 'claw.authz.decision': 'deny', 'claw.authz.policies': ['forbid-shell'], 'claw.authz.reasons': ['agents may not run shell commands'], 'claw.event.kind': 'tool.call' });
    const approval = all.find((s) => s.name === 'claw.approval')!;
    expect(attrs(approval)).toMatchObject({ 'claw.approval.outcome': 'approved', 'claw.approval.approver': 'alice@example.com' });

    for (const s of all) for (const key of CONTENT_KEYS) expect(attrs(s)).not.toHaveProperty(key);
    for (const canary of Object.values(CANARY)) expect(raw()).not.toContain(canary);
  });

  it('exports content only for a tenant that opted in, in the gen_ai content attributes', async () => {
    const otlp = exporter({ contentFor: (tenant) => tenant === 'acme' });
    otlp.export([...mustShowRun('acme', 'run-2'), ...mustShowRun('globex', 'run-3')]);
    await otlp.shutdown();
    const acme = spans().filter((s) => attrs(s)['claw.tenant.id'] === 'acme');
    const globex = spans().filter((s) => attrs(s)['claw.tenant.id'] === 'globex');
    expect(acme).toHaveLength(13);
    expect(globex).toHaveLength(13);

    const ask = acme.find((s) => attrs(s)['claw.event.kind'] === 'ask')!;
    expect(JSON.parse(attrs(ask)['gen_ai.input.messages'] as string)).toEqual([{ role: 'user', parts: [{ type: 'text', content: CANARY.ask }] }]);
    const denied = acme.find((s) => attrs(s)['gen_ai.tool.name'] === 'shell.exec')!;
    expect(JSON.parse(attrs(denied)['gen_ai.tool.call.arguments'] as string)).toEqual({ command: `rm -rf / ${CANARY.args}` });
    const result = acme.find((s) => attrs(s)['claw.event.kind'] === 'tool.result' && attrs(s)['gen_ai.tool.name'] === 'weather.lookup')!;
    expect(attrs(result)['gen_ai.tool.call.result']).toContain(CANARY.result);
    const reply = acme.find((s) => attrs(s)['claw.event.kind'] === 'reply')!;
    expect(attrs(reply)['gen_ai.output.messages']).toContain(CANARY.reply);

    const globexText = JSON.stringify(globex);
    for (const canary of Object.values(CANARY)) expect(globexText).not.toContain(canary);
    for (const s of globex) for (const key of CONTENT_KEYS) expect(attrs(s)).not.toHaveProperty(key);
  });

  it('never exports secrets, even with content opted in: secret-keyed values and known secret values are redacted', async () => {
    const ctx = { tenantId: 'acme', agentId: 'helper', runId: 'run-4', time: new Date('2026-11-25T12:00:00Z') };
    const decision = { decision: 'allow' as const, requiresApproval: false, determining: [{ id: 'grant:helper:github.issues', annotations: {} }], errors: [] };
    const events = [
      traceEvents.toolCall(ctx, 1, { tool: 'github.issues', callId: 'c1', decision, args: { repo: 'acme/app', headers: { Authorization: SECRETS.header }, apiKey: SECRETS.apiKey } }),
      traceEvents.toolResult(ctx, 2, { tool: 'github.issues', callId: 'c1', result: { ok: true, output: { echoed: `token was ${SECRETS.known}`, nested: [{ password: 'p@ss-SECRET' }] }, sandbox: 'none', durationMs: 5 } }),
      traceEvents.reply(ctx, 3, { text: `here you go ${SECRETS.known}` }),
    ];
    const otlp = exporter({ contentFor: () => true, secrets: () => [{ name: 'GITHUB_TOKEN', value: SECRETS.known }], headers: { authorization: SECRETS.collectorKey } });
    otlp.export(events);
    await otlp.shutdown();
    expect(spans()).toHaveLength(3);
    const text = raw();
    for (const secret of [SECRETS.header, SECRETS.apiKey, SECRETS.known, 'p@ss-SECRET', SECRETS.collectorKey]) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
    const reply = spans().find((s) => attrs(s)['claw.event.kind'] === 'reply')!;
    expect(attrs(reply)['gen_ai.output.messages']).toContain('here you go [REDACTED:GITHUB_TOKEN]');
    const call = spans().find((s) => attrs(s)['claw.event.kind'] === 'tool.call')!;
    expect(JSON.parse(attrs(call)['gen_ai.tool.call.arguments'] as string)).toEqual({ repo: 'acme/app', headers: { Authorization: '[redacted]' }, apiKey: '[redacted]' });
  });

  it('plugs into the TraceWriter as an exporter: emitted events arrive as spans, and close() flushes them', async () => {
    const keyring = await localKeyring(stateDir, ['acme']);
    const otlp = exporter({ scheduledDelayMillis: 60_000 }); // only the writer's close can send them in time
    const writer = await openTraceWriter({ stateDir, lake: new LocalLake(stateDir), keyring, exporters: [otlp] });
    await writer.emit(mustShowRun('acme', 'run-5'));
    expect(spans()).toHaveLength(0);
    await writer.close();
    expect(spans()).toHaveLength(13);
    expect(new Set(spans().map((s) => s.traceId))).toEqual(new Set([traceIdOf('acme', 'run-5')]));
    otlp.export(mustShowRun('acme', 'run-6')); // after shutdown: ignored, no throw
  });

  it('skips tenants that are not exported, and never throws into emit on a bad event', async () => {
    const otlp = exporter({ tenants: (t) => t !== 'globex' });
    const bad = { ...mustShowRun('acme', 'run-7')[0]!, attributes: { 'claw.duration_ms': 5 }, time: 'not a time' };
    expect(() => otlp.export([bad, ...mustShowRun('globex', 'run-8'), ...mustShowRun('acme', 'run-9').slice(0, 2)])).not.toThrow();
    await otlp.shutdown();
    expect(spans().every((s) => attrs(s)['claw.tenant.id'] === 'acme')).toBe(true);
    expect(spans().filter((s) => attrs(s)['claw.run.id'] === 'run-9')).toHaveLength(2);
  });
});
