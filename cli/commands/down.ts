import { Command } from 'commander';
import { ClawError } from '../../core/errors.js';
import { down } from '../../stacks/local/supervisor.js';
import { loadInstallConfig } from './platform-access.js';
import { globalOptions, output } from '../context.js';

export function downCommand(): Command {
  return new Command('down')
    .description('stop every local component (data stays in the state directory)')
    .action(async function (this: Command) {
      const global = globalOptions(this);
      const config = loadInstallConfig(global);
      if (config.target !== 'local') {
        throw new ClawError('NOT_LOCAL', `'claw down' stops the local target; this install's target is ${config.target}`, {
          hint: "use 'claw destroy' to remove a cloud install",
        });
      }
      const stopped = await down({ stateDir: global.stateDir, config });
      output(global, { type: 'down', stopped }, () => (stopped.length > 0 ? `stopped ${stopped.join(', ')}` : 'nothing was running'));
    });
}
