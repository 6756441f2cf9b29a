/**
 * `claw secrets set|list|rm --tenant <t>`: a tenant's secrets (tokens, API keys) that
 * the credential broker and channels use. Values are read from stdin only (never from
 * arguments, which land in shell history and `ps`) and are never printed: `list` shows
 * names only.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { runningPid } from '../../stacks/local/supervisor.js';
import { ClawError } from '../../core/errors.js';
import { localTenantKeyring } from '../../runtime/crypto/index.js';
import { openSecretStore, checkSecretName, type ClosableSecretStore } from '../../runtime/secrets/index.js';
import { globalOptions, output, type GlobalOptions } from '../context.js';
import { loadInstallConfig, localActor, requireMetadataStoreUrl } from './platform-access.js';
import { recordAudit } from './audit.js';
import { signedInApi, type SignedInApi } from '../api-client.js';

/** The store of a running platform: --database-url, $DATABASE_URL, or the local platform of --state-dir. */
export async function openCliSecretStore(global: GlobalOptions, databaseUrl?: string, keyring = localTenantKeyring(global.stateDir)): Promise<ClosableSecretStore> {
  return openSecretStore({ databaseUrl: requireMetadataStoreUrl(global, databaseUrl), keyring });
}

function checkTenant(global: GlobalOptions, tenantId: string): void {
  // No claw.yaml here and no platform recorded: the keyring says whether the tenant exists.
  if (!existsSync(global.config) && runningPid(global.stateDir, 'store') === undefined) return;
  const config = loadInstallConfig(global);
  if (!config.tenants.some((t) => t.id === tenantId)) {
    throw new ClawError('UNKNOWN_TENANT', `no tenant '${tenantId}' in this install's claw.yaml`, { hint: `tenants: ${config.tenants.map((t) => t.id).join(', ') || '(none)'}` });
  }
}

/** Read a secret value from stdin: piped (whole input, one trailing newline dropped) or typed without echo. */
export async function readSecretValue(stdin: NodeJS.ReadStream = process.stdin, name = 'the secret'): Promise<string> {
  let value: string;
  if (stdin.isTTY) {
    process.stderr.write(`value for ${name} (hidden; Enter to finish): `);
    value = await new Promise<string>((resolve, reject) => {
      let typed = '';
      stdin.setRawMode(true);
      stdin.resume();
      stdin.setEncoding('utf8');
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') return done(() => resolve(typed));
          if (ch === '\u0003') return done(() => reject(new ClawError('CANCELLED', 'cancelled; nothing was stored')));
          if (ch === '\u007f') typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      const done = (finish: () => void) => {
        stdin.off('data', onData);
        stdin.setRawMode(false);
        stdin.pause();
        process.stderr.write('\n');
        finish();
      };
      stdin.on('data', onData);
    });
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    value = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (value.length === 0) {
    throw new ClawError('SECRET_VALUE_EMPTY', 'no value on stdin; nothing was stored', {
      hint: "pipe the value in, e.g. `printf %s \"$TOKEN\" | claw secrets set NAME --tenant t`",
    });
  }
  return value;
}

/** Signed in (claw login) or with CLAW_API_KEY: through the admin API, where Cedar decides and the audit log names you. */
async function viaApi(command: Command, tenantId: string): Promise<SignedInApi | undefined> {
  const global = globalOptions(command);
  return signedInApi(global.stateDir, () => {
    checkTenant(global, tenantId);
    return loadInstallConfig(global);
  });
}

export function secretsCommand(): Command {
  const secrets = new Command('secrets').description("a tenant's secrets (values from stdin only; never printed)");
  const withStore = async <T>(command: Command, tenantId: string, databaseUrl: string | undefined, run: (store: ClosableSecretStore, global: GlobalOptions) => Promise<T>) => {
    const global = globalOptions(command);
    checkTenant(global, tenantId);
    // Fails with TENANT_KEY_MISSING / _DESTROYED before anything is read or written.
    const keyring = localTenantKeyring(global.stateDir);
    await keyring.forTenant(tenantId);
    const store = await openCliSecretStore(global, databaseUrl, keyring);
    try {
      return await run(store, global);
    } finally {
      await store.close();
    }
  };

  secrets
    .command('set <name>')
    .description('store a secret; the value is read from stdin')
    .requiredOption('--tenant <id>', 'the tenant that owns the secret')
    .option('--database-url <url>', 'metadata store (default: $DATABASE_URL, or the running local platform)')
    .action(async function (this: Command, name: string, opts: { tenant: string; databaseUrl?: string }) {
      checkSecretName(name);
      const value = await readSecretValue(process.stdin, name);
      const api = await viaApi(this, opts.tenant);
      if (api) {
        await api.call('PUT', `/api/v1/tenants/${opts.tenant}/secrets/${name}`, { value });
        return output(globalOptions(this), { type: 'secret.set', tenant: opts.tenant, name }, () => `stored ${name} for tenant ${opts.tenant}`);
      }
      await withStore(this, opts.tenant, opts.databaseUrl, async (store, global) => {
        await store.set(opts.tenant, name, value);
        await recordAudit(global, opts.tenant, { actor: localActor(), action: 'secret.set', resource: `secret/${name}`, decision: 'allow', determiningPolicies: [] }, opts.databaseUrl);
        output(global, { type: 'secret.set', tenant: opts.tenant, name }, () => `stored ${name} for tenant ${opts.tenant}`);
      });
    });

  secrets
    .command('list')
    .description("names of a tenant's secrets (never values)")
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--database-url <url>', 'metadata store (default: $DATABASE_URL, or the running local platform)')
    .action(async function (this: Command, opts: { tenant: string; databaseUrl?: string }) {
      const api = await viaApi(this, opts.tenant);
      if (api) {
        const { names } = await api.call<{ names: string[] }>('GET', `/api/v1/tenants/${opts.tenant}/secrets`);
        return output(globalOptions(this), { type: 'secret.list', tenant: opts.tenant, names }, () => (names.length ? names.join('\n') : `no secrets for tenant ${opts.tenant}`));
      }
      await withStore(this, opts.tenant, opts.databaseUrl, async (store, global) => {
        const names = await store.list(opts.tenant);
        output(global, { type: 'secret.list', tenant: opts.tenant, names }, () => (names.length ? names.join('\n') : `no secrets for tenant ${opts.tenant}`));
      });
    });

  secrets
    .command('rm <name>')
    .description('delete a secret')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--database-url <url>', 'metadata store (default: $DATABASE_URL, or the running local platform)')
    .action(async function (this: Command, name: string, opts: { tenant: string; databaseUrl?: string }) {
      checkSecretName(name);
      const api = await viaApi(this, opts.tenant);
      if (api) {
        await api.call('DELETE', `/api/v1/tenants/${opts.tenant}/secrets/${name}`);
        return output(globalOptions(this), { type: 'secret.removed', tenant: opts.tenant, name }, () => `removed ${name} from tenant ${opts.tenant}`);
      }
      await withStore(this, opts.tenant, opts.databaseUrl, async (store, global) => {
        const removed = await store.remove(opts.tenant, name);
        if (!removed) throw new ClawError('SECRET_NOT_FOUND', `tenant ${opts.tenant} has no secret ${name}`, { hint: `see \`claw secrets list --tenant ${opts.tenant}\`` });
        await recordAudit(global, opts.tenant, { actor: localActor(), action: 'secret.remove', resource: `secret/${name}`, decision: 'allow', determiningPolicies: [] }, opts.databaseUrl);
        output(global, { type: 'secret.removed', tenant: opts.tenant, name }, () => `removed ${name} from tenant ${opts.tenant}`);
      });
    });
  return secrets;
}
