import { Command, Option } from 'commander';
import { loadConfig } from '../../core/config/load.js';
import { ClawError } from '../../core/errors.js';
import { globalOptions, output } from '../context.js';
import { formatChanges } from '../installer/engine.js';
import { openFromCommand, withStateOptions } from '../installer/command-kit.js';
import { planExitCode, planToFile } from '../installer/lifecycle.js';
import { offlineOutput, renderOffline, withTarget } from '../installer/offline.js';
import { resourceLabel } from '../installer/progress.js';
import { loadPlanOffline } from '../installer/programs.js';

interface PlanOptions {
  out?: string;
  detailedExitcode?: boolean;
  offline?: boolean;
  target?: 'aws' | 'gcp';
  details?: boolean;
}

export function planCommand(): Command {
  return withStateOptions(
    new Command('plan')
      .description('preview what claw up would change (aws/gcp); --offline synthesizes without any cloud')
      .option('--out <file>', "save the plan; 'claw up --plan <file>' applies exactly it")
      .option('--detailed-exitcode', 'exit 2 when there are changes, 0 when none (for CI)')
      .option('--offline', 'synthesize with the Pulumi mock runtime: no cloud, no credentials, no Pulumi CLI')
      .addOption(new Option('--target <target>', 'with --offline: plan this target (claw.yaml needs its section)').choices(['aws', 'gcp']))
      .option('--details', 'with --offline: every security-relevant input, not the first few'),
  ).action(async function (this: Command, opts: PlanOptions) {
    if (opts.offline) return planOffline(this, opts);
    if (opts.target) throw new ClawError('PLAN_TARGET_ONLY_OFFLINE', '--target applies to --offline plans', { hint: "a live plan uses claw.yaml's target" });
    const { global, session, install } = await openFromCommand(this);
    const { preview, plan } = await planToFile(install, session, opts.out);
    const changes = preview.steps.filter((s) => s.op !== 'same');
    output(global, { type: 'plan.result', install: install.spec.install, engine: install.engine.description, changes: preview.changes, steps: changes, out: opts.out }, () =>
      [
        `plan for ${install.spec.install} (${install.spec.target}, engine: ${install.engine.description}): ${formatChanges(preview.changes)}`,
        ...changes.map((s) => `  ${s.op.padEnd(7)} ${resourceLabel(s.urn, s.type)}${s.diff?.length ? `  [${s.diff.join(', ')}]` : ''}`),
        ...(plan ? [`saved to ${opts.out}; apply exactly this with: claw up --plan ${opts.out}`] : []),
      ].join('\n'),
    );
    process.exitCode = planExitCode(preview, Boolean(opts.detailedExitcode));
  });
}

async function planOffline(command: Command, opts: PlanOptions): Promise<void> {
  const global = globalOptions(command);
  if (opts.out) throw new ClawError('PLAN_OFFLINE_NO_OUT', 'an offline synthesis cannot be saved as an applicable plan', { hint: 'drop --out, or run a live plan' });
  const { config, placeholders } = withTarget(loadConfig(global.config), opts.target);
  const planOfflineFn = await loadPlanOffline();
  const out = offlineOutput(config, await planOfflineFn(config), placeholders);
  output(global, out, () => renderOffline(out, { details: opts.details }));
  if (!out.guardrails.passed) {
    throw new ClawError('GUARDRAILS_FAILED', `${out.guardrails.mandatory} mandatory guardrail violation(s) in the synthesized ${out.target} stack`, {
      hint: 'see the verdicts above; fix claw.yaml (or the stack) so every mandatory rule passes',
    });
  }
}
