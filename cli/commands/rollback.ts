import { Command } from 'commander';
import { output } from '../context.js';
import { openFromCommand, withStateOptions } from '../installer/command-kit.js';
import { rollback } from '../installer/lifecycle.js';

export function rollbackCommand(): Command {
  return withStateOptions(new Command('rollback').description('go back to the previously applied release of an aws/gcp install')).action(async function (this: Command) {
    const { global, session, install, overrides } = await openFromCommand(this);
    const result = await rollback(install, session, overrides);
    output(global, { type: 'rollback.result', install: install.spec.install, ...result }, () => `${install.spec.install}: ${result.outcome} (${result.detail})`);
  });
}
