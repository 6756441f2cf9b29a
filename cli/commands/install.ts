import { Command } from 'commander';
import { output } from '../context.js';
import { formatChanges } from '../installer/engine.js';
import { openFromCommand, withStateOptions } from '../installer/command-kit.js';
import { installStack } from '../installer/lifecycle.js';

export function installCommand(): Command {
  return withStateOptions(
    new Command('install')
      .description('first install of an aws/gcp target: preflight, preview, confirm, apply')
      .option('--skip-preflight', 'do not check credentials, permissions and quotas first'),
  ).action(async function (this: Command, opts: { skipPreflight?: boolean }) {
    const { global, session, install } = await openFromCommand(this);
    const result = await installStack(install, session, { skipPreflight: opts.skipPreflight });
    const outcome = result.declined ? 'declined' : result.result ? 'applied' : 'unchanged';
    output(global, { type: 'install.result', install: install.spec.install, target: install.spec.target, engine: install.engine.description, outcome, changes: result.result?.changes ?? result.preview.changes }, () =>
      result.declined
        ? 'nothing applied (not confirmed)'
        : result.result
          ? `installed ${install.spec.install} on ${install.spec.target} (${formatChanges(result.result.changes)}; engine: ${install.engine.description})\nnext: claw outputs, claw status`
          : `${install.spec.install} is up to date`,
    );
  });
}
