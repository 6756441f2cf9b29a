import { Command } from 'commander';
import { output } from '../context.js';
import { openFromCommand, withStateOptions } from '../installer/command-kit.js';

export function outputsCommand(): Command {
  return withStateOptions(new Command('outputs').description('the stack outputs of an aws/gcp install (secret values are masked)')).action(async function (this: Command) {
    const { global, install } = await openFromCommand(this);
    const outputs = await install.engine.outputs();
    output(global, { type: 'outputs', install: install.spec.install, outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value])) }, () =>
      Object.keys(outputs).length === 0
        ? `${install.spec.install} has no outputs (not installed yet? run 'claw install')`
        : Object.entries(outputs)
            .map(([k, v]) => `${k}: ${typeof v.value === 'string' ? v.value : JSON.stringify(v.value)}`)
            .join('\n'),
    );
  });
}
