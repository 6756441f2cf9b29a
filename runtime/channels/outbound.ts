/**
 * Replies through the channel a message came in on: Slack `chat.postMessage`, Telegram
 * `sendMessage`, WhatsApp Cloud API `messages`, or a signed POST to a generic webhook's
 * `replyUrl`. Tokens come from the tenant's SecretStore at send time (the credential
 * broker takes this over when it exists) and never appear in errors or logs — which is
 * why no error here quotes a URL (Telegram's carries the bot token).
 *
 * Every send carries the caller's idempotency key, derived from (run, step), in the field
 * each API offers for it, so a receiver — or an audit — can tell a retry from a new reply.
 * Retry decisions belong to the caller (a Temporal activity): a ChannelError says whether
 * to retry and how long the API asked us to wait.
 */
import type { Channel } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import type { SecretStore } from '../ports.js';
import { retryAfterMs } from '../models/errors.js';
import { signWebhook } from '../gateway/signatures.js';
import { DEFAULT_SECRET_NAMES, type ReplyTarget } from './types.js';

export const DEFAULT_API_BASE = {
  slack: 'https://slack.com',
  telegram: 'https://api.telegram.org',
  whatsapp: 'https://graph.facebook.com',
} as const;
export const WHATSAPP_GRAPH_VERSION = 'v21.0';

export class ChannelError extends ClawError {
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly status?: number;

  constructor(code: string, message: string, options: { hint?: string; retryable: boolean; retryAfterMs?: number; status?: number; cause?: unknown }) {
    super(code, message, { hint: options.hint, cause: options.cause });
    this.name = 'ChannelError';
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}

export interface OutboundMessage {
  tenantId: string;
  /** The agent's channel entry from claw.yaml (secret names, apiBaseUrl, replyUrl). */
  channel: Channel;
  replyTo: Exclude<ReplyTarget, { channel: 'none' }>;
  text: string;
  /** Stable across retries of the same send: derived from (run, step). */
  idempotencyKey: string;
}

export interface SentMessage {
  channel: Channel['type'];
  /** The channel's id for the message (Slack ts, Telegram message_id, WhatsApp wamid), when it gives one. */
  messageId?: string;
}

export interface ChannelSender {
  send(message: OutboundMessage): Promise<SentMessage>;
}

export interface ChannelSenderDeps {
  secrets: SecretStore;
  fetch?: typeof fetch;
  /** Per-request timeout; a timeout is retryable. */
  timeoutMs?: number;
  now?: () => number;
}

/** Slack `ok:false` errors that no retry can fix. */
const SLACK_PERMANENT = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'no_permission', 'missing_scope',
  'channel_not_found', 'is_archived', 'not_in_channel', 'msg_too_long', 'no_text', 'invalid_arguments', 'restricted_action']);

export function channelSender(deps: ChannelSenderDeps): ChannelSender {
  const doFetch = deps.fetch ?? fetch;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const now = deps.now ?? Date.now;

  async function secret(tenantId: string, name: string, what: string): Promise<string> {
    const value = await deps.secrets.get(tenantId, name);
    if (!value) {
      throw new ChannelError('CHANNEL_SECRET_MISSING', `tenant '${tenantId}' has no secret '${name}' (${what})`, {
        hint: `set it with 'claw secrets set --tenant ${tenantId} ${name}'`,
        retryable: false,
      });
    }
    return value;
  }

  async function post(channel: Channel['type'], url: string, headers: Record<string, string>, body: string): Promise<Response> {
    try {
      return await doFetch(url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      throw new ChannelError(timedOut ? 'CHANNEL_TIMEOUT' : 'CHANNEL_UNREACHABLE', `the ${channel} API did not answer${timedOut ? ` within ${timeoutMs} ms` : ''}`, {
        hint: 'the send is retried with backoff',
        retryable: true,
        cause: timedOut ? undefined : err,
      });
    }
  }

  /** Classify a non-2xx HTTP status the same way for every channel. */
  function httpFailure(channel: Channel['type'], response: Response, detail: string): ChannelError {
    const status = response.status;
    const retryable = status === 408 || status === 429 || status >= 500;
    const auth = status === 401 || status === 403;
    return new ChannelError(auth ? 'CHANNEL_AUTH_FAILED' : retryable ? 'CHANNEL_UNAVAILABLE' : 'CHANNEL_REQUEST_REJECTED',
      `the ${channel} API answered ${status}${detail ? ` (${detail})` : ''}`, {
        hint: auth ? "check the tenant's bot token for this channel" : retryable ? 'the send is retried with backoff' : 'the reply was not accepted; see the run record',
        retryable,
        retryAfterMs: retryAfterMs(response.headers, now()),
        status,
      });
  }

  async function readJson(response: Response): Promise<any> {
    try {
      return await response.json();
    } catch {
      return undefined;
    }
  }

  async function slack(m: OutboundMessage & { replyTo: { channel: 'slack' } }): Promise<SentMessage> {
    const token = await secret(m.tenantId, m.channel.tokenSecret ?? DEFAULT_SECRET_NAMES.slack.token!, 'Slack bot token');
    const base = m.channel.apiBaseUrl ?? DEFAULT_API_BASE.slack;
    const body = JSON.stringify({
      channel: m.replyTo.slackChannel,
      thread_ts: m.replyTo.threadTs,
      text: m.text,
      // Slack has no idempotency header; message metadata carries the key with the message.
      metadata: { event_type: 'claw_reply', event_payload: { idempotency_key: m.idempotencyKey } },
    });
    const response = await post('slack', new URL('/api/chat.postMessage', base).href, { authorization: `Bearer ${token}` }, body);
    const result = await readJson(response);
    if (!response.ok) throw httpFailure('slack', response, typeof result?.error === 'string' ? result.error : '');
    if (result?.ok !== true) {
      const error = typeof result?.error === 'string' ? result.error : 'unknown_error';
      const permanent = SLACK_PERMANENT.has(error);
      throw new ChannelError(error === 'invalid_auth' || error === 'not_authed' || error === 'token_revoked' ? 'CHANNEL_AUTH_FAILED' : permanent ? 'CHANNEL_REQUEST_REJECTED' : 'CHANNEL_UNAVAILABLE',
        `Slack chat.postMessage failed: ${error}`, { retryable: !permanent, hint: permanent ? "check the Slack app's token, scopes and channel membership" : 'the send is retried with backoff' });
    }
    return { channel: 'slack', messageId: typeof result.ts === 'string' ? result.ts : undefined };
  }

  async function telegram(m: OutboundMessage & { replyTo: { channel: 'telegram' } }): Promise<SentMessage> {
    const token = await secret(m.tenantId, m.channel.tokenSecret ?? DEFAULT_SECRET_NAMES.telegram.token!, 'Telegram bot token');
    const base = m.channel.apiBaseUrl ?? DEFAULT_API_BASE.telegram;
    const body = JSON.stringify({
      chat_id: m.replyTo.chatId,
      text: m.text,
      ...(m.replyTo.messageThreadId === undefined ? {} : { message_thread_id: m.replyTo.messageThreadId }),
      ...(m.replyTo.replyToMessageId === undefined ? {} : { reply_parameters: { message_id: m.replyTo.replyToMessageId, allow_sending_without_reply: true } }),
    });
    const response = await post('telegram', new URL(`/bot${token}/sendMessage`, base).href, { 'idempotency-key': m.idempotencyKey }, body);
    const result = await readJson(response);
    if (!response.ok || result?.ok !== true) {
      const failure = httpFailure('telegram', response, typeof result?.description === 'string' ? result.description.slice(0, 120) : '');
      // Telegram puts its wait in the body: { parameters: { retry_after: seconds } }.
      const after = result?.parameters?.retry_after;
      if (typeof after === 'number') {
        throw new ChannelError(failure.code, failure.message, { hint: failure.hint, retryable: failure.retryable, retryAfterMs: after * 1000, status: failure.status });
      }
      throw failure;
    }
    return { channel: 'telegram', messageId: result.result?.message_id === undefined ? undefined : String(result.result.message_id) };
  }

  async function whatsapp(m: OutboundMessage & { replyTo: { channel: 'whatsapp' } }): Promise<SentMessage> {
    const token = await secret(m.tenantId, m.channel.tokenSecret ?? DEFAULT_SECRET_NAMES.whatsapp.token!, 'WhatsApp access token');
    const base = m.channel.apiBaseUrl ?? DEFAULT_API_BASE.whatsapp;
    const body = JSON.stringify({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: m.replyTo.to,
      type: 'text',
      text: { preview_url: false, body: m.text },
      ...(m.replyTo.contextMessageId ? { context: { message_id: m.replyTo.contextMessageId } } : {}),
      // Echoed back in the delivery status webhooks: ties each status to its (run, step).
      biz_opaque_callback_data: m.idempotencyKey,
    });
    const url = new URL(`/${WHATSAPP_GRAPH_VERSION}/${encodeURIComponent(m.replyTo.phoneNumberId)}/messages`, base).href;
    const response = await post('whatsapp', url, { authorization: `Bearer ${token}` }, body);
    const result = await readJson(response);
    if (!response.ok) throw httpFailure('whatsapp', response, result?.error?.code === undefined ? '' : `code ${result.error.code}`);
    const id = result?.messages?.[0]?.id;
    return { channel: 'whatsapp', messageId: typeof id === 'string' ? id : undefined };
  }

  async function webhook(m: OutboundMessage & { replyTo: { channel: 'webhook' } }): Promise<SentMessage> {
    if (!m.channel.replyUrl) {
      throw new ChannelError('CHANNEL_NO_REPLY_URL', 'this webhook channel has no replyUrl', { hint: "set channels[].replyUrl for the agent's webhook channel", retryable: false });
    }
    const signingSecret = await secret(m.tenantId, m.channel.signingSecret ?? DEFAULT_SECRET_NAMES.webhook.signing, 'webhook signing secret');
    const body = JSON.stringify({ thread: m.replyTo.thread, inReplyTo: m.replyTo.inReplyTo, text: m.text });
    // Signed like inbound webhooks, with the idempotency key as the delivery id.
    const headers = { ...signWebhook(signingSecret, body, Math.floor(now() / 1000), m.idempotencyKey), 'idempotency-key': m.idempotencyKey };
    const response = await post('webhook', m.channel.replyUrl, headers, body);
    if (!response.ok) throw httpFailure('webhook', response, '');
    return { channel: 'webhook' };
  }

  return {
    async send(m) {
      if (m.replyTo.channel !== m.channel.type) {
        throw new ChannelError('CHANNEL_MISMATCH', `a ${m.replyTo.channel} reply cannot go through a ${m.channel.type} channel`, { retryable: false });
      }
      switch (m.replyTo.channel) {
        case 'slack':
          return slack(m as OutboundMessage & { replyTo: { channel: 'slack' } });
        case 'telegram':
          return telegram(m as OutboundMessage & { replyTo: { channel: 'telegram' } });
        case 'whatsapp':
          return whatsapp(m as OutboundMessage & { replyTo: { channel: 'whatsapp' } });
        case 'webhook':
          return webhook(m as OutboundMessage & { replyTo: { channel: 'webhook' } });
      }
    },
  };
}
