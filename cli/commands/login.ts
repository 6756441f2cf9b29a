/**
 * `claw login | logout | whoami`: sign in to the install's OpenID Provider (claw.yaml
 * `access.oidc`) with the device authorization grant (RFC 8628): the CLI shows a URL and a
 * code, the person confirms it in a browser (where their SSO, MFA and so on happen), and the
 * CLI receives the ID token it then sends to the admin API. The session lives in the state
 * dir (mode 0600); `whoami` asks the admin API who that is and which roles it holds.
 */
import { Command } from 'commander';
import * as oidc from 'openid-client';
import { ClawError } from '../../core/errors.js';
import { apiBase, bearer, call, expiryOf, oidcClient, readSession, removeSession, writeSession } from '../api-client.js';
import { globalOptions, output } from '../context.js';
import { loadInstallConfig } from './platform-access.js';

export function loginCommand(): Command {
  return new Command('login')
    .description("sign in with the install's identity provider (device code: confirm in a browser)")
    .action(async function (this: Command) {
      const global = globalOptions(this);
      const config = loadInstallConfig(global);
      const settings = config.access.oidc;
      if (!settings) throw new ClawError('AUTH_OIDC_NOT_CONFIGURED', 'claw.yaml has no access.oidc, so there is nothing to sign in to', { hint: 'add access.oidc (issuer, clientId), or use a service API key (CLAW_API_KEY)' });
      const client = await oidcClient(settings);
      const scope = ['openid', ...settings.scopes, 'offline_access'].join(' ');
      const grant = await oidc.initiateDeviceAuthorization(client, { scope }).catch((err: unknown) => {
        throw new ClawError('OIDC_DEVICE_FLOW_FAILED', `the provider refused to start a device sign-in (${(err as Error).message})`, { hint: `allow the device code grant for client ${settings.clientId} at the provider`, cause: err });
      });
      // Where to go goes to stderr, so --json's stdout stays one JSON value.
      process.stderr.write(`To sign in, open ${grant.verification_uri_complete ?? grant.verification_uri} and confirm the code ${grant.user_code}\n`);
      const tokens = await oidc.pollDeviceAuthorizationGrant(client, grant).catch((err: unknown) => {
        throw new ClawError('OIDC_SIGN_IN_FAILED', `sign-in did not complete (${(err as Error).message})`, { hint: "run 'claw login' again and confirm the code in time", cause: err });
      });
      if (!tokens.id_token) throw new ClawError('OIDC_SIGN_IN_FAILED', 'the provider returned no ID token', { hint: "the client must be allowed the 'openid' scope" });
      const claims = tokens.claims();
      const user = String(claims?.[settings.usernameClaim] ?? claims?.sub ?? 'unknown');
      writeSession(global.stateDir, {
        issuer: settings.issuer,
        clientId: settings.clientId,
        idToken: tokens.id_token,
        ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
        expiresAt: expiryOf(tokens.id_token),
        user,
      });
      output(global, { type: 'login', user, issuer: settings.issuer }, () => `signed in as ${user}`);
    });
}

export function logoutCommand(): Command {
  return new Command('logout').description('forget the signed-in session').action(function (this: Command) {
    const global = globalOptions(this);
    const removed = removeSession(global.stateDir);
    output(global, { type: 'logout', removed }, () => (removed ? 'signed out' : 'you were not signed in'));
  });
}

export interface Me {
  kind: 'user' | 'apiKey';
  id: string;
  tenants: { tenant: string; roles: string[] }[];
}

export function whoamiCommand(): Command {
  return new Command('whoami')
    .description('who the admin API takes you for, and your roles per tenant')
    .option('--api-url <url>', 'the admin API (default: $CLAW_API_URL, or the local gateway)')
    .action(async function (this: Command, opts: { apiUrl?: string }) {
      const global = globalOptions(this);
      const config = loadInstallConfig(global);
      const me = await call<Me>(apiBase(config, opts.apiUrl), await bearer(global.stateDir, config), 'GET', '/api/v1/me');
      const session = readSession(global.stateDir);
      output(global, { type: 'whoami', ...me }, () =>
        [`${me.kind === 'user' ? 'user' : 'API key'} ${me.id}${me.kind === 'user' && session ? ` (signed in until ${session.expiresAt})` : ''}`, ...(me.tenants.length ? me.tenants.map((t) => `  ${t.tenant}: ${t.roles.join(', ')}`) : ['  no role in any tenant'])].join('\n'),
      );
    });
}
