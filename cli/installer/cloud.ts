/**
 * The aws/gcp branch of `claw up` and `claw status` (FOUNDATION owns those commands and the
 * local target; they call these when claw.yaml's target is aws or gcp).
 */
import type { Command } from 'commander';
import type { ClawConfig } from '../../core/config/schema.js';
import { output } from '../context.js';
import { openFromCommand } from './command-kit.js';
import { formatChanges, totalChanges } from './engine.js';
import { apply, applySavedPlan, preview } from './lifecycle.js';
import { confirm } from './prompt.js';
import { readHistory } from './releases.js';

/** `claw up` on aws/gcp: with `plan`, apply exactly that saved plan; else preview, confirm, apply. */
export async function cloudUp(command: Command, _config: ClawConfig, opts: { plan?: string }): Promise<void> {
  const { global, session, install } = await openFromCommand(command);
  if (opts.plan) {
    const result = await applySavedPlan(install, session, opts.plan);
    output(global, { type: 'up.result', install: install.spec.install, plan: opts.plan, changes: result.changes }, () => `applied plan ${opts.plan} to ${install.spec.install}: ${formatChanges(result.changes)}`);
    return;
  }
  const planned = await preview(install, session);
  if (totalChanges(planned.changes) === 0) {
    output(global, { type: 'up.result', install: install.spec.install, changes: {} }, () => `${install.spec.install} is up to date`);
    return;
  }
  if (!(await confirm(session, `apply ${formatChanges(planned.changes)} to ${install.spec.install}?`))) {
    output(global, { type: 'up.result', install: install.spec.install, declined: true }, () => 'nothing applied (not confirmed)');
    return;
  }
  const result = await apply(install, session, { expected: totalChanges(planned.changes) });
  output(global, { type: 'up.result', install: install.spec.install, changes: result.changes }, () => `applied to ${install.spec.install}: ${formatChanges(result.changes)}`);
}

/** `claw status` on aws/gcp: the stack, its last update, the release, its outputs. */
export async function cloudStatus(command: Command, _config: ClawConfig): Promise<void> {
  const { global, install } = await openFromCommand(command);
  const summary = await install.engine.summary();
  const outputs = summary.exists ? await install.engine.outputs() : {};
  const last = readHistory(install.spec.installDir).entries.at(-1);
  const status = {
    type: 'status',
    install: install.spec.install,
    target: install.spec.target,
    engine: install.engine.description,
    backend: install.spec.backendUrl,
    installed: summary.exists,
    resources: summary.resourceCount,
    locked: summary.locked ?? false,
    lastUpdate: summary.lastUpdate,
    release: last ? { version: last.version, outcome: last.outcome, at: last.at } : undefined,
    outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value])),
  };
  output(global, status, () =>
    !summary.exists
      ? `${install.spec.install} (${install.spec.target}): not installed; run 'claw install'`
      : [
          `${install.spec.install} (${install.spec.target}, engine: ${install.engine.description})`,
          `  resources: ${summary.resourceCount}${summary.locked ? '  LOCKED (an update is running or stopped uncleanly)' : ''}`,
          `  last update: ${summary.lastUpdate ? `${summary.lastUpdate.kind} ${summary.lastUpdate.result}${summary.lastUpdate.endTime ? ` at ${summary.lastUpdate.endTime}` : ''}` : 'none'}`,
          `  release: ${last ? `${last.version} (${last.outcome} ${last.at})` : install.config.versions.runtime}`,
          `  backend: ${install.spec.backendUrl}`,
          ...Object.entries(status.outputs).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`),
        ].join('\n'),
  );
}
