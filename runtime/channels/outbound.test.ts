import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Channel } from '../../core/config/schema.js';
import type { SecretStore } from '../ports.js';
import { verifyWebhook } from '../gateway/signatures.js';
import { channelLoopback, type ChannelLoopback } from './loopback.test-helper.js';
import { ChannelError, channelSender, type ChannelSender } from './outbound.js';

const TOKENS = { slack: 'xoxb-loopback-token', telegram: '123456:ABC-telegram-token', whatsapp: 'EAAG-whatsapp-token' };
const SECRETS: Record<string, string> = {
  SLACK_BOT_TOKEN: TOKENS.slack,
  TELEGRAM_BOT_TOKEN: TOKENS.telegram,
  WHATSAPP_ACCESS_TOKEN: TOKENS.whatsapp,
  WEBHOOK_SIGNING_SECRET: 'webhook-secret',
  WRONG: 'not-the-token',
};
const secrets: SecretStore = {
  get: async (tenant, name) => (tenant === 'acme' ? SECRETS[name] : undefined),
  set: async () => {},
  list: async () => Object.keys(SECRETS),
  remove: async () => false,
};

let loopback: ChannelLoopback;
let sender: ChannelSender;
beforeAll(async () => {
  loopback = await channelLoopback(TOKENS);
  sender = channelSender({ secrets, timeoutMs: 2_000 });
});
afterAll(async () => loopback.close());
beforeEach(() => {
  loopback.received.length = 0;
  loopback.faults.length = 0;
});

const ch = (type: Channel['type'], extra: Partial<Channel> = {}): Channel => ({ type, apiBaseUrl: loopback.url, ...extra });

describe('outbound channels against loopback wire formats', () => {
  it('Slack chat.postMessage: bearer token, thread, idempotency key in message metadata', async () => {
    const sent = await sender.send({ tenantId: 'acme', channel: ch('slack'), replyTo: { channel: 'slack', slackChannel: 'C1', threadTs: '1.2' }, text: 'hi', idempotencyKey: 'run-1/step-3' });
    expect(sent.messageId).toMatch(/^1760000000\.\d{6}$/);
    const [msg] = loopback.received;
    expect(msg!.headers.authorization).toBe(`Bearer ${TOKENS.slack}`);
    expect(msg!.body).toMatchObject({ channel: 'C1', thread_ts: '1.2', text: 'hi', metadata: { event_type: 'claw_reply', event_payload: { idempotency_key: 'run-1/step-3' } } });
  });

  it('Telegram sendMessage: token in the path, reply_parameters, idempotency header', async () => {
    const sent = await sender.send({ tenantId: 'acme', channel: ch('telegram'), replyTo: { channel: 'telegram', chatId: '-100', replyToMessageId: 5 }, text: 'hi', idempotencyKey: 'k1' });
    expect(sent.messageId).toBeDefined();
    expect(loopback.received[0]!.body).toEqual({ chat_id: '-100', text: 'hi', reply_parameters: { message_id: 5, allow_sending_without_reply: true } });
    expect(loopback.received[0]!.headers['idempotency-key']).toBe('k1');
  });

  it('WhatsApp messages: Graph path, context and biz_opaque_callback_data', async () => {
    const sent = await sender.send({ tenantId: 'acme', channel: ch('whatsapp'), replyTo: { channel: 'whatsapp', phoneNumberId: 'P1', to: '4915', contextMessageId: 'wamid.in' }, text: 'hi', idempotencyKey: 'k2' });
    expect(sent.messageId).toMatch(/^wamid\./);
    expect(loopback.received[0]!.path).toBe('/v21.0/P1/messages');
    expect(loopback.received[0]!.body).toMatchObject({ messaging_product: 'whatsapp', to: '4915', type: 'text', text: { body: 'hi' }, context: { message_id: 'wamid.in' }, biz_opaque_callback_data: 'k2' });
  });

  it('generic webhook reply: signed like inbound webhooks, key as delivery id', async () => {
    await sender.send({ tenantId: 'acme', channel: ch('webhook', { replyUrl: `${loopback.url}/reply` }), replyTo: { channel: 'webhook', thread: 't1', inReplyTo: 'd1' }, text: 'hi', idempotencyKey: 'k3' });
    const msg = loopback.received[0]!;
    expect(msg.body).toEqual({ thread: 't1', inReplyTo: 'd1', text: 'hi' });
    expect(msg.headers['x-claw-delivery']).toBe('k3');
    const raw = Buffer.from(JSON.stringify(msg.body));
    expect(verifyWebhook(msg.headers, raw, SECRETS.WEBHOOK_SIGNING_SECRET!, Math.floor(Date.now() / 1000))).toEqual({ ok: true });
  });
});

describe('outbound failures are classified for the retry policy', () => {
  const slackTo = { channel: 'slack' as const, slackChannel: 'C1', threadTs: '1.2' };

  it('429 with retry-after is retryable and carries the wait', async () => {
    loopback.faults.push({ status: 429, headers: { 'retry-after': '7' } });
    const err = await sender.send({ tenantId: 'acme', channel: ch('slack'), replyTo: slackTo, text: 'x', idempotencyKey: 'k' }).catch((e) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 7000, status: 429 });
  });

  it("Telegram's body-level retry_after is honoured", async () => {
    loopback.faults.push({ status: 429, retryAfterSeconds: 3 });
    const err = await sender.send({ tenantId: 'acme', channel: ch('telegram'), replyTo: { channel: 'telegram', chatId: '1' }, text: 'x', idempotencyKey: 'k' }).catch((e) => e);
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 3000 });
  });

  it('5xx is retryable; a wrong token is not, and the token is in no message', async () => {
    loopback.faults.push({ status: 503 });
    expect(await sender.send({ tenantId: 'acme', channel: ch('whatsapp'), replyTo: { channel: 'whatsapp', phoneNumberId: 'P', to: '1' }, text: 'x', idempotencyKey: 'k' }).catch((e) => e)).toMatchObject({ retryable: true, status: 503 });

    for (const [type, replyTo] of [['slack', slackTo], ['telegram', { channel: 'telegram', chatId: '1' }], ['whatsapp', { channel: 'whatsapp', phoneNumberId: 'P', to: '1' }]] as const) {
      const err = await sender.send({ tenantId: 'acme', channel: ch(type, { tokenSecret: 'WRONG' }), replyTo: replyTo as never, text: 'x', idempotencyKey: 'k' }).catch((e) => e);
      expect(err, type).toMatchObject({ code: 'CHANNEL_AUTH_FAILED', retryable: false });
      expect(JSON.stringify({ m: err.message, h: err.hint })).not.toContain('not-the-token');
    }
    expect(loopback.received).toHaveLength(0);
  });

  it('an unreachable API is retryable; a missing secret is not', async () => {
    const err = await sender.send({ tenantId: 'acme', channel: ch('slack', { apiBaseUrl: 'http://127.0.0.1:9' }), replyTo: slackTo, text: 'x', idempotencyKey: 'k' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'CHANNEL_UNREACHABLE', retryable: true });
    const missing = await sender.send({ tenantId: 'other', channel: ch('slack'), replyTo: slackTo, text: 'x', idempotencyKey: 'k' }).catch((e) => e);
    expect(missing).toMatchObject({ code: 'CHANNEL_SECRET_MISSING', retryable: false });
  });
});
