/**
 * The one place errors become output: a known ClawError prints one line with its code
 * and fix; anything else prints one line and exit 1 (the stack only with CLAW_DEBUG=1).
 */
import { ClawError, EXIT, isClawError } from '../core/errors.js';

export function handleError(err: unknown, json = false): never {
  const known: ClawError = isClawError(err)
    ? err
    : new ClawError('INTERNAL', err instanceof Error ? err.message.split('\n')[0]! : String(err), {
        hint: 'this is a bug in claw; rerun with CLAW_DEBUG=1 and report it',
      });
  if (json) process.stdout.write(`${JSON.stringify({ type: 'error', ...known.toJSON() })}\n`);
  else process.stderr.write(`error ${known.toLine()}\n`);
  if (process.env.CLAW_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(isClawError(err) ? known.exitCode : EXIT.error);
}
