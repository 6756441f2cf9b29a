/**
 * The install lifecycle as services over an Engine: install, plan, apply (optionally a
 * saved plan), destroy, refresh, drift, upgrade with health-gated rollback, rollback.
 * Commands (cli/commands/*) only parse options and print; fleets call the same functions.
 */
import { loadConfig } from '../../core/config/load.js';
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError, EXIT } from '../../core/errors.js';
import { setVersions } from './config-edit.js';
import { formatChanges, selectEngine, totalChanges, type Engine, type EngineEvent, type OperationResult, type PreviewResult } from './engine.js';
import type { HealthCheck } from './health.js';
import { readPlan, writePlan, type SavedPlan } from './plan-file.js';
import { preflightError } from './preflight/report.js';
import { Progress, defaultProgressOptions, type ProgressOptions } from './progress.js';
import { confirm, type PromptOptions } from './prompt.js';
import { currentVersions, previousApplied, readHistory, recordHistory, release, type ReleaseVersions } from './releases.js';
import { stackSpec, type StackSpec, type StackSpecOverrides } from './workspace.js';

export interface Install {
  configFile: string;
  config: ClawConfig;
  spec: StackSpec;
  engine: Engine;
  health: HealthCheck;
}

export interface SessionOptions extends PromptOptions {
  json: boolean;
  stateDir: string;
  /** Progress output; defaults to the TTY/plain/JSON choice for this process. */
  progress?: ProgressOptions;
  /** Where SIGINT comes from (tests pass their own emitter). */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
}

export async function openInstall(configFile: string, stateDir: string, overrides: StackSpecOverrides = {}): Promise<Install> {
  const config = loadConfig(configFile);
  const spec = stackSpec(config, stateDir, overrides);
  return { configFile, config, spec, ...(await selectEngine(spec, config)) };
}

/** Re-open after claw.yaml changed (tenants, versions): same overrides, new config. */
async function reopen(install: Install, stateDir: string, overrides: StackSpecOverrides): Promise<Install> {
  return openInstall(install.configFile, stateDir, overrides);
}

function progressFor(session: SessionOptions, title: string): Progress {
  return new Progress(session.progress ?? defaultProgressOptions(session.json), title);
}

export async function preflight(install: Install, session: SessionOptions, skip = false): Promise<void> {
  const progress = progressFor(session, 'preflight');
  if (skip || !install.engine.provisionsCloud) {
    progress.note('preflight.skipped', `preflight skipped (${skip ? '--skip-preflight' : `${install.engine.description}: no cloud to check`})`);
    return;
  }
  const { runPreflight } = await import('./preflight/index.js');
  const result = await runPreflight(install.config);
  progress.note('preflight', `preflight: ${result.passed ? 'passed' : 'FAILED'}`, { passed: result.passed, checks: result.checks });
  if (!result.passed) throw preflightError(result);
}

export async function preview(install: Install, session: SessionOptions, savePlan = false): Promise<PreviewResult> {
  const progress = progressFor(session, `preview ${install.spec.install}`);
  try {
    const result = await install.engine.preview({ savePlan, onEvent: (e) => progress.event(e) });
    return result;
  } finally {
    progress.stop();
  }
}

/**
 * Run an apply-like operation; Ctrl-C asks the engine to cancel (in-flight steps finish,
 * state is saved), and the error that follows says how to resume.
 */
export async function applyOperation(
  install: Install,
  session: SessionOptions,
  operation: 'up' | 'destroy',
  expected: number | undefined,
  run: (onEvent: (event: EngineEvent) => void) => Promise<OperationResult>,
): Promise<OperationResult> {
  const progress = progressFor(session, `${operation} ${install.spec.install}`);
  if (expected !== undefined) progress.expect(expected);
  const signals = session.signals ?? process;
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts === 1) {
      progress.note('interrupt', 'interrupted: stopping after the operations in flight finish, so the state stays consistent (Ctrl-C again does not skip this)');
      void install.engine.cancel();
    } else {
      progress.note('interrupt', 'still stopping: waiting for in-flight operations to finish and the state to be saved');
    }
  };
  signals.on('SIGINT', onSigint);
  let result: OperationResult;
  try {
    result = await run((e) => progress.event(e));
  } finally {
    signals.off('SIGINT', onSigint);
    progress.stop();
  }
  const of = expected !== undefined ? ` of ${expected}` : '';
  if (result.status === 'cancelled') {
    const resume = operation === 'up' ? "run 'claw up' to apply the rest (it picks up from the saved state)" : `run 'claw destroy' again to finish`;
    throw new ClawError('APPLY_INTERRUPTED', `${operation} interrupted after ${result.completed}${of} changes; the state is saved and consistent`, {
      hint: resume,
      details: { completed: result.completed, expected },
    });
  }
  if (result.status === 'failed') {
    throw new ClawError('APPLY_FAILED', `${operation} failed after ${result.completed}${of} changes: ${result.message ?? 'see the errors above'}`, {
      hint: "fix the cause, then 'claw up' applies the rest; 'claw status' shows where the stack is",
      details: { completed: result.completed, expected },
    });
  }
  return result;
}

export async function apply(install: Install, session: SessionOptions, options: { plan?: SavedPlan; expected?: number } = {}): Promise<OperationResult> {
  return applyOperation(install, session, 'up', options.expected ?? (options.plan ? options.plan.steps.length : undefined), (onEvent) =>
    install.engine.up({ enginePlan: options.plan?.enginePlan, onEvent }),
  );
}

export interface InstallResult {
  preview: PreviewResult;
  result?: OperationResult;
  declined?: boolean;
}

/** First apply (or any apply after a preview and a confirmation). */
export async function installStack(install: Install, session: SessionOptions, options: { skipPreflight?: boolean } = {}): Promise<InstallResult> {
  await preflight(install, session, options.skipPreflight);
  const planned = await preview(install, session);
  const progress = progressFor(session, '');
  progress.note('preview', `${install.spec.install} (${install.spec.target}): ${formatChanges(planned.changes)}`, { changes: planned.changes });
  if (totalChanges(planned.changes) === 0) return { preview: planned };
  if (!(await confirm(session, `apply ${totalChanges(planned.changes)} change(s) to ${install.spec.install}?`))) return { preview: planned, declined: true };
  const result = await apply(install, session, { expected: totalChanges(planned.changes) });
  recordHistory(install.spec.installDir, { version: install.config.versions.runtime, versions: currentVersions(install.config), outcome: 'applied' });
  return { preview: planned, result };
}

export async function planToFile(install: Install, session: SessionOptions, out?: string): Promise<{ preview: PreviewResult; plan?: SavedPlan }> {
  const result = await preview(install, session, out !== undefined);
  const plan = out ? writePlan(out, install.spec, install.config, install.engine.description, result) : undefined;
  return { preview: result, plan };
}

export async function applySavedPlan(install: Install, session: SessionOptions, file: string): Promise<OperationResult> {
  const plan = readPlan(file, install.spec, install.config);
  const result = await apply(install, session, { plan });
  recordHistory(install.spec.installDir, { version: install.config.versions.runtime, versions: currentVersions(install.config), outcome: 'applied', note: `plan ${file}` });
  return result;
}

export interface UpgradeResult {
  from: string;
  to: string;
  outcome: 'upgraded' | 'unchanged' | 'rolled-back' | 'declined';
  detail: string;
}

const HEALTH_TIMEOUT_MS = 15 * 60_000;

/**
 * Upgrade to a release: write its versions into claw.yaml, preview, apply, wait for the
 * workloads to be healthy. On a failed apply or unhealthy workloads, restore the previous
 * versions in claw.yaml, apply them, and fail with UPGRADE_ROLLED_BACK.
 */
export async function upgrade(
  install: Install,
  session: SessionOptions,
  to: string,
  options: { skipPreflight?: boolean; overrides?: StackSpecOverrides; healthTimeoutMs?: number } = {},
): Promise<UpgradeResult> {
  const target = release(to);
  const before = currentVersions(install.config);
  const from = before.runtime;
  if (JSON.stringify(before) === JSON.stringify(target)) return { from, to, outcome: 'unchanged', detail: `already at ${to}` };
  await preflight(install, session, options.skipPreflight);
  const progress = progressFor(session, '');
  if (readHistory(install.spec.installDir).entries.length === 0) {
    // Record what is running now, so a rollback has somewhere to go.
    recordHistory(install.spec.installDir, { version: from, versions: before, outcome: 'applied', note: 'recorded before first upgrade' });
  }
  setVersions(install.configFile, target);
  const upgraded = await reopen(install, session.stateDir, options.overrides ?? {});
  let failure: string | undefined;
  try {
    const planned = await preview(upgraded, session);
    progress.note('upgrade.preview', `upgrade ${install.spec.install} ${from} → ${to}: ${formatChanges(planned.changes)}`, { from, to, changes: planned.changes });
    if (!(await confirm(session, `upgrade ${install.spec.install} to ${to}?`))) {
      setVersions(install.configFile, before);
      return { from, to, outcome: 'declined', detail: 'not confirmed; claw.yaml restored' };
    }
    await apply(upgraded, session, { expected: totalChanges(planned.changes) });
    progress.note('upgrade.health', `waiting for ${install.spec.install} workloads to be healthy on ${to}`);
    const health = await upgraded.health.waitHealthy({ expectVersion: target.runtime, timeoutMs: options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS });
    if (!health.healthy) failure = `unhealthy after apply: ${health.detail}`;
  } catch (err) {
    // An interrupted upgrade is not rolled back behind the user's back: they asked to stop.
    if (err instanceof ClawError && err.code === 'APPLY_INTERRUPTED') throw err;
    failure = err instanceof ClawError ? `${err.code}: ${err.message}` : (err as Error).message;
  }
  if (!failure) {
    recordHistory(install.spec.installDir, { version: to, versions: target, outcome: 'applied' });
    return { from, to, outcome: 'upgraded', detail: `${from} → ${to}, workloads healthy` };
  }
  recordHistory(install.spec.installDir, { version: to, versions: target, outcome: 'failed', note: failure });
  progress.note('upgrade.rollback', `upgrade to ${to} failed (${failure}); rolling back to ${from}`, { failure });
  await restore(install, session, before, options.overrides ?? {}, `rollback from failed ${to}`);
  throw new ClawError('UPGRADE_ROLLED_BACK', `upgrade of ${install.spec.install} to ${to} failed and was rolled back to ${from}: ${failure}`, {
    hint: "see the errors above; 'claw status' shows the install, 'claw upgrade --to' retries",
    details: { install: install.spec.install, from, to, failure },
  });
}

async function restore(install: Install, session: SessionOptions, versions: ReleaseVersions, overrides: StackSpecOverrides, note: string): Promise<OperationResult> {
  setVersions(install.configFile, versions);
  const restored = await reopen(install, session.stateDir, overrides);
  const planned = await preview(restored, session);
  const result = await apply(restored, session, { expected: totalChanges(planned.changes) });
  const health = await restored.health.waitHealthy({ expectVersion: versions.runtime, timeoutMs: HEALTH_TIMEOUT_MS });
  recordHistory(install.spec.installDir, { version: versions.runtime, versions, outcome: health.healthy ? 'applied' : 'failed', note });
  if (!health.healthy) {
    throw new ClawError('ROLLBACK_UNHEALTHY', `rolled back ${install.spec.install} to ${versions.runtime}, but its workloads are not healthy: ${health.detail}`, {
      hint: "check the cluster ('claw status', kubectl -n claw get deploy); the state itself is consistent",
    });
  }
  return result;
}

/** Go back to the previous recorded release. */
export async function rollback(install: Install, session: SessionOptions, overrides: StackSpecOverrides = {}): Promise<UpgradeResult> {
  const current = currentVersions(install.config);
  const previous = previousApplied(readHistory(install.spec.installDir), current);
  if (!previous) {
    throw new ClawError('NO_PREVIOUS_VERSION', `no earlier release of ${install.spec.install} is recorded`, {
      hint: "rollback goes back to a release that was applied before with 'claw install' or 'claw upgrade'",
    });
  }
  if (!(await confirm(session, `roll ${install.spec.install} back from ${current.runtime} to ${previous.version}?`))) {
    return { from: current.runtime, to: previous.version, outcome: 'declined', detail: 'not confirmed' };
  }
  await restore(install, session, previous.versions, overrides, `rollback from ${current.runtime}`);
  return { from: current.runtime, to: previous.version, outcome: 'rolled-back', detail: `${current.runtime} → ${previous.version}` };
}

/** Exit code for `claw plan --detailed-exitcode` (Terraform's convention: 2 = changes). */
export function planExitCode(preview: PreviewResult, detailed: boolean): 0 | 2 {
  return detailed && totalChanges(preview.changes) > 0 ? EXIT.changesPending : EXIT.ok;
}
