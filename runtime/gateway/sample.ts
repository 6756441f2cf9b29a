/**
 * A realistic, correctly signed delivery for each channel — what Slack, Telegram, WhatsApp
 * or a webhook sender would POST. `claw events send` uses it to try a gateway out; tests
 * and benchmarks use it so they exercise the same wire formats the gateway verifies.
 */
import { randomUUID } from 'node:crypto';
import type { ChannelType } from '../channels/types.js';
import { signSlack, signTelegram, signWebhook, signWhatsApp } from './signatures.js';

export interface SampleOptions {
  text: string;
  /** Conversation thread (Slack channel:ts, Telegram chat id, WhatsApp sender, webhook thread). */
  thread?: string;
  /** The channel's delivery id; a fresh one by default. Reuse it to see dedup. */
  deliveryId?: string;
  /** The tenant's signing secret for this channel (Telegram: the secret token). */
  secret: string;
  nowSeconds?: number;
}

export interface SampleDelivery {
  headers: Record<string, string>;
  body: string;
  deliveryId: string;
}

export function sampleDelivery(channel: ChannelType, options: SampleOptions): SampleDelivery {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const json = { 'content-type': 'application/json' };
  switch (channel) {
    case 'slack': {
      const deliveryId = options.deliveryId ?? `Ev${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;
      const [slackChannel = 'C0SAMPLE', ts = `${now}.000100`] = (options.thread ?? '').split(':').filter(Boolean);
      const body = JSON.stringify({
        token: 'unused-legacy-token',
        team_id: 'T0SAMPLE',
        api_app_id: 'A0SAMPLE',
        type: 'event_callback',
        event_id: deliveryId,
        event_time: now,
        event: { type: 'message', channel: slackChannel, user: 'U0SAMPLE', text: options.text, ts, channel_type: 'im' },
      });
      return { headers: { ...json, ...signSlack(options.secret, body, now) }, body, deliveryId };
    }
    case 'telegram': {
      const deliveryId = options.deliveryId ?? String(Math.floor(Math.random() * 2 ** 31));
      const chatId = Number(options.thread ?? 424242);
      const body = JSON.stringify({
        update_id: Number(deliveryId),
        message: { message_id: Number(deliveryId) % 100_000, date: now, chat: { id: chatId, type: 'private' }, from: { id: chatId, is_bot: false, first_name: 'Sample' }, text: options.text },
      });
      return { headers: { ...json, ...signTelegram(options.secret) }, body, deliveryId };
    }
    case 'whatsapp': {
      const deliveryId = options.deliveryId ?? `wamid.${randomUUID().replaceAll('-', '')}`;
      const from = options.thread ?? '15550001111';
      const body = JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [{
          id: 'WABA0SAMPLE',
          changes: [{
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550009999', phone_number_id: 'PN0SAMPLE' },
              contacts: [{ profile: { name: 'Sample' }, wa_id: from }],
              messages: [{ from, id: deliveryId, timestamp: String(now), type: 'text', text: { body: options.text } }],
            },
          }],
        }],
      });
      return { headers: { ...json, ...signWhatsApp(options.secret, body) }, body, deliveryId };
    }
    case 'webhook': {
      const deliveryId = options.deliveryId ?? randomUUID();
      const body = JSON.stringify({ thread: options.thread ?? 'sample-thread', text: options.text, user: 'sample-user' });
      return { headers: { ...json, ...signWebhook(options.secret, body, now, deliveryId) }, body, deliveryId };
    }
  }
}
