/**
 * The codec server the Temporal UI (and `temporal --codec-endpoint`) calls to show
 * payloads in clear: POST /decode and /encode with `{ payloads: [{ metadata, data }] }`
 * (base64 fields, the UI's JSON form). A caller authenticates with a bearer token and only
 * gets payloads of tenants it is entitled to; anything else is refused as a whole (403),
 * never half-decrypted. CORS admits the UI's origin only, with credentials.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Payload } from '@temporalio/common';
import { isClawError } from '../../core/errors.js';
import type { TenantKeyring } from '../ports.js';
import { payloadTenant, tenantPayloadCodec } from '../crypto/codec.js';
import type { Caller, TokenStore } from './tokens.js';

export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface CodecServerOptions {
  keyring: TenantKeyring;
  tokens: TokenStore;
  /** Exact origins allowed by CORS, e.g. http://127.0.0.1:8233 (the local Temporal UI). */
  corsOrigins: string[];
  /** Answered by GET /healthz (200 when true). */
  ready?: () => Promise<boolean>;
  logger?: boolean;
  /** Largest request body; the UI batches a page of payloads. */
  bodyLimit?: number;
}

export const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

export const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

function problem(reply: FastifyReply, status: number, code: string, message: string, hint?: string) {
  return reply.code(status).send({ code, message, ...(hint ? { hint } : {}) });
}

export async function buildCodecServer(options: CodecServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: options.bodyLimit ?? 16 * 1024 * 1024 });
  const origins = new Set(options.corsOrigins);

  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin && origins.has(origin)) {
      reply.header('Access-Control-Allow-Origin', origin);
      reply.header('Vary', 'Origin');
      reply.header('Access-Control-Allow-Credentials', 'true');
      reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
      reply.header('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
      reply.header('Access-Control-Max-Age', '600');
    }
    if (request.method === 'OPTIONS') {
      if (!origin || !origins.has(origin)) return problem(reply, 403, 'CORS_ORIGIN_DENIED', 'this origin may not call the codec server', 'add it to CLAW_CODEC_CORS_ORIGINS');
      return reply.code(204).send();
    }
  });

  const authenticate = (request: FastifyRequest, reply: FastifyReply): Caller | undefined => {
    const caller = options.tokens.authenticate(request.headers.authorization);
    if (!caller) {
      void problem(reply, 401, 'CODEC_UNAUTHENTICATED', 'a valid bearer token is required', "issue one with `claw tenant codec-token --tenant <t> --name <you>` and send it as `Authorization: Bearer <token>` (temporal CLI: --codec-auth)");
    }
    return caller;
  };

  const bodyPayloads = (request: FastifyRequest, reply: FastifyReply): JsonPayload[] | undefined => {
    const body = request.body as { payloads?: unknown } | undefined;
    if (!body || !Array.isArray(body.payloads)) {
      void problem(reply, 400, 'CODEC_BAD_REQUEST', 'the body must be { "payloads": [...] }');
      return undefined;
    }
    return body.payloads as JsonPayload[];
  };

  const failure = (reply: FastifyReply, err: unknown) => {
    if (isClawError(err)) {
      const status = err.code === 'TENANT_KEY_DESTROYED' ? 410 : err.code === 'KMS_THROTTLED' ? 503 : 422;
      return problem(reply, status, err.code, err.message, err.hint);
    }
    return problem(reply, 400, 'CODEC_BAD_REQUEST', 'the payloads could not be read');
  };

  app.post('/decode', async (request, reply) => {
    const caller = authenticate(request, reply);
    if (!caller) return reply;
    const payloads = bodyPayloads(request, reply);
    if (!payloads) return reply;
    try {
      const decoded = payloads.map(fromJson);
      const tenants = new Set(decoded.map(payloadTenant).filter((t): t is string => t !== undefined));
      const denied = [...tenants].filter((t) => !caller.tenants.has(t));
      if (denied.length > 0) {
        request.log.warn({ caller: caller.name, tenants: denied }, 'codec: decode denied');
        return problem(reply, 403, 'CODEC_TENANT_DENIED', `'${caller.name}' is not entitled to tenant(s) ${denied.join(', ')}`, 'ask an admin to issue a token for that tenant');
      }
      const out: Payload[] = [];
      for (const payload of decoded) {
        const tenant = payloadTenant(payload);
        if (tenant === undefined) out.push(payload);
        else out.push(...(await tenantPayloadCodec(await options.keyring.forTenant(tenant)).decode([payload])));
      }
      return { payloads: out.map(toJson) };
    } catch (err) {
      return failure(reply, err);
    }
  });

  app.post('/encode', async (request, reply) => {
    const caller = authenticate(request, reply);
    if (!caller) return reply;
    const payloads = bodyPayloads(request, reply);
    if (!payloads) return reply;
    // Which tenant's key: X-Claw-Tenant, or the caller's only tenant.
    const asked = request.headers['x-claw-tenant'];
    const tenant = typeof asked === 'string' ? asked : caller.tenants.size === 1 ? [...caller.tenants][0]! : undefined;
    if (!tenant) return problem(reply, 400, 'CODEC_TENANT_REQUIRED', 'this token covers several tenants; say which with the X-Claw-Tenant header');
    if (!caller.tenants.has(tenant)) return problem(reply, 403, 'CODEC_TENANT_DENIED', `'${caller.name}' is not entitled to tenant ${tenant}`);
    try {
      const encoded = await tenantPayloadCodec(await options.keyring.forTenant(tenant)).encode(payloads.map(fromJson));
      return { payloads: encoded.map(toJson) };
    } catch (err) {
      return failure(reply, err);
    }
  });

  app.get('/healthz', async (_request, reply) => {
    const ok = options.ready ? await options.ready().catch(() => false) : true;
    return reply.code(ok ? 200 : 503).send({ ok });
  });

  return app;
}
