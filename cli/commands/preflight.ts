import { Command } from 'commander';
import { loadConfig } from '../../core/config/load.js';
import { globalOptions, output } from '../context.js';
import { runPreflight } from '../installer/preflight/index.js';
import { preflightError, renderPreflight } from '../installer/preflight/report.js';

export function preflightCommand(): Command {
  return new Command('preflight')
    .description('check credentials, permissions (against the installer policy), region and quotas; exit 3 on failure')
    .action(async function (this: Command) {
      const global = globalOptions(this);
      const result = await runPreflight(loadConfig(global.config));
      output(global, { type: 'preflight.result', ...result }, () => renderPreflight(result));
      if (!result.passed) throw preflightError(result);
    });
}
