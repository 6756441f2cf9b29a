/**
 * The program loads only the command argv runs: the command is found after the global
 * options (and their values) as commander finds it, and the table of names the lazy loading
 * goes by is the program's own list of commands.
 */
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMAND_NAMES, commandOf } from './index.js';

const argv = (...args: string[]) => ['node', 'claw', ...args];

describe('the claw program', () => {
  it("names every command the full program has, in help order, and nothing else", async () => {
    const program = await buildProgram();
    expect(program.commands.map((c) => c.name())).toEqual(COMMAND_NAMES);
    expect(program.commands.flatMap((c) => c.aliases())).toEqual([]);
  });

  it('finds the command after global options and their values', () => {
    expect(commandOf(argv('status'))).toBe('status');
    expect(commandOf(argv('--state-dir', '/tmp/s', '-c', 'send', 'send', '--tenant', 'acme', 'hi'))).toBe('send');
    expect(commandOf(argv('--json', '-y', '--config=other.yaml', 'policy', 'explain'))).toBe('policy');
    expect(commandOf(argv('--non-interactive', 'deny', 'run-1'))).toBe('deny');
  });

  it('builds the whole program for help, a bare claw, an unknown option first and a name that is not a command', () => {
    for (const args of [argv('--help'), argv(), argv('help', 'send'), argv('--bogus', 'status'), argv('stauts')]) {
      expect(commandOf(args)).toBeUndefined();
    }
  });

  it('loads only the command it runs, with the commands sharing its module', async () => {
    expect((await buildProgram(argv('-c', 'claw.yaml', 'status'))).commands.map((c) => c.name())).toEqual(['status']);
    expect((await buildProgram(argv('deny', 'r-1'))).commands.map((c) => c.name())).toEqual(['approve', 'deny', 'cancel']);
    const runs = (await buildProgram(argv('runs', 'pending'))).commands;
    expect(runs.map((c) => c.name())).toEqual(['runs']);
    expect(runs[0]!.commands.map((c) => c.name())).toContain('pending');
    expect((await buildProgram(argv('stauts'))).commands).toHaveLength(COMMAND_NAMES.length);
  });

  it('answers --version (reading argv for the command prints nothing and never exits)', async () => {
    const program = (await buildProgram(argv('--version'))).exitOverride();
    let out = '';
    program.configureOutput({ writeOut: (s) => (out += s) });
    await expect(program.parseAsync(argv('--version'))).rejects.toMatchObject({ code: 'commander.version' });
    expect(out.trim()).toBe('0.1.0');
  });
});
