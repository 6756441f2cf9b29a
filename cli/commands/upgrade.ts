import { Command } from 'commander';
import { output } from '../context.js';
import { openFromCommand, withStateOptions } from '../installer/command-kit.js';
import { upgrade } from '../installer/lifecycle.js';
import { RELEASES } from '../installer/releases.js';

export function upgradeCommand(): Command {
  return withStateOptions(
    new Command('upgrade')
      .description('move an aws/gcp install to a release: preview, apply, wait until healthy, roll back on failure')
      .requiredOption('--to <version>', `the release (${Object.keys(RELEASES).join(', ')})`)
      .option('--skip-preflight', 'do not check credentials, permissions and quotas first')
      .option('--health-timeout <seconds>', 'how long to wait for healthy workloads', (v) => Number(v), 900),
  ).action(async function (this: Command, opts: { to: string; skipPreflight?: boolean; healthTimeout: number }) {
    const { global, session, install, overrides } = await openFromCommand(this);
    const result = await upgrade(install, session, opts.to, { skipPreflight: opts.skipPreflight, overrides, healthTimeoutMs: opts.healthTimeout * 1000 });
    output(global, { type: 'upgrade.result', install: install.spec.install, ...result }, () => `${install.spec.install}: ${result.outcome} (${result.detail})`);
  });
}
