import { Command } from 'commander';
import { ClawError } from '../../core/errors.js';
import { output } from '../context.js';
import { formatChanges, totalChanges } from '../installer/engine.js';
import { openFromCommand, overridesFrom, withStateOptions } from '../installer/command-kit.js';
import { setTenantOnRemove } from '../installer/config-edit.js';
import { apply, applyOperation, openInstall, preview } from '../installer/lifecycle.js';
import { refuseByokShred, shredFate } from './tenants.js';
import { confirmTyped } from '../installer/prompt.js';

/**
 * Tenants whose data the install holds: in claw.yaml, or still in the stack's outputs. None
 * when the stack says its tenants' data lives outside it (stacks/cluster.ts: the keys and
 * buckets are the cluster file's, not the stack's, and destroying it touches none of them).
 */
export function tenantsHoldingData(configTenants: string[], outputs: Record<string, { value: unknown }>): string[] {
  if (outputs.tenantData?.value === 'outside-this-stack') return [];
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
      .option('--shred', "also delete the tenants' keys with the stack (crypto-shredding: buckets and traces stay, unreadable); not for BYOK keys"),
  ).action(async function (this: Command, opts: { confirm?: string; shred?: boolean }) {
    const opened = await openFromCommand(this);
    const { global, session } = opened;
    let install = opened.install;
    const tenants = tenantsHoldingData(install.config.tenants.map((t) => t.id), await install.engine.outputs());
    if (tenants.length > 0 && !opts.shred) {
      throw new ClawError('TENANTS_HOLD_DATA', `${install.spec.install} still holds data of ${tenants.length} tenant(s): ${tenants.join(', ')}`, {
        hint: "remove them first ('claw tenants remove <id>' keeps their key, bucket and traces in your account), or pass --shred to delete their keys with the install",
        details: { tenants },
      });
    }
    if (opts.shred) refuseByokShred(install.config.tenants);
    await confirmTyped(session, install.spec.install, opts.shred ? `destroy ${install.spec.install} and shred the data of ${tenants.length} tenant(s)` : `destroy ${install.spec.install}`, opts.confirm);
    let marked: { tenants: string[]; changes: string } | undefined;
    if (opts.shred) {
      // Tenant keys are kept when their resources leave the stack unless marked onRemove: shred:
      // mark them and apply first, so the destroy deletes them.
      const unmarked = install.config.tenants.filter((t) => t.onRemove !== 'shred');
      if (unmarked.length > 0) {
        for (const t of unmarked) setTenantOnRemove(global.config, t.id, 'shred');
        install = await openInstall(global.config, global.stateDir, overridesFrom(this));
        const planned = await preview(install, session);
        const result = await apply(install, session, { expected: totalChanges(planned.changes) });
        marked = { tenants: unmarked.map((t) => t.id), changes: formatChanges(result.changes) };
      }
    }
    const summary = await install.engine.summary();
    const result = await applyOperation(install, session, 'destroy', summary.resourceCount, (onEvent) => install.engine.destroy({ onEvent }));
    output(global, { type: 'destroy.result', install: install.spec.install, changes: result.changes, shredded: opts.shred ? tenants : [], ...(marked ? { marked } : {}) }, () =>
      `${marked ? `marked the keys of ${marked.tenants.join(', ')} to go with the stack (${marked.changes}); ` : ''}destroyed ${install.spec.install}: ${formatChanges(result.changes)}${opts.shred && tenants.length ? `; tenants ${tenants.join(', ')}: ${shredFate(install.spec.target)}` : ''}`,
    );
  });
}
