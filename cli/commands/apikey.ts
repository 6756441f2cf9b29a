/**
 * `claw apikey create|list|revoke --tenant <t>`: service API keys for automation, through
 * the admin API (so Cedar decides who may, and the audit log records it). A key is scoped
 * to one tenant and some of its roles (at most those of whoever creates it), expires, and
 * its token is printed once: only a hash of it is kept.
 */
import { Command } from 'commander';
import { assertTenantId } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import type { ApiKeyRecord } from '../../runtime/identity/store.js';
import { apiBase, bearer, call } from '../api-client.js';
import { globalOptions, output } from '../context.js';
import { loadInstallConfig } from './platform-access.js';

export function apikeyCommand(): Command {
  const apikey = new Command('apikey').description("a tenant's service API keys (for automation; used as CLAW_API_KEY)");
  const api = ['--api-url <url>', 'the admin API (default: $CLAW_API_URL, or the local gateway)'] as const;
  const open = (command: Command, explicit?: string) => {
    const global = globalOptions(command);
    const config = loadInstallConfig(global);
    return { global, base: apiBase(config, explicit), token: bearer(global.stateDir, config) };
  };

  apikey
    .command('create')
    .description('create a key; its token is printed once')
    .requiredOption('--tenant <id>', 'the tenant')
    .requiredOption('--name <name>', 'what the key is for')
    .requiredOption('--role <role...>', "the tenant roles it holds (from claw.yaml's roles)")
    .option('--ttl-days <n>', 'days until it expires (1-366)', '90')
    .option(...api)
    .action(async function (this: Command, opts: { tenant: string; name: string; role: string[]; ttlDays: string; apiUrl?: string }) {
      const tenant = assertTenantId(opts.tenant);
      const ttlDays = Number(opts.ttlDays);
      if (!Number.isInteger(ttlDays)) throw new ClawError('USAGE', `--ttl-days '${opts.ttlDays}' is not a whole number`, { hint: 'pass --ttl-days between 1 and 366' });
      const { global, base, token } = open(this, opts.apiUrl);
      const created = await call<{ key: ApiKeyRecord; token: string }>(base, await token, 'POST', `/api/v1/tenants/${tenant}/api-keys`, { name: opts.name, roles: opts.role, ttlDays });
      output(global, { type: 'apikey.created', ...created }, () =>
        [`created API key ${created.key.id} (${created.key.name}) of ${tenant}: roles ${created.key.roles.join(', ')}, expires ${created.key.expiresAt}`, `token (shown once; keep it in your secret manager): ${created.token}`].join('\n'),
      );
    });

  apikey
    .command('list')
    .description("the tenant's keys (never their tokens)")
    .requiredOption('--tenant <id>', 'the tenant')
    .option(...api)
    .action(async function (this: Command, opts: { tenant: string; apiUrl?: string }) {
      const tenant = assertTenantId(opts.tenant);
      const { global, base, token } = open(this, opts.apiUrl);
      const { keys } = await call<{ keys: ApiKeyRecord[] }>(base, await token, 'GET', `/api/v1/tenants/${tenant}/api-keys`);
      output(global, { type: 'apikey.list', tenant, keys }, () =>
        keys.length === 0 ? `no API keys in ${tenant}` : keys.map((k) => [k.id, k.name, k.roles.join(','), `by ${k.createdBy}`, k.revokedAt ? `revoked ${k.revokedAt}` : `expires ${k.expiresAt}`].join('\t')).join('\n'),
      );
    });

  apikey
    .command('revoke')
    .description('revoke a key now')
    .argument('<id>', 'the key id')
    .requiredOption('--tenant <id>', 'the tenant')
    .option(...api)
    .action(async function (this: Command, id: string, opts: { tenant: string; apiUrl?: string }) {
      const tenant = assertTenantId(opts.tenant);
      if (!/^[0-9a-f]{16}$/.test(id)) throw new ClawError('USAGE', `'${id}' is not an API key id`, { hint: "use the id 'claw apikey list' prints" });
      const { global, base, token } = open(this, opts.apiUrl);
      await call(base, await token, 'DELETE', `/api/v1/tenants/${tenant}/api-keys/${id}`);
      output(global, { type: 'apikey.revoked', tenant, id }, () => `revoked API key ${id} of ${tenant}`);
    });
  return apikey;
}
