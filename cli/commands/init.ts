import { Command } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ClawError } from '../../core/errors.js';
import { clawJsonSchema } from '../../core/config/schema.js';
import { STARTER_AGENT, STARTER_CONFIG } from '../../core/config/starter.js';
import { globalOptions, output } from '../context.js';

export function initCommand(): Command {
  return new Command('init')
    .description('write a starter claw.yaml (local target, tenant acme, agent helper on the scripted model)')
    .option('--force', 'overwrite existing files')
    .action(function (this: Command, opts: { force?: boolean }) {
      const global = globalOptions(this);
      const dir = dirname(global.config);
      const files = {
        [global.config]: STARTER_CONFIG,
        [join(dir, 'agents', 'helper.yaml')]: STARTER_AGENT,
        [join(dir, 'claw.schema.json')]: `${JSON.stringify(clawJsonSchema(), null, 2)}\n`,
      };
      const existing = Object.keys(files).filter((f) => existsSync(f) && !f.endsWith('.json'));
      if (existing.length > 0 && !opts.force) {
        throw new ClawError('INIT_EXISTS', `${existing[0]} already exists`, { hint: 'pass --force to overwrite it, or edit it' });
      }
      for (const [file, text] of Object.entries(files)) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
      output(global, { type: 'init', files: Object.keys(files) }, () =>
        `wrote ${Object.keys(files).join(', ')}\nnext: claw up`,
      );
    });
}
