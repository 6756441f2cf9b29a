/**
 * Attacks on the gateway's public endpoints (the real buildGateway with a recording
 * starter in place of Temporal): unsigned floods, probing for tenant and agent ids,
 * replayed webhooks under new delivery ids, and fuzzed requests (fast-check) — none may
 * start a run or cost a tenant its budget.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load.js';
import type { InboundEvent } from '../../runtime/channels/types.js';
import { buildGateway } from '../../runtime/gateway/server.js';
import { signSlack, signTelegram, signWebhook, signWhatsApp } from '../../runtime/gateway/signatures.js';
import type { SecretStore } from '../../runtime/ports.js';

const CONFIG = parseConfig(`
tenants:
  - { id: acme, name: Acme, gateway: { ratePerMinute: 3 } }
  - { id: globex, name: Globex }
agents:
  - id: helper
    tenant: acme
    model: { provider: scripted, script: [{ reply: hi }] }
    channels: [{ type: slack }, { type: telegram }, { type: whatsapp }, { type: webhook }]
`);
const SECRETS: Record<string, string> = { SLACK_SIGNING_SECRET: 'slack-secret', TELEGRAM_SECRET_TOKEN: 'tg-secret', WHATSAPP_APP_SECRET: 'wa-secret', WEBHOOK_SIGNING_SECRET: 'hook-secret' };
const secrets: SecretStore = { get: async (t, n) => (t === 'acme' ? SECRETS[n] : undefined), set: async () => {}, list: async () => [], remove: async () => false };
const NOW = 1_760_000_000_000;
const nowSeconds = Math.floor(NOW / 1000);

let app: FastifyInstance;
let started: InboundEvent[];

beforeEach(async () => {
  started = [];
  app = await buildGateway({
    config: () => CONFIG,
    secrets,
    now: () => NOW,
    starter: { deliver: async (event) => (started.push(event), { workflowId: `wf-${started.length}` }) },
  });
});
afterEach(() => app.close());

const webhook = (body: string, delivery: string, ts = nowSeconds, key = SECRETS.WEBHOOK_SIGNING_SECRET!) =>
  app.inject({ method: 'POST', url: '/t/acme/webhook', headers: { 'content-type': 'application/json', ...signWebhook(key, body, ts, delivery) }, payload: body });

describe('gateway attacks', () => {
  it('an unsigned flood does not exhaust the tenant budget: a signed delivery still gets through', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await app.inject({ method: 'POST', url: '/t/acme/webhook', headers: { 'content-type': 'application/json' }, payload: `{"thread":"t","text":"${i}"}` });
      expect(res.statusCode).toBe(401);
    }
    const signed = await webhook(JSON.stringify({ thread: 't', text: 'real' }), 'd-real');
    expect(signed.statusCode).toBe(200);
    expect(started).toHaveLength(1);
  });

  it('probing ids learns nothing: unknown tenant, unknown agent and unknown channel answer the same 404', async () => {
    const answers = await Promise.all(
      ['/t/nope/webhook', '/t/acme/webhook/nobody', '/t/globex/webhook', '/t/acme/fax', '/t/acme/slack/helper2'].map((url) =>
        app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{}' }),
      ),
    );
    for (const a of answers) expect({ status: a.statusCode, body: a.body }).toEqual({ status: answers[0]!.statusCode, body: answers[0]!.body });
    expect(answers[0]!.statusCode).toBe(404);
    expect(answers[0]!.body).not.toMatch(/acme|globex|helper|tenant|agent/);
  });

  it('a captured generic webhook replayed under new delivery ids starts nothing new', async () => {
    const body = JSON.stringify({ thread: 't1', text: 'transfer' });
    expect((await webhook(body, 'd-1')).json()).toMatchObject({ accepted: 1 });
    for (const fresh of ['d-2', 'another']) expect((await webhook(body, fresh)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(started).toHaveLength(1);
  });

  it('fuzz: no unsigned or mis-signed request to any channel starts a run (fast-check)', async () => {
    const channel = fc.constantFrom('slack', 'telegram', 'whatsapp', 'webhook');
    const headerSet = fc.record({
      signer: fc.constantFrom('none', 'wrong-key', 'right-key-other-body', 'stale', 'garbage'),
      junk: fc.dictionary(fc.constantFrom('x-slack-signature', 'x-slack-request-timestamp', 'x-hub-signature-256', 'x-telegram-bot-api-secret-token', 'x-claw-signature', 'x-claw-timestamp', 'x-claw-delivery'), fc.string({ maxLength: 80 }), { maxKeys: 3 }),
    });
    const validish = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.constantFrom(
        JSON.stringify({ type: 'event_callback', event_id: 'E1', event: { type: 'message', channel: 'C', ts: '1.1', text: 'hi' } }),
        JSON.stringify({ update_id: 1, message: { message_id: 1, chat: { id: 1 }, text: 'hi', date: 1 } }),
        JSON.stringify({ thread: 't', text: 'hi' }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(channel, validish, headerSet, async (ch, body, { signer, junk }) => {
        const sign = (key: string, signedBody: string, ts: number): Record<string, string> =>
          ch === 'slack' ? signSlack(key, signedBody, ts) : ch === 'telegram' ? signTelegram(key) : ch === 'whatsapp' ? signWhatsApp(key, signedBody) : signWebhook(key, signedBody, ts, 'd');
        const right = SECRETS[{ slack: 'SLACK_SIGNING_SECRET', telegram: 'TELEGRAM_SECRET_TOKEN', whatsapp: 'WHATSAPP_APP_SECRET', webhook: 'WEBHOOK_SIGNING_SECRET' }[ch]]!;
        const headers: Record<string, string> =
          signer === 'none' ? {}
          : signer === 'wrong-key' ? sign(`${right}x`, body, nowSeconds)
          : signer === 'right-key-other-body' ? (ch === 'telegram' ? sign(`${right}!`, body, nowSeconds) : sign(right, `${body} `, nowSeconds))
          : signer === 'stale' ? (ch === 'telegram' || ch === 'whatsapp' ? sign(`${right}?`, body, nowSeconds) : sign(right, body, nowSeconds - 3_600))
          : junk;
        const before = started.length;
        const res = await app.inject({ method: 'POST', url: `/t/acme/${ch}`, headers: { 'content-type': 'application/json', ...headers }, payload: body });
        expect(started.length).toBe(before);
        expect(res.statusCode).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
  });
});
