/**
 * The channels' signature schemes, both directions: `sign*` builds the headers a real
 * channel would send (the CLI's `claw events send`, tests and benchmarks use them), and
 * `verify*` checks them in the gateway. Every comparison is constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Slack and the generic webhook reject requests whose timestamp is further than this from now. */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

export type VerifyFailure = 'BAD_SIGNATURE' | 'STALE_TIMESTAMP' | 'MISSING_SIGNATURE';
export type VerifyResult = { ok: true } | { ok: false; reason: VerifyFailure };

const OK: VerifyResult = { ok: true };
const fail = (reason: VerifyFailure): VerifyResult => ({ ok: false, reason });

function hmacHex(secret: string, data: string | Buffer): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

/**
 * Constant-time string equality. Both sides are hashed first so the comparison takes
 * the same time whatever their lengths (timingSafeEqual itself needs equal lengths).
 */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function freshTimestamp(raw: string | undefined, nowSeconds: number): boolean {
  if (!raw || !/^\d{1,12}$/.test(raw)) return false;
  return Math.abs(nowSeconds - Number(raw)) <= MAX_CLOCK_SKEW_SECONDS;
}

type Headers = Record<string, string | string[] | undefined>;

// ------------------------------------------------------------------ Slack (v0 signing secret)

/** `v0=` HMAC-SHA256 of `v0:<timestamp>:<body>` (api.slack.com/authentication/verifying-requests-from-slack). */
export function signSlack(secret: string, body: string | Buffer, timestampSeconds: number): Record<string, string> {
  const base = Buffer.concat([Buffer.from(`v0:${timestampSeconds}:`), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
  return {
    'x-slack-request-timestamp': String(timestampSeconds),
    'x-slack-signature': `v0=${hmacHex(secret, base)}`,
  };
}

export function verifySlack(headers: Headers, rawBody: Buffer, secret: string, nowSeconds: number): VerifyResult {
  const timestamp = header(headers, 'x-slack-request-timestamp');
  const signature = header(headers, 'x-slack-signature');
  if (!timestamp || !signature) return fail('MISSING_SIGNATURE');
  // Freshness first: a replayed request with a valid old signature is still rejected.
  if (!freshTimestamp(timestamp, nowSeconds)) return fail('STALE_TIMESTAMP');
  const expected = signSlack(secret, rawBody, Number(timestamp))['x-slack-signature']!;
  return safeEqual(signature, expected) ? OK : fail('BAD_SIGNATURE');
}

// ------------------------------------------------------------------ Telegram (secret_token)

/** Telegram echoes the `secret_token` given to setWebhook in this header on every update. */
export function signTelegram(secretToken: string): Record<string, string> {
  return { 'x-telegram-bot-api-secret-token': secretToken };
}

export function verifyTelegram(headers: Headers, secretToken: string): VerifyResult {
  const token = header(headers, 'x-telegram-bot-api-secret-token');
  if (!token) return fail('MISSING_SIGNATURE');
  return safeEqual(token, secretToken) ? OK : fail('BAD_SIGNATURE');
}

// ------------------------------------------------------------------ WhatsApp Cloud API (app secret)

/** `sha256=` HMAC-SHA256 of the raw body keyed by the Meta app secret. */
export function signWhatsApp(appSecret: string, body: string | Buffer): Record<string, string> {
  return { 'x-hub-signature-256': `sha256=${hmacHex(appSecret, body)}` };
}

export function verifyWhatsApp(headers: Headers, rawBody: Buffer, appSecret: string): VerifyResult {
  const signature = header(headers, 'x-hub-signature-256');
  if (!signature) return fail('MISSING_SIGNATURE');
  return safeEqual(signature, signWhatsApp(appSecret, rawBody)['x-hub-signature-256']!) ? OK : fail('BAD_SIGNATURE');
}

// ------------------------------------------------------------------ generic webhook (HMAC + timestamp)

/**
 * Generic webhooks: `x-claw-signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`,
 * `x-claw-timestamp: <unix seconds>`, `x-claw-delivery: <unique id>` (the dedup key).
 * The timestamp is inside the MAC, so it cannot be refreshed by a replayer.
 */
export function signWebhook(secret: string, body: string | Buffer, timestampSeconds: number, deliveryId: string): Record<string, string> {
  const base = Buffer.concat([Buffer.from(`${timestampSeconds}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
  return {
    'x-claw-timestamp': String(timestampSeconds),
    'x-claw-signature': `v1=${hmacHex(secret, base)}`,
    'x-claw-delivery': deliveryId,
  };
}

export function verifyWebhook(headers: Headers, rawBody: Buffer, secret: string, nowSeconds: number): VerifyResult {
  const timestamp = header(headers, 'x-claw-timestamp');
  const signature = header(headers, 'x-claw-signature');
  if (!timestamp || !signature) return fail('MISSING_SIGNATURE');
  if (!freshTimestamp(timestamp, nowSeconds)) return fail('STALE_TIMESTAMP');
  const expected = signWebhook(secret, rawBody, Number(timestamp), '')['x-claw-signature']!;
  return safeEqual(signature, expected) ? OK : fail('BAD_SIGNATURE');
}
