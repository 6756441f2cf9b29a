import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../core/config/load.js';
import type { SecretStore } from '../ports.js';
import type { InboundEvent } from '../channels/types.js';
import { buildGateway, HARD_MAX_BODY_BYTES } from './server.js';
import { signSlack, signTelegram, signWebhook, signWhatsApp } from './signatures.js';
import type { ConversationStarter } from './starter.js';

const CONFIG = parseConfig(`
tenants:
  - { id: acme, name: Acme }
  - { id: tiny, name: Tiny, gateway: { ratePerMinute: 3, maxBodyBytes: 2048 } }
agents:
  - id: helper
    tenant: acme
    model: { provider: scripted, script: [{ reply: hi }] }
    channels: [{ type: slack }, { type: telegram }, { type: whatsapp }, { type: webhook, signingSecret: HOOK_KEY }]
  - id: other
    tenant: acme
    model: { provider: scripted, script: [{ reply: hi }] }
    channels: [{ type: webhook, signingSecret: HOOK_KEY }]
  - id: bot
    tenant: tiny
    model: { provider: scripted, script: [{ reply: hi }] }
    channels: [{ type: webhook }]
`);

/** A SecretStore double over a Map (the port's real adapters are DATA's). */
function memorySecrets(values: Record<string, Record<string, string>>): SecretStore & { gets: number } {
  const store = {
    gets: 0,
    async get(tenant: string, name: string) {
      store.gets++;
      return values[tenant]?.[name];
    },
    async set() {},
    async list(tenant: string) {
      return Object.keys(values[tenant] ?? {});
    },
    async remove() {
      return false;
    },
  };
  return store;
}

const SECRETS = {
  acme: {
    SLACK_SIGNING_SECRET: 'slack-signing-secret-value',
    TELEGRAM_SECRET_TOKEN: 'telegram-token-value',
    WHATSAPP_APP_SECRET: 'whatsapp-app-secret',
    WHATSAPP_VERIFY_TOKEN: 'verify-me',
    HOOK_KEY: 'hook-key-value',
  },
  tiny: { WEBHOOK_SIGNING_SECRET: 'tiny-key' },
};

class RecordingStarter implements ConversationStarter {
  events: InboundEvent[] = [];
  delayMs = 0;
  fail = false;
  async deliver(event: InboundEvent) {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fail) throw new Error('temporal down');
    this.events.push(event);
    return { workflowId: `${event.key.tenantId}/conv/${event.key.agentId}/${event.key.channel}/${event.key.thread}` };
  }
}

const NOW = 1_760_000_000_000;
const nowSeconds = Math.floor(NOW / 1000);

let app: FastifyInstance;
let starter: RecordingStarter;
let secrets: ReturnType<typeof memorySecrets>;

beforeEach(async () => {
  starter = new RecordingStarter();
  secrets = memorySecrets(SECRETS);
  app = await buildGateway({ config: () => CONFIG, secrets, starter, now: () => NOW });
});
afterEach(async () => app.close());

function slackEvent(eventId: string, text = 'hello') {
  return JSON.stringify({
    type: 'event_callback',
    event_id: eventId,
    team_id: 'T1',
    event: { type: 'message', channel: 'C1', user: 'U1', text, ts: '1760000000.000100' },
  });
}

function webhook(tenant: string, path: string, body: string, secret: string, delivery: string, ts = nowSeconds) {
  return app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/json', ...signWebhook(secret, body, ts, delivery) },
    payload: body,
  });
}

describe('gateway: accepted deliveries', () => {
  it('Slack: a signed event starts the conversation, keyed by channel and thread', async () => {
    const body = slackEvent('Ev1');
    const res = await app.inject({ method: 'POST', url: '/t/acme/slack', headers: { 'content-type': 'application/json', ...signSlack(SECRETS.acme.SLACK_SIGNING_SECRET, body, nowSeconds) }, payload: body });
    expect(res.statusCode).toBe(200);
    expect(starter.events).toHaveLength(1);
    expect(starter.events[0]!.key).toEqual({ tenantId: 'acme', agentId: 'helper', channel: 'slack', thread: 'C1:1760000000.000100' });
    expect(starter.events[0]!.message).toMatchObject({ deliveryId: 'Ev1', text: 'hello', user: 'U1', replyTo: { channel: 'slack', slackChannel: 'C1', threadTs: '1760000000.000100' } });
  });

  it('Slack url_verification echoes the challenge and starts nothing', async () => {
    const body = JSON.stringify({ type: 'url_verification', challenge: 'abc123', token: 'legacy' });
    const res = await app.inject({ method: 'POST', url: '/t/acme/slack', headers: { 'content-type': 'application/json', ...signSlack(SECRETS.acme.SLACK_SIGNING_SECRET, body, nowSeconds) }, payload: body });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ challenge: 'abc123' });
    expect(starter.events).toHaveLength(0);
  });

  it('Slack bot messages (our own replies) are acknowledged and ignored', async () => {
    const body = JSON.stringify({ type: 'event_callback', event_id: 'Ev2', event: { type: 'message', bot_id: 'B1', channel: 'C1', text: 'x', ts: '1.1' } });
    const res = await app.inject({ method: 'POST', url: '/t/acme/slack', headers: { 'content-type': 'application/json', ...signSlack(SECRETS.acme.SLACK_SIGNING_SECRET, body, nowSeconds) }, payload: body });
    expect(res.statusCode).toBe(200);
    expect(starter.events).toHaveLength(0);
  });

  it('Telegram: the secret-token header authenticates an Update', async () => {
    const body = JSON.stringify({ update_id: 77, message: { message_id: 5, chat: { id: -100 }, from: { id: 9 }, text: 'hi' } });
    const res = await app.inject({ method: 'POST', url: '/t/acme/telegram', headers: { 'content-type': 'application/json', ...signTelegram(SECRETS.acme.TELEGRAM_SECRET_TOKEN) }, payload: body });
    expect(res.statusCode).toBe(200);
    expect(starter.events[0]!.message).toMatchObject({ deliveryId: '77', text: 'hi', replyTo: { channel: 'telegram', chatId: '-100', replyToMessageId: 5 } });
  });

  it('WhatsApp: X-Hub-Signature-256 over the raw body; each text message is one event', async () => {
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: 'W', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: 'P1' },
        messages: [{ id: 'wamid.1', from: '4915', type: 'text', text: { body: 'one' } }, { id: 'wamid.2', from: '4915', type: 'text', text: { body: 'two' } }] } }] }],
    });
    const res = await app.inject({ method: 'POST', url: '/t/acme/whatsapp', headers: { 'content-type': 'application/json', ...signWhatsApp(SECRETS.acme.WHATSAPP_APP_SECRET, body) }, payload: body });
    expect(res.statusCode).toBe(200);
    expect(starter.events.map((e) => e.message.deliveryId)).toEqual(['wamid.1', 'wamid.2']);
    expect(starter.events[0]!.key.thread).toBe('P1:4915');
  });

  it('WhatsApp GET verification echoes hub.challenge only for the right verify token', async () => {
    const ok = await app.inject({ method: 'GET', url: '/t/acme/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444' });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('1158201444');
    const bad = await app.inject({ method: 'GET', url: '/t/acme/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444' });
    expect(bad.statusCode).toBe(403);
    expect(bad.body).not.toContain('1158201444');
  });

  it('the generic webhook needs an agent segment when several agents share the channel', async () => {
    const body = JSON.stringify({ thread: 't1', text: 'hi' });
    const ambiguous = await webhook('acme', '/t/acme/webhook', body, SECRETS.acme.HOOK_KEY, 'd1');
    expect(ambiguous.statusCode).toBe(404);
    expect(ambiguous.json().error.code).toBe('NOT_FOUND');
    const ok = await webhook('acme', '/t/acme/webhook/other', body, SECRETS.acme.HOOK_KEY, 'd1');
    expect(ok.statusCode).toBe(200);
    expect(starter.events[0]!.key.agentId).toBe('other');
  });
});

describe('gateway: dedup', () => {
  it('the same delivery 5 times (sequential and concurrent) starts one event', async () => {
    const body = slackEvent('EvDup');
    const send = () => app.inject({ method: 'POST', url: '/t/acme/slack', headers: { 'content-type': 'application/json', ...signSlack(SECRETS.acme.SLACK_SIGNING_SECRET, body, nowSeconds), 'x-slack-retry-num': '1' }, payload: body });
    starter.delayMs = 30;
    const concurrent = await Promise.all([send(), send(), send()]);
    const later = [await send(), await send()];
    for (const res of [...concurrent, ...later]) expect(res.statusCode).toBe(200);
    expect(starter.events).toHaveLength(1);
    expect(later.map((r) => r.json().duplicates)).toEqual([1, 1]);
  });

  it('a failed delivery is not remembered: the channel retry goes through', async () => {
    const body = JSON.stringify({ thread: 't', text: 'x' });
    starter.fail = true;
    const first = await webhook('tiny', '/t/tiny/webhook', body, SECRETS.tiny.WEBHOOK_SIGNING_SECRET, 'r1');
    expect(first.statusCode).toBe(503);
    expect(first.headers['retry-after']).toBe('1');
    starter.fail = false;
    const retry = await webhook('tiny', '/t/tiny/webhook', body, SECRETS.tiny.WEBHOOK_SIGNING_SECRET, 'r1');
    expect(retry.statusCode).toBe(200);
    expect(starter.events).toHaveLength(1);
  });
});

describe('gateway: rejections start nothing', () => {
  const cases: Array<[string, () => Promise<{ statusCode: number; json(): any }>, number, string]> = [
    ['bad Slack signature', () => {
      const body = slackEvent('Ev3');
      return app.inject({ method: 'POST', url: '/t/acme/slack', headers: { 'content-type': 'application/json', ...signSlack('wrong-secret', body, nowSeconds) }, payload: body });
    }, 401, 'BAD_SIGNATURE'],
    ['stale Slack timestamp (6 minutes old, correctly signed)', () => {
      const body = slackEvent('Ev4');
      return app.inject({ method: 'POST', url: '/t/acme/slack', headers: { 'content-type': 'application/json', ...signSlack(SECRETS.acme.SLACK_SIGNING_SECRET, body, nowSeconds - 360) }, payload: body });
    }, 401, 'STALE_TIMESTAMP'],
    ['stale webhook timestamp', () => webhook('tiny', '/t/tiny/webhook', JSON.stringify({ thread: 't', text: 'x' }), SECRETS.tiny.WEBHOOK_SIGNING_SECRET, 'd', nowSeconds + 301), 401, 'STALE_TIMESTAMP'],
    ['no signature at all', () => app.inject({ method: 'POST', url: '/t/acme/whatsapp', headers: { 'content-type': 'application/json' }, payload: '{}' }), 401, 'MISSING_SIGNATURE'],
    ['wrong Telegram token', () => app.inject({ method: 'POST', url: '/t/acme/telegram', headers: { 'content-type': 'application/json', ...signTelegram('guess') }, payload: '{"update_id":1}' }), 401, 'BAD_SIGNATURE'],
    ['body changed after signing', () => {
      const body = slackEvent('Ev5');
      return app.inject({ method: 'POST', url: '/t/acme/slack', headers: { 'content-type': 'application/json', ...signSlack(SECRETS.acme.SLACK_SIGNING_SECRET, body, nowSeconds) }, payload: body.replace('hello', 'HELLO') });
    }, 401, 'BAD_SIGNATURE'],
    ['unknown tenant', () => webhook('nope', '/t/nope/webhook', '{}', 'k', 'd'), 404, 'NOT_FOUND'],
    ['unknown channel type', () => webhook('acme', '/t/acme/fax', '{}', 'k', 'd'), 404, 'NOT_FOUND'],
    ['malformed body (signed, not JSON)', () => webhook('tiny', '/t/tiny/webhook', '{"thread": ', SECRETS.tiny.WEBHOOK_SIGNING_SECRET, 'd'), 400, 'MALFORMED_BODY'],
    ['malformed body (signed JSON, wrong shape)', () => {
      const body = JSON.stringify({ type: 'event_callback', event: { type: 'message' } });
      return app.inject({ method: 'POST', url: '/t/acme/slack', headers: { 'content-type': 'application/json', ...signSlack(SECRETS.acme.SLACK_SIGNING_SECRET, body, nowSeconds) }, payload: body });
    }, 400, 'MALFORMED_BODY'],
    ['body over the tenant limit (declared length)', () => webhook('tiny', '/t/tiny/webhook', JSON.stringify({ thread: 't', text: 'x'.repeat(4096) }), SECRETS.tiny.WEBHOOK_SIGNING_SECRET, 'd'), 413, 'BODY_TOO_LARGE'],
    ['body over the default limit (256 KiB)', () => webhook('acme', '/t/acme/webhook/other', JSON.stringify({ thread: 't', text: 'x'.repeat(HARD_MAX_BODY_BYTES) }), SECRETS.acme.HOOK_KEY, 'd'), 413, 'BODY_TOO_LARGE'],
  ];
  for (const [name, send, status, code] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      const res = await send();
      expect(res.statusCode).toBe(status);
      expect(res.json().error.code).toBe(code);
      expect(starter.events).toHaveLength(0);
    });
  }

  it('error bodies never echo a secret', async () => {
    const body = slackEvent('Ev6');
    const res = await app.inject({ method: 'POST', url: '/t/acme/slack', headers: { 'content-type': 'application/json', ...signSlack('wrong', body, nowSeconds) }, payload: body });
    for (const value of Object.values(SECRETS.acme)) expect(res.body).not.toContain(value);
  });

  it('a channel whose signing secret is not set fails closed with the secret name', async () => {
    const res = await webhook('acme', '/t/acme/webhook/other', '{}', 'k', 'd');
    expect(res.statusCode).toBe(401);
    await app.close();
    app = await buildGateway({ config: () => CONFIG, secrets: memorySecrets({}), starter, now: () => NOW });
    const missing = await webhook('tiny', '/t/tiny/webhook', JSON.stringify({ thread: 't', text: 'x' }), 'k', 'd');
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error).toMatchObject({ code: 'CHANNEL_SECRET_MISSING', hint: "set the tenant secret 'WEBHOOK_SIGNING_SECRET'" });
  });
});

describe('gateway: limits and health', () => {
  it('rate-limits per tenant: a busy tenant gets 429, another tenant is unaffected', async () => {
    const body = JSON.stringify({ thread: 't', text: 'x' });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await webhook('tiny', '/t/tiny/webhook', JSON.stringify({ thread: 't', text: `x${i}` }), SECRETS.tiny.WEBHOOK_SIGNING_SECRET, `rl${i}`)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const other = await webhook('acme', '/t/acme/webhook/other', body, SECRETS.acme.HOOK_KEY, 'rl-acme');
    expect(other.statusCode).toBe(200);
    expect(starter.events).toHaveLength(4);
  });

  it('answers 503 (not 2xx) when Temporal does not accept within the deadline', async () => {
    starter.fail = true;
    const body = slackEvent('Ev7');
    const res = await app.inject({ method: 'POST', url: '/t/acme/slack', headers: { 'content-type': 'application/json', ...signSlack(SECRETS.acme.SLACK_SIGNING_SECRET, body, nowSeconds) }, payload: body });
    expect(res.statusCode).toBe(503);
  });

  it('caches looked-up secrets across a burst', async () => {
    const body = JSON.stringify({ thread: 't', text: 'x' });
    for (let i = 0; i < 3; i++) await webhook('acme', '/t/acme/webhook/other', body, SECRETS.acme.HOOK_KEY, `c${i}`);
    expect(secrets.gets).toBe(1);
  });

  it('/healthz is 200; /readyz reflects the readiness checks', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.close();
    let temporal = false;
    app = await buildGateway({ config: () => CONFIG, secrets, starter, ready: async () => ({ temporal }) });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    temporal = true;
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ ok: true, checks: { temporal: true } });
  });
});

describe('sample deliveries (claw events send)', () => {
  it('each channel sample is accepted as one event, and a resend is a duplicate', async () => {
    const { sampleDelivery } = await import('./sample.js');
    const secretFor = { slack: SECRETS.acme.SLACK_SIGNING_SECRET, telegram: SECRETS.acme.TELEGRAM_SECRET_TOKEN, whatsapp: SECRETS.acme.WHATSAPP_APP_SECRET, webhook: SECRETS.acme.HOOK_KEY };
    for (const channel of ['slack', 'telegram', 'whatsapp', 'webhook'] as const) {
      const sample = sampleDelivery(channel, { text: `hi ${channel}`, secret: secretFor[channel], nowSeconds });
      const url = channel === 'webhook' ? '/t/acme/webhook/helper' : `/t/acme/${channel}`;
      const res = await app.inject({ method: 'POST', url, headers: sample.headers, payload: sample.body });
      expect(res.statusCode, channel).toBe(200);
      expect(res.json().accepted, channel).toBe(1);
      const again = await app.inject({ method: 'POST', url, headers: sample.headers, payload: sample.body });
      expect(again.json().duplicates, channel).toBe(1);
    }
    expect(starter.events.map((e) => [e.key.channel, e.message.text])).toEqual([['slack', 'hi slack'], ['telegram', 'hi telegram'], ['whatsapp', 'hi whatsapp'], ['webhook', 'hi webhook']]);
  });
});
