/**
 * The CLI's side of the admin API (runtime/admin): where it is, who we are to it, and one
 * `call` that turns its `{ code, message, hint }` errors back into the one-line ClawErrors
 * every command prints.
 *
 * Who we are: a service API key in CLAW_API_KEY (automation), else the session `claw login`
 * left in the state dir (`auth/session.json`, mode 0600): the OpenID Provider's ID token,
 * refreshed with its refresh token when it has expired.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as oidc from 'openid-client';
import type { ClawConfig } from '../core/config/schema.js';
import { ClawError } from '../core/errors.js';

export interface Session {
  issuer: string;
  clientId: string;
  idToken: string;
  refreshToken?: string;
  /** When the ID token expires (ISO). */
  expiresAt: string;
  user: string;
}

export const sessionFile = (stateDir: string) => join(stateDir, 'auth', 'session.json');

export function readSession(stateDir: string): Session | undefined {
  const file = sessionFile(stateDir);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Session;
  } catch {
    return undefined;
  }
}

export function writeSession(stateDir: string, session: Session): void {
  const file = sessionFile(stateDir);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export function removeSession(stateDir: string): boolean {
  const file = sessionFile(stateDir);
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}

/** The provider's configuration for openid-client; plain http only on loopback (a local provider). */
export async function oidcClient(settings: NonNullable<ClawConfig['access']['oidc']>): Promise<oidc.Configuration> {
  const issuer = new URL(settings.issuer);
  const loopback = issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
  try {
    return await oidc.discovery(issuer, settings.clientId, undefined, oidc.None(), loopback ? { execute: [oidc.allowInsecureRequests] } : undefined);
  } catch (err) {
    throw new ClawError('OIDC_UNREACHABLE', `the OpenID Provider at ${settings.issuer} could not be used (${(err as Error).message})`, {
      hint: 'check access.oidc.issuer in claw.yaml (https, or http on loopback only) and that the provider is reachable',
      cause: err,
    });
  }
}

/** The admin API's base URL: --api-url, CLAW_API_URL, or the local gateway. */
export function apiBase(config: ClawConfig, explicit?: string): string {
  return (explicit ?? process.env.CLAW_API_URL ?? `http://127.0.0.1:${config.local.gatewayPort}`).replace(/\/$/, '');
}

/** The bearer token to send: CLAW_API_KEY, else the signed-in session (refreshed if needed); undefined when neither. */
export async function bearer(stateDir: string, config: ClawConfig): Promise<string | undefined> {
  if (process.env.CLAW_API_KEY) return process.env.CLAW_API_KEY;
  const session = readSession(stateDir);
  if (!session) return undefined;
  if (new Date(session.expiresAt).getTime() - 30_000 > Date.now()) return session.idToken;
  const settings = config.access.oidc;
  if (!session.refreshToken || !settings) throw new ClawError('AUTH_TOKEN_EXPIRED', `the sign-in of ${session.user} has expired`, { hint: "sign in again with 'claw login'" });
  const tokens = await oidc.refreshTokenGrant(await oidcClient(settings), session.refreshToken).catch((err: unknown) => {
    throw new ClawError('AUTH_TOKEN_EXPIRED', `the sign-in of ${session.user} has expired and could not be refreshed`, { hint: "sign in again with 'claw login'", cause: err });
  });
  if (!tokens.id_token) throw new ClawError('AUTH_TOKEN_EXPIRED', 'the provider refreshed the sign-in without an ID token', { hint: "sign in again with 'claw login'" });
  const next: Session = { ...session, idToken: tokens.id_token, refreshToken: tokens.refresh_token ?? session.refreshToken, expiresAt: expiryOf(tokens.id_token) };
  writeSession(stateDir, next);
  return next.idToken;
}

/** `exp` of a JWT (no verification: the server verifies; this only decides when to refresh). */
export function expiryOf(jwt: string): string {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: number };
  return new Date((payload.exp ?? 0) * 1000).toISOString();
}

/** One admin API request; a non-2xx answer becomes the ClawError it carries. */
export async function call<T>(base: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<T> {
  if (!token) throw new ClawError('AUTH_REQUIRED', 'this command uses the admin API and you are not signed in', { hint: "run 'claw login', or set CLAW_API_KEY to a service API key" });
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new ClawError('API_UNREACHABLE', `the admin API at ${base} did not answer (${(err as Error).message})`, { hint: "check 'claw status' (the gateway serves it), or --api-url / CLAW_API_URL", cause: err });
  }
  const text = await response.text();
  const value = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const e = (value ?? {}) as { code?: string; message?: string; hint?: string; details?: Record<string, unknown> };
    throw new ClawError(e.code ?? 'API_ERROR', e.message ?? `the admin API answered ${response.status}`, { ...(e.hint ? { hint: e.hint } : {}), ...(e.details ? { details: e.details } : {}) });
  }
  return value as T;
}

export interface SignedInApi {
  base: string;
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/**
 * The admin API as the signed-in person (or CLAW_API_KEY), when there is one: platform
 * commands then act through it (Cedar decides, the audit log names who). Undefined for the
 * operator of a local platform who has not signed in (those commands act directly); the
 * install's config is read only when someone is.
 */
export async function signedInApi(stateDir: string, config: () => ClawConfig, explicitUrl?: string): Promise<SignedInApi | undefined> {
  if (!process.env.CLAW_API_KEY && !readSession(stateDir)) return undefined;
  const install = config();
  const token = await bearer(stateDir, install);
  if (!token) return undefined;
  const base = apiBase(install, explicitUrl);
  return { base, call: (method, path, body) => call(base, token, method, path, body) };
}
