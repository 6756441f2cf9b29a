/**
 * Signed-in people: the install's OpenID Provider (claw.yaml `access.oidc`) issues ID
 * tokens; the admin API takes them as bearer tokens (as kubectl's OIDC authenticator does)
 * and checks each one here: signature against the provider's published keys (JWKS, from
 * its discovery document, cached and refreshed by `jose` when a new key id appears),
 * issuer, audience (our client id) and expiry. What comes out is who the person is and
 * which IdP groups they are in; roles per tenant are the config's business (identity.ts).
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { ClawError } from '../../core/errors.js';
import type { Access } from '../../core/config/schema.js';

export type OidcSettings = NonNullable<Access['oidc']>;

export interface VerifiedPerson {
  /** The IdP's stable subject. */
  subject: string;
  /** Who the audit log names: the username claim (default email), else the subject. */
  username: string;
  groups: string[];
  /** When the token stops being accepted. */
  expiresAt: Date;
}

export interface DiscoveryDocument {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  device_authorization_endpoint?: string;
}

/** The provider's discovery document (`/.well-known/openid-configuration`). */
export async function discover(issuer: string, fetchImpl: typeof fetch = fetch): Promise<DiscoveryDocument> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetchImpl(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new ClawError('OIDC_UNREACHABLE', `the OpenID Provider at ${issuer} did not answer (${(err as Error).message})`, { hint: 'check access.oidc.issuer in claw.yaml and that the provider is reachable', cause: err });
  }
  if (!response.ok) throw new ClawError('OIDC_UNREACHABLE', `${url} answered ${response.status}`, { hint: 'check access.oidc.issuer in claw.yaml' });
  const doc = (await response.json()) as DiscoveryDocument;
  // OpenID Connect Discovery 1.0 §4.3: the issuer in the document must be the one asked for.
  if (doc.issuer !== issuer) {
    throw new ClawError('OIDC_ISSUER_MISMATCH', `the provider at ${issuer} says its issuer is ${doc.issuer}`, { hint: 'set access.oidc.issuer to exactly the issuer the provider publishes' });
  }
  return doc;
}

export class OidcVerifier {
  private keys?: Promise<ReturnType<typeof createRemoteJWKSet>>;

  constructor(private readonly settings: OidcSettings) {}

  private jwks(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    this.keys ??= discover(this.settings.issuer).then((doc) => createRemoteJWKSet(new URL(doc.jwks_uri)));
    // A provider that was down is asked again on the next request.
    this.keys.catch(() => (this.keys = undefined));
    return this.keys;
  }

  async verify(token: string): Promise<VerifiedPerson> {
    const jwks = await this.jwks();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer: this.settings.issuer, audience: this.settings.clientId, clockTolerance: 30 }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new ClawError('AUTH_TOKEN_EXPIRED', 'the sign-in token has expired', { hint: "sign in again ('claw login')" });
      throw new ClawError('AUTH_TOKEN_INVALID', `the bearer token is not an ID token of ${this.settings.issuer} for client ${this.settings.clientId}`, {
        hint: "sign in with 'claw login', or use a service API key",
        details: { reason: (err as { code?: string }).code ?? 'invalid' },
      });
    }
    const claim = payload[this.settings.usernameClaim];
    const groups = payload[this.settings.groupsClaim];
    return {
      subject: String(payload.sub),
      username: typeof claim === 'string' && claim ? claim : String(payload.sub),
      groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
      expiresAt: new Date((payload.exp ?? 0) * 1000),
    };
  }
}
