import { Command } from 'commander';
import { ClawError } from '../../core/errors.js';
import { output } from '../context.js';
import { formatChanges } from '../installer/engine.js';
import { openFromCommand, withStateOptions } from '../installer/command-kit.js';
import { applyOperation } from '../installer/lifecycle.js';
import { confirmTyped } from '../installer/prompt.js';

/** Tenants whose data the install holds: in claw.yaml, or still in the stack's outputs. */
export function tenantsHoldingData(configTenants: string[], outputs: Record<string, { value: unknown }>): string[] {
  const fromOutputs = outputs.tenants?.value;
  const ids = new Set(configTenants);
  if (Array.isArray(fromOutputs)) fromOutputs.forEach((t) => ids.add(String(t)));
  else if (fromOutputs && typeof fromOutputs === 'object') Object.keys(fromOutputs).forEach((t) => ids.add(t));
  return [...ids].sort();
}

export function destroyCommand(): Command {
  return withStateOptions(
    new Command('destroy')
      .description('delete every resource of an aws/gcp install (typed confirmation; refuses while tenants hold data unless --shred)')
      .option('--confirm <install>', 'the install name, typed ahead (for CI)')
      .option('--shred', "also destroy tenant data: keys and buckets go with the stack, and what they protected is unreadable"),
  ).action(async function (this: Command, opts: { confirm?: string; shred?: boolean }) {
    const { global, session, install } = await openFromCommand(this);
    const tenants = tenantsHoldingData(install.config.tenants.map((t) => t.id), await install.engine.outputs());
    if (tenants.length > 0 && !opts.shred) {
      throw new ClawError('TENANTS_HOLD_DATA', `${install.spec.install} still holds data of ${tenants.length} tenant(s): ${tenants.join(', ')}`, {
        hint: "remove them first ('claw tenants remove <id>' keeps their key and bucket), or pass --shred to destroy their data with the install",
        details: { tenants },
      });
    }
    await confirmTyped(session, install.spec.install, opts.shred ? `destroy ${install.spec.install} and shred the data of ${tenants.length} tenant(s)` : `destroy ${install.spec.install}`, opts.confirm);
    const summary = await install.engine.summary();
    const result = await applyOperation(install, session, 'destroy', summary.resourceCount, (onEvent) => install.engine.destroy({ onEvent }));
    output(global, { type: 'destroy.result', install: install.spec.install, changes: result.changes, shredded: opts.shred ? tenants : [] }, () =>
      `destroyed ${install.spec.install}: ${formatChanges(result.changes)}${opts.shred && tenants.length ? ` (tenant data shredded: ${tenants.join(', ')})` : ''}`,
    );
  });
}
