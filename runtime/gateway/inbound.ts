/**
 * Reading each channel's inbound wire format into `InboundMessage`s, after the signature
 * has been verified (never before: unauthenticated bytes are not parsed).
 *
 * A body that is valid JSON but carries nothing to answer (a Slack bot echo, a WhatsApp
 * delivery status, a Telegram edited message) is `ignored`: the channel gets its 200 and
 * nothing starts. A body we cannot read is `malformed`: 400, and nothing starts.
 */
import { z } from 'zod';
import type { ChannelType, InboundMessage, ReplyTarget } from '../channels/types.js';

export interface ParsedMessage {
  thread: string;
  message: Omit<InboundMessage, 'receivedAt'>;
}

export type Parsed =
  | { kind: 'messages'; messages: ParsedMessage[] }
  /** Answer the channel's handshake (Slack url_verification) with this JSON, start nothing. */
  | { kind: 'challenge'; body: Record<string, unknown> }
  | { kind: 'ignored'; why: string }
  | { kind: 'malformed'; why: string };

function json(raw: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

function malformed(error: z.ZodError | string): Parsed {
  if (typeof error === 'string') return { kind: 'malformed', why: error };
  const issue = error.issues[0]!;
  return { kind: 'malformed', why: `${issue.path.join('.') || 'body'}: ${issue.message}` };
}

// ------------------------------------------------------------------ Slack Events API

const SlackBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('url_verification'), challenge: z.string().min(1).max(512) }),
  z.object({
    type: z.literal('event_callback'),
    event_id: z.string().min(1).max(128),
    team_id: z.string().optional(),
    event: z.object({
      type: z.string(),
      subtype: z.string().optional(),
      bot_id: z.string().optional(),
      channel: z.string().min(1).max(64).optional(),
      user: z.string().optional(),
      text: z.string().optional(),
      ts: z.string().optional(),
      thread_ts: z.string().optional(),
    }),
  }),
  z.object({ type: z.literal('app_rate_limited') }),
]);

export function parseSlack(raw: Buffer): Parsed {
  const body = json(raw);
  if (!body.ok) return malformed('body is not JSON (the gateway takes Slack Events API deliveries)');
  const parsed = SlackBody.safeParse(body.value);
  if (!parsed.success) return malformed(parsed.error);
  const value = parsed.data;
  if (value.type === 'url_verification') return { kind: 'challenge', body: { challenge: value.challenge } };
  if (value.type === 'app_rate_limited') return { kind: 'ignored', why: 'app_rate_limited notice' };
  const event = value.event;
  if (event.type !== 'message' && event.type !== 'app_mention') return { kind: 'ignored', why: `event type ${event.type}` };
  // Our own replies come back as bot messages; answering them would loop forever.
  if (event.bot_id || event.subtype) return { kind: 'ignored', why: 'bot message or message subtype' };
  if (!event.channel || !event.ts || event.text === undefined) return malformed('event needs channel, ts and text');
  const threadTs = event.thread_ts ?? event.ts;
  const replyTo: ReplyTarget = { channel: 'slack', slackChannel: event.channel, threadTs };
  return {
    kind: 'messages',
    messages: [{ thread: `${event.channel}:${threadTs}`, message: { deliveryId: value.event_id, text: event.text, user: event.user, replyTo } }],
  };
}

// ------------------------------------------------------------------ Telegram Bot API Update

const TelegramMessage = z.object({
  message_id: z.number().int(),
  message_thread_id: z.number().int().optional(),
  chat: z.object({ id: z.number().int() }),
  from: z.object({ id: z.number().int(), is_bot: z.boolean().optional() }).optional(),
  text: z.string().optional(),
});

const TelegramUpdate = z.object({
  update_id: z.number().int().nonnegative(),
  message: TelegramMessage.optional(),
});

export function parseTelegram(raw: Buffer): Parsed {
  const body = json(raw);
  if (!body.ok) return malformed('body is not JSON (Telegram sends an Update object)');
  const parsed = TelegramUpdate.safeParse(body.value);
  if (!parsed.success) return malformed(parsed.error);
  const { update_id: updateId, message } = parsed.data;
  if (!message) return { kind: 'ignored', why: 'update without a new message' };
  if (message.text === undefined) return { kind: 'ignored', why: 'non-text message' };
  if (message.from?.is_bot) return { kind: 'ignored', why: 'message from a bot' };
  const chatId = String(message.chat.id);
  const thread = message.message_thread_id === undefined ? chatId : `${chatId}:${message.message_thread_id}`;
  return {
    kind: 'messages',
    messages: [
      {
        thread,
        message: {
          deliveryId: String(updateId),
          text: message.text,
          user: message.from ? String(message.from.id) : undefined,
          replyTo: { channel: 'telegram', chatId, messageThreadId: message.message_thread_id, replyToMessageId: message.message_id },
        },
      },
    ],
  };
}

// ------------------------------------------------------------------ WhatsApp Cloud API

const WhatsAppBody = z.object({
  object: z.literal('whatsapp_business_account'),
  entry: z
    .array(
      z.object({
        id: z.string(),
        changes: z.array(
          z.object({
            field: z.string(),
            value: z.object({
              messaging_product: z.literal('whatsapp').optional(),
              metadata: z.object({ phone_number_id: z.string().min(1) }).optional(),
              messages: z
                .array(
                  z.object({
                    id: z.string().min(1).max(256),
                    from: z.string().min(1).max(32),
                    type: z.string(),
                    text: z.object({ body: z.string() }).optional(),
                  }),
                )
                .optional(),
            }),
          }),
        ),
      }),
    )
    .min(1),
});

export function parseWhatsApp(raw: Buffer): Parsed {
  const body = json(raw);
  if (!body.ok) return malformed('body is not JSON (WhatsApp sends a whatsapp_business_account notification)');
  const parsed = WhatsAppBody.safeParse(body.value);
  if (!parsed.success) return malformed(parsed.error);
  const messages: ParsedMessage[] = [];
  for (const entry of parsed.data.entry) {
    for (const change of entry.changes) {
      if (change.field !== 'messages') continue;
      const phoneNumberId = change.value.metadata?.phone_number_id;
      for (const m of change.value.messages ?? []) {
        if (m.type !== 'text' || !m.text) continue;
        if (!phoneNumberId) return malformed('a message change needs value.metadata.phone_number_id');
        messages.push({
          thread: `${phoneNumberId}:${m.from}`,
          message: { deliveryId: m.id, text: m.text.body, user: m.from, replyTo: { channel: 'whatsapp', phoneNumberId, to: m.from, contextMessageId: m.id } },
        });
      }
    }
  }
  // Delivery/read statuses and non-text messages carry nothing to answer.
  return messages.length > 0 ? { kind: 'messages', messages } : { kind: 'ignored', why: 'no text messages (statuses or other types)' };
}

// ------------------------------------------------------------------ generic webhook

const WebhookBody = z.object({
  /** Conversation thread; messages with the same thread share one workflow. */
  thread: z.string().min(1).max(256),
  text: z.string().max(64 * 1024),
  user: z.string().max(256).optional(),
});

export function parseWebhook(raw: Buffer, deliveryId: string | undefined): Parsed {
  const body = json(raw);
  if (!body.ok) return malformed('body is not JSON: send {"thread": "...", "text": "..."}');
  const parsed = WebhookBody.safeParse(body.value);
  if (!parsed.success) return malformed(parsed.error);
  if (!deliveryId || deliveryId.length > 256) return malformed('the x-claw-delivery header (1-256 characters) names the delivery');
  const { thread, text, user } = parsed.data;
  return { kind: 'messages', messages: [{ thread, message: { deliveryId, text, user, replyTo: { channel: 'webhook', thread, inReplyTo: deliveryId } } }] };
}

export function parseInbound(channel: ChannelType, raw: Buffer, headers: Record<string, string | string[] | undefined>): Parsed {
  switch (channel) {
    case 'slack':
      return parseSlack(raw);
    case 'telegram':
      return parseTelegram(raw);
    case 'whatsapp':
      return parseWhatsApp(raw);
    case 'webhook': {
      const delivery = headers['x-claw-delivery'];
      return parseWebhook(raw, Array.isArray(delivery) ? delivery[0] : delivery);
    }
  }
}
