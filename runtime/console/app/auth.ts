/**
 * Sign-in for the console: authorization code with PKCE (RFC 7636) against the install's
 * OpenID Provider, with oauth4webapi. The ID token is kept in sessionStorage (this tab only,
 * gone when it closes) and sent to the admin API as the bearer token, like `claw login`'s.
 */
import * as oauth from 'oauth4webapi';

export interface ConsoleConfig {
  issuer: string | null;
  clientId?: string;
  scopes?: string[];
}

export interface Session {
  idToken: string;
  user: string;
  expiresAt: number;
}

const SESSION = 'claw.session';
const PENDING = 'claw.signin';
const redirectUri = () => `${location.origin}/console/`;

/** http only on loopback (a provider on this machine). */
const insecure = (issuer: URL) => (issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname) ? { [oauth.allowInsecureRequests]: true } : {});

async function server(config: ConsoleConfig): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(config.issuer!);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure(issuer)));
}

export function currentSession(): Session | undefined {
  const raw = sessionStorage.getItem(SESSION);
  if (!raw) return undefined;
  const session = JSON.parse(raw) as Session;
  if (session.expiresAt * 1000 < Date.now() + 10_000) {
    sessionStorage.removeItem(SESSION);
    return undefined;
  }
  return session;
}

export function signOut(): void {
  sessionStorage.removeItem(SESSION);
}

/** Go to the provider's sign-in page. */
export async function signIn(config: ConsoleConfig): Promise<void> {
  const as = await server(config);
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, back: location.hash }));
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set('client_id', config.clientId!);
  url.searchParams.set('redirect_uri', redirectUri());
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', ['openid', ...(config.scopes ?? [])].join(' '));
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  location.assign(url.href);
}

/** Back from the provider (?code=…&state=…): exchange the code; undefined when this is not a callback. */
export async function completeSignIn(config: ConsoleConfig): Promise<Session | undefined> {
  const here = new URL(location.href);
  if (!here.searchParams.has('code') && !here.searchParams.has('error')) return undefined;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as { verifier: string; state: string; back: string } | null;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', `/console/${pending?.back ?? ''}`);
  if (!pending) throw new Error('this sign-in was not started here; sign in again');
  const as = await server(config);
  const client: oauth.Client = { client_id: config.clientId! };
  const params = oauth.validateAuthResponse(as, client, here, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri(), pending.verifier, insecure(new URL(config.issuer!)));
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, { requireIdToken: true });
  const claims = oauth.getValidatedIdTokenClaims(result)!;
  const session: Session = { idToken: result.id_token!, user: String(claims.email ?? claims.sub), expiresAt: claims.exp };
  sessionStorage.setItem(SESSION, JSON.stringify(session));
  return session;
}
