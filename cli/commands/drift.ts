import { Command } from 'commander';
import { EXIT } from '../../core/errors.js';
import { output } from '../context.js';
import { resourceLabel } from '../installer/progress.js';
import { totalChanges } from '../installer/engine.js';
import { openFromCommand, withStateOptions } from '../installer/command-kit.js';

export function driftCommand(): Command {
  return withStateOptions(
    new Command('drift').description('compare the cloud with the stack state without changing either; exit 4 when they differ'),
  ).action(async function (this: Command) {
    const { global, install } = await openFromCommand(this);
    const result = await install.engine.drift();
    const drifted = totalChanges(result.changes);
    output(global, { type: 'drift.result', install: install.spec.install, drifted, steps: result.steps }, () =>
      drifted === 0
        ? `no drift: ${install.spec.install} matches its state`
        : [`drift: ${drifted} resource(s) of ${install.spec.install} changed outside claw`, ...result.steps.map((s) => `  ${s.op}  ${resourceLabel(s.urn, s.type)}${s.diff?.length ? `  (${s.diff.join(', ')})` : ''}`), "fix: 'claw up' puts claw.yaml's state back; 'claw refresh' accepts the cloud's"].join('\n'),
    );
    if (drifted > 0) process.exitCode = EXIT.drift;
  });
}
