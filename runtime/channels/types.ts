/**
 * What flows between the gateway, the conversation workflow and the outbound channels.
 * Plain data only (no Node imports): workflow code imports this file too.
 *
 * Only routing metadata (tenant, agent, channel, thread, delivery id, times) is ever
 * cleartext outside worker memory; message text travels in Temporal payloads, which the
 * tenant's payload codec encrypts.
 */

export const CHANNEL_TYPES = ['slack', 'telegram', 'whatsapp', 'webhook'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** One conversation = one workflow: (tenant, agent, channel, thread). */
export interface ConversationKey {
  tenantId: string;
  agentId: string;
  /** 'schedule' for runs a Temporal Schedule starts (runtime/schedules). */
  channel: ChannelType | 'schedule';
  /** Channel-specific thread id, e.g. Slack `C123:1700000000.000100`, Telegram chat id. */
  thread: string;
}

/** Where and how a reply to an inbound message goes; one variant per channel's wire format. */
export type ReplyTarget =
  | { channel: 'slack'; slackChannel: string; threadTs: string }
  | { channel: 'telegram'; chatId: string; messageThreadId?: number; replyToMessageId?: number }
  | { channel: 'whatsapp'; phoneNumberId: string; to: string; contextMessageId?: string }
  | { channel: 'webhook'; thread: string; inReplyTo: string }
  /** Scheduled runs have no one to answer; the reply is recorded in the run only. */
  | { channel: 'none' };

export interface InboundMessage {
  /** The channel's own delivery id (Slack event_id, Telegram update_id, WhatsApp message id, webhook delivery id). */
  deliveryId: string;
  text: string;
  /** The sender as the channel names them (Slack user id, Telegram user id, WhatsApp number). */
  user?: string;
  /** ISO time the gateway accepted it. */
  receivedAt: string;
  replyTo: ReplyTarget;
}

/** What the gateway hands to the conversation starter. */
export interface InboundEvent {
  key: ConversationKey;
  message: InboundMessage;
}

/** Temporal names shared by the gateway (client side) and the conversation workflow. */
export { CONVERSATION_WORKFLOW, INBOUND_SIGNAL, conversationWorkflowId } from '../workflows/names.js';

/** Default secret names per channel, used when claw.yaml does not name one. */
export const DEFAULT_SECRET_NAMES: Record<ChannelType, { signing: string; token?: string; verifyToken?: string }> = {
  slack: { signing: 'SLACK_SIGNING_SECRET', token: 'SLACK_BOT_TOKEN' },
  telegram: { signing: 'TELEGRAM_SECRET_TOKEN', token: 'TELEGRAM_BOT_TOKEN' },
  whatsapp: { signing: 'WHATSAPP_APP_SECRET', token: 'WHATSAPP_ACCESS_TOKEN', verifyToken: 'WHATSAPP_VERIFY_TOKEN' },
  webhook: { signing: 'WEBHOOK_SIGNING_SECRET' },
};
