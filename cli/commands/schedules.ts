/**
 * `claw schedules list | sync`: agent schedules (claw.yaml) as Temporal Schedules.
 * `sync` reconciles Temporal to claw.yaml (create, update, delete; idempotent);
 * `list` shows what Temporal has, with the next and recent fire times.
 */
import { Command } from 'commander';
import { listSchedules, reconcileSchedules } from '../../runtime/schedules/reconcile.js';
import { globalOptions, output } from '../context.js';
import { loadInstallConfig } from './platform-access.js';

export function schedulesCommand(): Command {
  const schedules = new Command('schedules').description("agents' schedules, kept as Temporal Schedules");

  schedules
    .command('list')
    .description('the Temporal Schedules claw manages, with next and recent fires')
    .option('--tenant <id>', 'only this tenant')
    .action(async function (this: Command, opts: { tenant?: string }) {
      const global = globalOptions(this);
      const config = loadInstallConfig(global);
      const scoped = { ...config, tenants: config.tenants.filter((t) => !opts.tenant || t.id === opts.tenant) };
      // Loaded on use: the platform clients pull in Temporal, the keyring and the codec.
      const { openTenantClients } = await import('./platform-access.js');
      const clients = await openTenantClients(global, config);
      try {
        const rows = await listSchedules(scoped, (t) => clients.clientFor(t));
        if (global.json) for (const row of rows) output(global, { type: 'schedule', ...row }, () => '');
        else {
          output(global, rows, () =>
            rows.length === 0
              ? 'no schedules (add schedules: to an agent in claw.yaml, then run claw schedules sync)'
              : [
                  'TENANT/AGENT/SCHEDULE                      CRON              NEXT FIRE (UTC)           LAST FIRE (UTC)',
                  ...rows.map((r) =>
                    `${`${r.tenantId}/${r.agentId}/${r.id}`.padEnd(42)} ${(r.cron ?? '(not in claw.yaml)').padEnd(17)} ${(r.paused ? 'paused' : (r.nextFires[0] ?? '-')).padEnd(25)} ${r.recentFires.at(-1) ?? '-'}`,
                  ),
                ].join('\n'),
          );
        }
      } finally {
        await clients.close();
      }
    });

  schedules
    .command('sync')
    .description('make Temporal match claw.yaml: create, update and delete schedules (idempotent)')
    .action(async function (this: Command) {
      const global = globalOptions(this);
      const config = loadInstallConfig(global);
      // Loaded on use: the platform clients pull in Temporal, the keyring and the codec.
      const { openTenantClients } = await import('./platform-access.js');
      const clients = await openTenantClients(global, config);
      try {
        const changes = await reconcileSchedules(config, (t) => clients.clientFor(t));
        const counts = { created: 0, updated: 0, deleted: 0, unchanged: 0 };
        for (const c of changes) counts[c.action]++;
        output(global, { type: 'schedules.synced', ...counts, changes }, () =>
          [...changes.filter((c) => c.action !== 'unchanged').map((c) => `${c.action.padEnd(8)} ${c.scheduleId}`),
            `${counts.created} created, ${counts.updated} updated, ${counts.deleted} deleted, ${counts.unchanged} unchanged`].join('\n'),
        );
      } finally {
        await clients.close();
      }
    });
  return schedules;
}
