/**
 * `claw tenant codec-token`: bearer tokens for the codec-server, which decrypts a tenant's
 * Temporal payloads for the Temporal UI ("Remote Codec Endpoint"). A token is entitled to
 * the tenants named when it is issued; the token is printed once and only its SHA-256 is
 * kept (runtime/codec-server/tokens.ts).
 *
 * The local codec-server reads `<state>/codec-server/tokens.json`. On aws/gcp it reads the
 * `claw-codec-tokens` Secret (components/k8s/runtime.ts): write the file with
 * `--tokens-file` and put it in the Secret; the pods see a new file within a minute.
 */
import { Command } from 'commander';
import { ClawError } from '../../core/errors.js';
import { issueToken, listTokens, revokeToken, tokensPath } from '../../runtime/codec-server/tokens.js';
import { globalOptions, output } from '../context.js';
import { loadInstallConfig } from './platform-access.js';

interface Options {
  tenant?: string[];
  name?: string;
  revoke?: boolean;
  list?: boolean;
  tokensFile?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function codecTokenCommand(): Command {
  return new Command('codec-token')
    .description('issue (or revoke) a token for the codec-server, which decrypts the named tenants\' payloads in the Temporal UI')
    .option('--tenant <id>', 'a tenant the token may decrypt (repeat for several)', collect)
    .option('--name <who>', 'who holds the token (a new token replaces their previous one)')
    .option('--revoke', "revoke --name's token")
    .option('--list', 'list who holds tokens, for which tenants')
    .option('--tokens-file <path>', "the token file (default: the local codec-server's; on aws/gcp, the file for the claw-codec-tokens Secret)")
    .action(function (this: Command, opts: Options) {
      const global = globalOptions(this);
      const file = opts.tokensFile ?? tokensPath(global.stateDir);
      if (opts.list) {
        const holders = listTokens(file);
        output(global, { type: 'codec.tokens', file, holders }, () =>
          holders.length === 0 ? `no codec-server tokens in ${file}` : holders.map((h) => `${h.name.padEnd(16)} ${h.tenants.join(', ')}  (issued ${h.createdAt})`).join('\n'),
        );
        return;
      }
      if (!opts.name) throw new ClawError('CODEC_TOKEN_NAME_REQUIRED', 'say who the token is for with --name', { hint: 'e.g. claw tenant codec-token --tenant acme --name alice' });
      if (opts.revoke) {
        const revoked = revokeToken(file, opts.name);
        output(global, { type: 'codec.token.revoked', name: opts.name, revoked, file }, () => (revoked ? `revoked ${opts.name}'s codec-server token` : `${opts.name} had no codec-server token in ${file}`));
        return;
      }
      const tenants = opts.tenant ?? [];
      if (tenants.length === 0) throw new ClawError('CODEC_TOKEN_TENANT_REQUIRED', 'name the tenant(s) the token may decrypt with --tenant', { hint: 'repeat --tenant for several: --tenant acme --tenant globex' });
      const known = new Set(loadInstallConfig(global).tenants.map((t) => t.id));
      const unknown = tenants.filter((t) => !known.has(t));
      if (unknown.length > 0) {
        throw new ClawError('UNKNOWN_TENANT', `${unknown.map((t) => `'${t}'`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a tenant in ${global.config}`, {
          hint: "'claw tenants list' (aws/gcp) or claw.yaml shows the tenants",
          details: { unknown },
        });
      }
      const token = issueToken(file, opts.name, tenants);
      output(global, { type: 'codec.token', name: opts.name, tenants: [...new Set(tenants)].sort(), file, token }, () =>
        [
          `codec-server token for ${opts.name} (tenants: ${[...new Set(tenants)].sort().join(', ')}); shown once, only its hash is kept in ${file}:`,
          token,
          "use it with the temporal CLI: --codec-endpoint <codec-server URL> --codec-auth 'Bearer <token>'",
          "(the Temporal Web UI forwards only its own OIDC access token, which this codec-server does not accept yet)",
        ].join('\n'),
      );
    });
}
