import { Command } from 'commander';
import { existsSync, readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { ClawError } from '../../core/errors.js';
import { statePaths } from '../../stacks/local/state.js';
import { components } from '../../stacks/local/supervisor.js';
import { loadInstallConfig } from './platform-access.js';
import { globalOptions } from '../context.js';

function tail(file: string, lines: number): string[] {
  const all = readFileSync(file, 'utf8').split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all.slice(-lines);
}

export function logsCommand(): Command {
  return new Command('logs')
    .description("print a local component's log (all components when none is named)")
    .argument('[component]', 'temporal | store | worker | gateway | codec-server')
    .option('-n, --lines <n>', 'how many lines from the end', '100')
    .option('-f, --follow', 'keep printing new lines')
    .action(async function (this: Command, component: string | undefined, opts: { lines: string; follow?: boolean }) {
      const global = globalOptions(this);
      const config = loadInstallConfig(global);
      const names = components(config, global.stateDir).map((c) => c.name as string);
      if (component !== undefined && !names.includes(component)) {
        throw new ClawError('UNKNOWN_COMPONENT', `no component '${component}'`, { hint: `use one of: ${names.join(', ')}` });
      }
      const wanted = component ? [component] : names;
      const paths = statePaths(global.stateDir);
      const files = wanted.map((name) => ({ name, file: paths.logFile(name) })).filter((f) => existsSync(f.file));
      if (files.length === 0) {
        throw new ClawError('NO_LOGS', `no logs under ${global.stateDir}${component ? ` for ${component}` : ''}`, { hint: "start the platform with 'claw up'" });
      }
      const prefix = (name: string) => (files.length > 1 ? `[${name}] ` : '');
      for (const { name, file } of files) for (const line of tail(file, Number(opts.lines))) process.stdout.write(`${prefix(name)}${line}\n`);
      if (!opts.follow) return;
      const offsets = new Map(files.map((f) => [f.file, statSync(f.file).size]));
      for (;;) {
        await new Promise((r) => setTimeout(r, 250));
        for (const { name, file } of files) {
          const size = statSync(file).size;
          const from = offsets.get(file)!;
          if (size <= from) continue;
          const buffer = Buffer.alloc(size - from);
          const fd = openSync(file, 'r');
          readSync(fd, buffer, 0, buffer.length, from);
          closeSync(fd);
          offsets.set(file, size);
          for (const line of buffer.toString('utf8').split('\n').filter(Boolean)) process.stdout.write(`${prefix(name)}${line}\n`);
        }
      }
    });
}
