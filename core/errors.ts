/**
 * Errors a user can cause. Each carries a stable code (for scripts and docs), a one-line
 * message that says what is wrong, and a hint that says how to fix it. The CLI's
 * `handleError` prints exactly one line from these and exits with `exitCode`.
 *
 * Never put a secret value into a message or hint: errors land in logs and CI output.
 */
export type ExitCode = 0 | 1 | 2 | 3 | 4;

export const EXIT = {
  ok: 0,
  error: 1,
  changesPending: 2,
  preflightFailed: 3,
  drift: 4,
} as const satisfies Record<string, ExitCode>;

export interface ClawErrorOptions {
  hint?: string;
  exitCode?: ExitCode;
  /** Structured detail for `--json` output (never secret values). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class ClawError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: ExitCode;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, options: ClawErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClawError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT.error;
    this.details = options.details;
  }

  /** One line: `CODE: message (hint)`. */
  toLine(): string {
    return `${this.code}: ${this.message}${this.hint ? ` — ${this.hint}` : ''}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isClawError(err: unknown): err is ClawError {
  return err instanceof ClawError;
}
