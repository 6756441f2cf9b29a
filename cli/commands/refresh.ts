import { Command } from 'commander';
import { output } from '../context.js';
import { formatChanges } from '../installer/engine.js';
import { openFromCommand, withStateOptions } from '../installer/command-kit.js';
import { applyOperation } from '../installer/lifecycle.js';

export function refreshCommand(): Command {
  return withStateOptions(new Command('refresh').description("adopt the cloud's actual state into the stack state (use 'claw drift' to only look)")).action(async function (this: Command) {
    const { global, session, install } = await openFromCommand(this);
    // A refresh is an apply to the state (not the cloud): it gets the same Ctrl-C handling.
    const result = await applyOperation(install, session, 'up', undefined, (onEvent) => install.engine.refresh({ onEvent }));
    output(global, { type: 'refresh.result', install: install.spec.install, changes: result.changes }, () => `refreshed ${install.spec.install}: ${formatChanges(result.changes)}`);
  });
}
