/**
 * The gateway: HTTPS ingestion for every tenant's channels, on Fastify.
 *
 *   POST /t/<tenant>/<channel>[/<agent>]   a channel delivery (slack | telegram | whatsapp | webhook)
 *   GET  /t/<tenant>/whatsapp[/<agent>]    WhatsApp's hub.challenge subscription check
 *   GET  /healthz, /readyz
 *
 * A delivery is answered 2xx only after its conversation workflow has durably accepted it
 * (ConversationStarter), and within the channel's deadline. Before that: route (404),
 * per-source rate limit (429), size (413), signature (401), the tenant's budget (429),
 * body (400) — each rejection starts nothing.
 *
 * What an unauthenticated caller learns is kept small: every unknown route (tenant, agent,
 * channel) gets the same 404, and only requests whose signature verified count against a
 * tenant's budget, so unsigned floods cannot exhaust it (they meet the per-source limit).
 * Generic webhooks dedup on a hash of their signed timestamp and body, not on the delivery
 * id header, which the signature does not cover (a captured request replayed under new ids
 * within the freshness window is a duplicate).
 */
import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { LRUCache } from 'lru-cache';
import type { Agent, ClawConfig, Tenant } from '../../core/config/schema.js';
import type { SecretStore } from '../ports.js';
import { CHANNEL_TYPES, DEFAULT_SECRET_NAMES, type ChannelType, type InboundEvent } from '../channels/types.js';
import { parseInbound } from './inbound.js';
import { safeEqual, verifySlack, verifyTelegram, verifyWebhook, verifyWhatsApp, type VerifyResult } from './signatures.js';
import type { ConversationStarter } from './starter.js';

/** How long each channel waits for our answer before it counts the delivery as failed. */
export const CHANNEL_DEADLINE_MS: Record<ChannelType, number> = {
  slack: 3_000, // Slack Events API: 3 seconds, then it retries
  telegram: 10_000,
  whatsapp: 10_000,
  webhook: 10_000,
};
/** Answer this long before the channel's deadline, so the answer arrives in time. */
const DEADLINE_MARGIN_MS = 500;

export const DEFAULT_RATE_PER_MINUTE = 600;
/** Requests per minute one source address may make before its signature is checked. */
export const DEFAULT_SOURCE_RATE_PER_MINUTE = 3_000;
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;
/** No tenant may raise its body limit beyond this (Fastify refuses to read more). */
export const HARD_MAX_BODY_BYTES = 1024 * 1024;

export interface GatewayOptions {
  /** The current claw.yaml (called per request; return a new object to reload). */
  config: () => ClawConfig;
  secrets: SecretStore;
  starter: ConversationStarter;
  /** Readiness checks (e.g. Temporal reachable); all true → 200 on /readyz. */
  ready?: () => Promise<Record<string, boolean>>;
  /** Clock in ms (tests move it). */
  now?: () => number;
  /** How long a looked-up secret is reused, so a webhook burst does not hit the store per request. */
  secretCacheTtlMs?: number;
  /** How many recently accepted delivery ids are remembered per process. */
  dedupCapacity?: number;
  /** Requests per minute per source address, before authentication (default 3,000). */
  sourceRatePerMinute?: number;
  logger?: boolean;
}

interface Route {
  tenant: Tenant;
  agent: Agent;
  channel: ChannelType;
  channelConfig: Agent['channels'][number];
}

class Rejection extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The one answer for every unknown route. */
const NO_ROUTE = new Rejection(404, 'NOT_FOUND', 'no channel endpoint here', 'check the URL that claw channels url prints');

/**
 * A generic webhook's delivery id, from what its signature covers (timestamp and body):
 * the x-claw-delivery header is not signed, so a replay could pick a fresh one.
 */
function signedDeliveryId(request: FastifyRequest, raw: Buffer): string {
  const timestamp = String(request.headers['x-claw-timestamp'] ?? '');
  return `sig-${createHash('sha256').update(timestamp).update('\n').update(raw).digest('hex').slice(0, 32)}`;
}

function reject(reply: FastifyReply, error: Rejection): FastifyReply {
  return reply.code(error.status).send({ error: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) } });
}

interface ConfigIndex {
  source: ClawConfig;
  tenants: Map<string, Tenant>;
  agents: Map<string, Agent[]>;
}

function indexConfig(config: ClawConfig): ConfigIndex {
  const agents = new Map<string, Agent[]>();
  for (const agent of config.agents) agents.set(agent.tenant, [...(agents.get(agent.tenant) ?? []), agent]);
  return { source: config, tenants: new Map(config.tenants.map((t) => [t.id, t])), agents };
}

const SIGNATURE_ERRORS: Record<Exclude<VerifyResult, { ok: true }>['reason'], [string, string]> = {
  MISSING_SIGNATURE: ['the request carries no signature headers', "sign it as the channel does ('claw events send' shows how)"],
  BAD_SIGNATURE: ['the signature does not match', "check the tenant's signing secret for this channel"],
  STALE_TIMESTAMP: ['the request timestamp is more than 5 minutes from now', 'resend with a current timestamp (and check the clock)'],
};

declare module 'fastify' {
  interface FastifyRequest {
    clawRoute?: Route;
  }
}

export async function buildGateway(options: GatewayOptions): Promise<FastifyInstance> {
  const now = options.now ?? Date.now;
  const app = Fastify({
    bodyLimit: HARD_MAX_BODY_BYTES,
    logger: options.logger
      ? {
          // Never log headers, bodies or query strings: they carry signatures, tokens and user text.
          serializers: { req: (req) => ({ method: req.method, url: req.url.split('?')[0] }) },
        }
      : false,
  });

  let index = indexConfig(options.config());
  const currentIndex = (): ConfigIndex => {
    const config = options.config();
    if (config !== index.source) index = indexConfig(config);
    return index;
  };

  const secretCache = new LRUCache<string, { value: string | undefined }>({ max: 10_000, ttl: options.secretCacheTtlMs ?? 30_000 });
  async function secret(tenantId: string, name: string): Promise<string | undefined> {
    const key = `${tenantId}\u0000${name}`;
    const hit = secretCache.get(key);
    if (hit) return hit.value;
    const value = await options.secrets.get(tenantId, name);
    secretCache.set(key, { value });
    return value;
  }

  // Accepted delivery ids, and the ones being delivered right now (a concurrent duplicate
  // waits for the first instead of signalling again). The conversation workflow dedups
  // durably as well; this saves Temporal the round trip for the common retry storm.
  const accepted = new LRUCache<string, { workflowId: string }>({ max: options.dedupCapacity ?? 100_000 });
  const inFlight = new Map<string, Promise<{ workflowId: string }>>();

  // Every body is read as raw bytes: signatures are computed over exactly what was sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  function resolveRoute(params: { tenant: string; channel: string; agent?: string }): Route {
    const idx = currentIndex();
    const tenant = idx.tenants.get(params.tenant);
    if (!tenant) throw new Rejection(404, 'UNKNOWN_TENANT', `no tenant '${params.tenant}' here`, 'check the tenant id in the webhook URL');
    if (!(CHANNEL_TYPES as readonly string[]).includes(params.channel)) {
      throw new Rejection(404, 'UNKNOWN_CHANNEL', `no channel type '${params.channel}'`, `use one of ${CHANNEL_TYPES.join(', ')}`);
    }
    const channel = params.channel as ChannelType;
    const candidates = (idx.agents.get(tenant.id) ?? []).filter(
      (a) => a.channels.some((c) => c.type === channel) && (params.agent === undefined || a.id === params.agent),
    );
    if (candidates.length === 0) {
      throw new Rejection(404, 'CHANNEL_NOT_CONFIGURED', `no agent of tenant '${tenant.id}' has a ${channel} channel${params.agent ? ` named agent '${params.agent}'` : ''}`,
        `add { type: ${channel} } to the agent's channels in claw.yaml`);
    }
    if (candidates.length > 1) {
      throw new Rejection(404, 'AGENT_REQUIRED', `several agents of tenant '${tenant.id}' have a ${channel} channel`,
        `use /t/${tenant.id}/${channel}/<agent> in the webhook URL`);
    }
    const agent = candidates[0]!;
    return { tenant, agent, channel, channelConfig: agent.channels.find((c) => c.type === channel)! };
  }

  const maxBody = (route: Route) => Math.min(route.tenant.gateway?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, HARD_MAX_BODY_BYTES);

  await app.register(rateLimit, { global: false });

  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    if (error.statusCode === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reject(reply, new Rejection(413, 'BODY_TOO_LARGE', 'the request body is over the limit', 'channel deliveries are small; check what is being sent'));
    }
    if (error.statusCode === 429) {
      return reject(reply, new Rejection(429, 'RATE_LIMITED', 'too many requests for this tenant', 'retry after the retry-after header; raise tenants[].gateway.ratePerMinute if this is expected'));
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reject(reply, new Rejection(error.statusCode, 'BAD_REQUEST', error.message.split('\n')[0]!));
    }
    app.log.error({ code: error.code }, 'gateway error');
    return reject(reply, new Rejection(500, 'INTERNAL', 'the gateway failed; the channel will retry'));
  });

  // Route resolution runs first, before rate limiting and before any byte of the body is read.
  // Why a route is unknown goes to the log for the operator; the caller gets one generic 404,
  // so tenant and agent ids cannot be told apart from outside.
  app.addHook('onRequest', async (request, reply) => {
    const params = request.params as { tenant?: string; channel?: string; agent?: string };
    if (params.tenant === undefined || params.channel === undefined) return;
    try {
      request.clawRoute = resolveRoute(params as { tenant: string; channel: string; agent?: string });
    } catch (err) {
      if (!(err instanceof Rejection)) throw err;
      request.log.info({ code: err.code, reason: err.message }, 'no route');
      return reject(reply, NO_ROUTE);
    }
  });

  // Per-tenant body limit, from the declared length when there is one (a chunked body is
  // checked after reading, bounded by HARD_MAX_BODY_BYTES).
  app.addHook('preParsing', async (request, reply, payload) => {
    const route = request.clawRoute;
    const declared = Number(request.headers['content-length']);
    if (route && Number.isFinite(declared) && declared > maxBody(route)) {
      return reject(reply, new Rejection(413, 'BODY_TOO_LARGE', `the request body (${declared} bytes) is over this tenant's limit of ${maxBody(route)} bytes`,
        'channel deliveries are small; check what is being sent'));
    }
    return payload;
  });

  // Before authentication: per source address. A tenant's own budget is spent only by
  // requests whose signature verified (tenantBudget, in handleDelivery).
  const rateLimitConfig = {
    rateLimit: {
      keyGenerator: (request: FastifyRequest) => `source:${request.ip}`,
      max: options.sourceRatePerMinute ?? DEFAULT_SOURCE_RATE_PER_MINUTE,
      timeWindow: 60_000,
      errorResponseBuilder: (_request: FastifyRequest, context: { statusCode: number }) => ({ statusCode: context.statusCode, message: 'rate limited' }),
    },
  };

  // Verified deliveries per tenant in the current minute (fixed window).
  const tenantBudget = new Map<string, { window: number; used: number }>();
  function spendTenantBudget(route: Route): void {
    const window = Math.floor(now() / 60_000);
    const entry = tenantBudget.get(route.tenant.id);
    const current = entry && entry.window === window ? entry : { window, used: 0 };
    current.used++;
    tenantBudget.set(route.tenant.id, current);
    if (current.used > (route.tenant.gateway?.ratePerMinute ?? DEFAULT_RATE_PER_MINUTE)) {
      throw new Rejection(429, 'RATE_LIMITED', 'too many deliveries for this tenant this minute', 'retry after the retry-after header; raise tenants[].gateway.ratePerMinute if this is expected');
    }
  }

  async function verify(route: Route, request: FastifyRequest, raw: Buffer): Promise<void> {
    const name = route.channelConfig.signingSecret ?? DEFAULT_SECRET_NAMES[route.channel].signing;
    const value = await secret(route.tenant.id, name);
    if (value === undefined) {
      // Fail closed; the operator learns which secret is missing from the log (its name, never a value).
      request.log.warn({ tenant: route.tenant.id, channel: route.channel, secret: name }, 'channel signing secret not set');
      throw new Rejection(401, 'CHANNEL_SECRET_MISSING', 'this channel cannot verify requests yet', `set the tenant secret '${name}'`);
    }
    const nowSeconds = Math.floor(now() / 1000);
    const result =
      route.channel === 'slack' ? verifySlack(request.headers, raw, value, nowSeconds)
      : route.channel === 'telegram' ? verifyTelegram(request.headers, value)
      : route.channel === 'whatsapp' ? verifyWhatsApp(request.headers, raw, value)
      : verifyWebhook(request.headers, raw, value, nowSeconds);
    if (!result.ok) {
      const [message, hint] = SIGNATURE_ERRORS[result.reason];
      throw new Rejection(401, result.reason, message, hint);
    }
  }

  function deliverOnce(dedupKey: string, event: InboundEvent, deadline: Date): Promise<{ workflowId: string; duplicate: boolean }> {
    const done = accepted.get(dedupKey);
    if (done) return Promise.resolve({ ...done, duplicate: true });
    const pending = inFlight.get(dedupKey);
    if (pending) return pending.then((d) => ({ ...d, duplicate: true }));
    const attempt = options.starter.deliver(event, deadline);
    inFlight.set(dedupKey, attempt);
    return attempt.then(
      (delivery) => {
        inFlight.delete(dedupKey);
        accepted.set(dedupKey, { workflowId: delivery.workflowId });
        return { workflowId: delivery.workflowId, duplicate: false };
      },
      (err: unknown) => {
        inFlight.delete(dedupKey);
        throw err;
      },
    );
  }

  async function handleDelivery(request: FastifyRequest, reply: FastifyReply) {
    const receivedAt = now();
    const route = request.clawRoute!;
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    try {
      if (raw.length > maxBody(route)) {
        throw new Rejection(413, 'BODY_TOO_LARGE', `the request body is over this tenant's limit of ${maxBody(route)} bytes`);
      }
      await verify(route, request, raw);
      spendTenantBudget(route);
      const parsed = parseInbound(route.channel, raw, request.headers);
      if (parsed.kind === 'malformed') throw new Rejection(400, 'MALFORMED_BODY', parsed.why, `send the ${route.channel} wire format`);
      if (parsed.kind === 'challenge') return reply.code(200).send(parsed.body);
      if (parsed.kind === 'ignored') return reply.code(200).send({ ok: true, ignored: parsed.why });

      const deadline = new Date(receivedAt + CHANNEL_DEADLINE_MS[route.channel] - DEADLINE_MARGIN_MS);
      const results = await Promise.all(
        parsed.messages.map((m) => {
          const event: InboundEvent = {
            key: { tenantId: route.tenant.id, agentId: route.agent.id, channel: route.channel, thread: m.thread },
            message: { ...m.message, receivedAt: new Date(receivedAt).toISOString() },
          };
          if (route.channel === 'webhook') event.message.deliveryId = signedDeliveryId(request, raw);
          return deliverOnce(`${route.tenant.id}/${route.agent.id}/${route.channel}/${event.message.deliveryId}`, event, deadline);
        }),
      );
      return reply.code(200).send({
        ok: true,
        accepted: results.filter((r) => !r.duplicate).length,
        duplicates: results.filter((r) => r.duplicate).length,
        workflowIds: [...new Set(results.map((r) => r.workflowId))],
      });
    } catch (err) {
      if (err instanceof Rejection) {
        if (err.status === 429) reply.header('retry-after', String(60 - (Math.floor(now() / 1000) % 60)));
        return reject(reply, err);
      }
      // Temporal did not accept in time (or at all): the channel must retry, so not 2xx.
      const cause = (err as Error & { cause?: Error }).cause;
      // Temporal's error (a gRPC status), never the event: its payloads are the tenant's.
      request.log.error({ tenant: route.tenant.id, channel: route.channel, err: (err as Error).name, detail: String(cause?.message ?? (err as Error).message).slice(0, 200) }, 'delivery not accepted');
      reply.header('retry-after', '1');
      return reject(reply, new Rejection(503, 'NOT_ACCEPTED', 'the event could not be recorded durably; retry', 'the platform may be starting or overloaded'));
    }
  }

  for (const path of ['/t/:tenant/:channel', '/t/:tenant/:channel/:agent']) {
    app.post(path, { config: rateLimitConfig }, handleDelivery);
    app.get(path, { config: rateLimitConfig }, async (request, reply) => {
      const route = request.clawRoute!;
      if (route.channel !== 'whatsapp') return reject(reply, new Rejection(405, 'METHOD_NOT_ALLOWED', 'this channel takes POST deliveries only'));
      return whatsAppVerification(route, request, reply);
    });
  }

  /** Meta's subscription check: echo hub.challenge iff hub.verify_token is the tenant's verify token. */
  async function whatsAppVerification(route: Route, request: FastifyRequest, reply: FastifyReply) {
    const query = request.query as Record<string, string | undefined>;
    const name = route.channelConfig.verifyTokenSecret ?? DEFAULT_SECRET_NAMES.whatsapp.verifyToken!;
    const expected = await secret(route.tenant.id, name);
    if (query['hub.mode'] !== 'subscribe' || !query['hub.challenge']) {
      return reject(reply, new Rejection(400, 'MALFORMED_QUERY', 'expected hub.mode=subscribe, hub.verify_token and hub.challenge'));
    }
    if (expected === undefined || !safeEqual(query['hub.verify_token'] ?? '', expected)) {
      return reject(reply, new Rejection(403, 'BAD_VERIFY_TOKEN', 'hub.verify_token does not match', `check the tenant secret '${name}'`));
    }
    return reply.code(200).type('text/plain').send(query['hub.challenge']);
  }

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_request, reply) => {
    const checks = options.ready ? await options.ready().catch(() => ({ checks: false })) : {};
    const ok = Object.values(checks).every(Boolean);
    return reply.code(ok ? 200 : 503).send({ ok, checks });
  });

  return app;
}
