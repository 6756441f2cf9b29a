import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Payload } from '@temporalio/common';
import { localTenantKeyring } from '../crypto/index.js';
import { tenantPayloadCodec } from '../crypto/codec.js';
import { buildCodecServer } from './server.js';
import { TokenStore, issueToken } from './tokens.js';

const UI = 'http://127.0.0.1:8233';
const json = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const plainPayload = (text: string) => ({ metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode(JSON.stringify(text)) });

describe('codec server', () => {
  let app: FastifyInstance;
  let acmeToken: string;
  let globexToken: string;
  let bothToken: string;
  let acmePayload: ReturnType<typeof json>;
  let globexPayload: ReturnType<typeof json>;
  let tokenFile: string;
  const keyring = localTenantKeyring(mkdtempSync(join(tmpdir(), 'claw-codec-srv-')));

  beforeAll(async () => {
    await keyring.createTenantKey('acme');
    await keyring.createTenantKey('globex');
    tokenFile = join(mkdtempSync(join(tmpdir(), 'claw-tokens-')), 'tokens.json');
    acmeToken = issueToken(tokenFile, 'alice', ['acme']);
    globexToken = issueToken(tokenFile, 'gary', ['globex']);
    bothToken = issueToken(tokenFile, 'ops', ['acme', 'globex']);
    app = await buildCodecServer({ keyring, tokens: new TokenStore(tokenFile), corsOrigins: [UI] });
    const [a] = await tenantPayloadCodec(await keyring.forTenant('acme')).encode([plainPayload('acme says hi')]);
    const [g] = await tenantPayloadCodec(await keyring.forTenant('globex')).encode([plainPayload('globex says hi')]);
    acmePayload = json(a!);
    globexPayload = json(g!);
  });

  const post = (url: string, token: string | undefined, payloads: unknown[], headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, payload: { payloads } });

  it('stores token hashes only, in a 0600 file', () => {
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  });

  it('decodes for an entitled caller, in the JSON form the Temporal UI sends', async () => {
    const res = await post('/decode', acmeToken, [acmePayload, json(plainPayload('clear'))]);
    expect(res.statusCode).toBe(200);
    const [first, second] = res.json().payloads;
    expect(Buffer.from(first.data, 'base64').toString()).toBe('"acme says hi"');
    expect(Buffer.from(first.metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(Buffer.from(second.data, 'base64').toString()).toBe('"clear"');
  });

  it('refuses unauthenticated callers and tenants the caller is not entitled to, as a whole', async () => {
    expect((await post('/decode', undefined, [acmePayload])).statusCode).toBe(401);
    expect((await post('/decode', 'claw_codec_forged', [acmePayload])).statusCode).toBe(401);
    const denied = await post('/decode', globexToken, [globexPayload, acmePayload]);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('CODEC_TENANT_DENIED');
    expect(denied.body).not.toContain('globex says hi');
    const both = await post('/decode', bothToken, [globexPayload, acmePayload]);
    expect(both.statusCode).toBe(200);
  });

  it("fails closed with a code on a payload relabelled as another tenant's", async () => {
    const relabelled = { ...acmePayload, metadata: { ...acmePayload.metadata, 'claw-tenant': Buffer.from('globex').toString('base64') } };
    const res = await post('/decode', globexToken, [relabelled]);
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('CIPHERTEXT_TENANT_MISMATCH');
  });

  it('encodes under the caller tenant (or X-Claw-Tenant), and round-trips', async () => {
    const enc = await post('/encode', acmeToken, [json(plainPayload('from the UI'))]);
    expect(enc.statusCode).toBe(200);
    const [sealed] = enc.json().payloads;
    expect(Buffer.from(sealed.metadata['claw-tenant'], 'base64').toString()).toBe('acme');
    expect(Buffer.from(sealed.data, 'base64').toString('latin1')).not.toContain('from the UI');
    expect((await post('/encode', bothToken, [json(plainPayload('x'))])).json().code).toBe('CODEC_TENANT_REQUIRED');
    expect((await post('/encode', acmeToken, [json(plainPayload('x'))], { 'x-claw-tenant': 'globex' })).statusCode).toBe(403);
    const dec = await post('/decode', acmeToken, [sealed]);
    expect(Buffer.from(dec.json().payloads[0].data, 'base64').toString()).toBe('"from the UI"');
  });

  it('answers CORS preflight for the UI origin only', async () => {
    const ok = await app.inject({ method: 'OPTIONS', url: '/decode', headers: { origin: UI, 'access-control-request-method': 'POST' } });
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(UI);
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    expect(String(ok.headers['access-control-allow-headers'])).toContain('X-Namespace');
    const evil = await app.inject({ method: 'OPTIONS', url: '/decode', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(evil.statusCode).toBe(403);
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('says 410 TENANT_KEY_DESTROYED after a shred', async () => {
    const other = localTenantKeyring(mkdtempSync(join(tmpdir(), 'claw-codec-shred-')));
    await other.createTenantKey('acme');
    const [sealed] = await tenantPayloadCodec(await other.forTenant('acme')).encode([plainPayload('bye')]);
    const server = await buildCodecServer({ keyring: other, tokens: new TokenStore(tokenFile), corsOrigins: [UI] });
    await other.destroy('acme');
    const res = await server.inject({ method: 'POST', url: '/decode', headers: { authorization: `Bearer ${acmeToken}`, 'content-type': 'application/json' }, payload: { payloads: [json(sealed!)] } });
    expect(res.statusCode).toBe(410);
    expect(res.json().code).toBe('TENANT_KEY_DESTROYED');
  });
});
