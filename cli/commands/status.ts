import { Command } from 'commander';
import { cloudStatus } from '../installer/cloud.js';
import { status } from '../../stacks/local/supervisor.js';
import { loadInstallConfig } from './platform-access.js';
import { globalOptions, output } from '../context.js';

export function statusCommand(): Command {
  return new Command('status')
    .description("each component's health and address")
    .action(async function (this: Command) {
      const global = globalOptions(this);
      const config = loadInstallConfig(global);
      // aws/gcp: INSTALLER's path (cli/installer/).
      if (config.target !== 'local') return cloudStatus(this, config);
      const states = await status({ stateDir: global.stateDir, config });
      output(global, { type: 'status', target: 'local', stateDir: global.stateDir, components: states }, () =>
        states
          .flatMap((s) => [
            `${s.name.padEnd(13)} ${s.state.padEnd(13)} ${s.state === 'not installed' ? '' : s.address}${s.pid ? `  pid ${s.pid}` : ''}`,
            ...(s.tenants ? [`${''.padEnd(13)} serving tenants: ${s.tenants.length > 20 ? `${s.tenants.length} tenants` : s.tenants.join(', ') || 'none'}`] : []),
            ...Object.entries(s.unavailable ?? {}).map(([id, why]) => `${''.padEnd(13)} tenant ${id} cannot run: ${why.code ?? why.message}`),
          ])
          .join('\n'),
      );
    });
}
