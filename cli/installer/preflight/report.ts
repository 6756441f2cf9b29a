/**
 * Preflight results. Each check has a stable id; each failure a stable code (PF_...) and
 * a fix hint. A failed preflight is exit code 3 (EXIT.preflightFailed).
 */
import { ClawError, EXIT } from '../../../core/errors.js';

export interface PreflightCheck {
  /** `credentials`, `permissions`, `quota:vpcs`, `region`, `apis`, ... */
  id: string;
  ok: boolean;
  message: string;
  /** Stable failure code, e.g. PF_AWS_PERMISSIONS_MISSING (only when !ok). */
  code?: string;
  hint?: string;
  details?: Record<string, unknown>;
}

export interface PreflightReport {
  target: 'aws' | 'gcp';
  passed: boolean;
  checks: PreflightCheck[];
}

export function report(target: 'aws' | 'gcp', checks: PreflightCheck[]): PreflightReport {
  return { target, passed: checks.every((c) => c.ok), checks };
}

/** The ClawError a failed preflight becomes: the first failure's code and hint, exit 3. */
export function preflightError(result: PreflightReport): ClawError {
  const failures = result.checks.filter((c) => !c.ok);
  const first = failures[0]!;
  const more = failures.length > 1 ? ` (and ${failures.length - 1} more failed check(s): ${failures.slice(1).map((f) => f.code).join(', ')})` : '';
  return new ClawError(first.code ?? 'PF_FAILED', `preflight: ${first.message}${more}`, {
    hint: first.hint,
    exitCode: EXIT.preflightFailed,
    details: { checks: result.checks },
  });
}

export function renderPreflight(result: PreflightReport): string {
  const lines = result.checks.map((c) =>
    c.ok ? `  ok    ${c.id}: ${c.message}` : `  FAIL  ${c.id}: ${c.code}: ${c.message}${c.hint ? `\n        fix: ${c.hint}` : ''}`,
  );
  return [`preflight (${result.target}): ${result.passed ? 'passed' : 'FAILED'}`, ...lines].join('\n');
}
