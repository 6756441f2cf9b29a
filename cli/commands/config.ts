import { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig } from '../../core/config/load.js';
import { clawJsonSchema } from '../../core/config/schema.js';
import { globalOptions, output } from '../context.js';

export function configCommand(): Command {
  const config = new Command('config').description('check and describe claw.yaml');
  config
    .command('validate [file]')
    .description('validate a claw.yaml (defaults to --config)')
    .action(function (this: Command, file: string | undefined) {
      const global = globalOptions(this);
      const path = file ? resolve(file) : global.config;
      const loaded = loadConfig(path);
      output(global, { type: 'config.valid', file: path, target: loaded.target, tenants: loaded.tenants.length, agents: loaded.agents.length }, () =>
        `${path}: valid (target ${loaded.target}, ${loaded.tenants.length} tenant(s), ${loaded.agents.length} agent(s))`,
      );
    });
  config
    .command('schema')
    .description('print the JSON Schema of claw.yaml (for editors)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(clawJsonSchema(), null, 2)}\n`);
    });
  return config;
}
