/**
 * Confirmations. `--yes` answers yes/no questions; a typed confirmation (destroy) needs the
 * install's name, typed at the prompt or passed with `--confirm <name>`. With
 * `--non-interactive` (or no terminal) nothing is ever asked: where a question would be
 * needed the command fails with CONFIRMATION_REQUIRED and says which flag answers it.
 */
import { createInterface } from 'node:readline/promises';
import { ClawError } from '../../core/errors.js';

export interface PromptOptions {
  yes: boolean;
  nonInteractive: boolean;
}

export function canPrompt(options: PromptOptions): boolean {
  return !options.nonInteractive && Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY);
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** A yes/no question; `--yes` answers it. Resolves false when the user says no. */
export async function confirm(options: PromptOptions, question: string): Promise<boolean> {
  if (options.yes) return true;
  if (!canPrompt(options)) {
    throw new ClawError('CONFIRMATION_REQUIRED', `${question.replace(/\?$/, '')}: needs a confirmation and this run cannot prompt`, {
      hint: 'pass --yes to confirm non-interactively',
    });
  }
  return /^y(es)?$/i.test(await ask(`${question} [y/N] `));
}

/** The user must type `expected` (or pass it as `--confirm`). */
export async function confirmTyped(options: PromptOptions, expected: string, what: string, provided?: string, noun = 'install name'): Promise<void> {
  if (provided !== undefined) {
    if (provided === expected) return;
    throw new ClawError('CONFIRMATION_MISMATCH', `--confirm '${provided}' does not match '${expected}'`, { hint: `pass --confirm ${expected} to ${what}` });
  }
  if (!canPrompt(options)) {
    throw new ClawError('CONFIRMATION_REQUIRED', `${what} needs a typed confirmation and this run cannot prompt`, {
      hint: `pass --confirm ${expected} (--yes alone is not enough for this)`,
    });
  }
  const answer = await ask(`To ${what}, type the ${noun} '${expected}': `);
  if (answer !== expected) throw new ClawError('CONFIRMATION_MISMATCH', `'${answer}' does not match '${expected}'; nothing was changed`, { hint: 'run it again and type the name exactly' });
}
