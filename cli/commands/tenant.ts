import { Command } from 'commander';
import { loadConfig } from '../../core/config/load.js';
import { ID_PATTERN } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import { addTenant } from '../installer/config-edit.js';
import { openPlatform, registerTenant, reloadWorker } from '../../stacks/local/platform.js';
import { runningPid } from '../../stacks/local/supervisor.js';
import { globalOptions, output } from '../context.js';

export function tenantCommand(): Command {
  const tenant = new Command('tenant').description('tenants of the local target');
  tenant
    .command('create <id>')
    .description('add a tenant to claw.yaml (comments kept) and, if the platform is up, register it (its key, its Worker)')
    .option('--name <name>', 'display name (default: the id)')
    .action(async function (this: Command, id: string, opts: { name?: string }) {
      const global = globalOptions(this);
      if (!ID_PATTERN.test(id)) {
        throw new ClawError('INVALID_TENANT_ID', `'${id}' is not a valid tenant id`, {
          hint: "use 2-32 lowercase letters, digits and '-', starting with a letter, e.g. 'acme'",
        });
      }
      let config = loadConfig(global.config);
      const existing = config.tenants.find((t) => t.id === id);
      if (!existing) config = addTenant(global.config, { id, name: opts.name ?? id });
      const entry = config.tenants.find((t) => t.id === id)!;
      // Registration needs the running platform; otherwise the next 'claw up' does it.
      const running = config.target === 'local' && runningPid(global.stateDir, 'store') !== undefined && runningPid(global.stateDir, 'worker') !== undefined;
      if (running) {
        const session = await openPlatform(global.stateDir, config);
        try {
          await registerTenant(session, entry);
        } finally {
          await session.close();
        }
        await reloadWorker(config);
      }
      output(global, { type: 'tenant.created', id, addedToConfig: !existing, registered: running }, () =>
        `${existing ? `tenant ${id} is already in ${global.config}` : `added tenant ${id} to ${global.config}`}; ${running ? 'registered (key created, worker polling claw-tenant-' + id + ')' : "the platform is not running: 'claw up' registers it"}`,
      );
    });
  return tenant;
}
