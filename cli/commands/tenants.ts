import { Command } from 'commander';
import { loadConfig } from '../../core/config/load.js';
import { output } from '../context.js';
import { globalOptions } from '../context.js';
import { addTenant, removeTenant } from '../installer/config-edit.js';
import { formatChanges, totalChanges } from '../installer/engine.js';
import { overridesFrom, sessionFrom, table, withStateOptions } from '../installer/command-kit.js';
import { apply, openInstall, preview } from '../installer/lifecycle.js';
import { confirm, confirmTyped } from '../installer/prompt.js';

interface AddOptions {
  name?: string;
  byok?: string;
  bucket?: string;
  prefix?: string;
  apply: boolean;
}

/** Apply claw.yaml as it now is, after a preview and a confirmation. */
async function applyConfig(command: Command): Promise<{ changes: string; applied: boolean }> {
  const global = globalOptions(command);
  const session = sessionFrom(global);
  const install = await openInstall(global.config, global.stateDir, overridesFrom(command));
  const planned = await preview(install, session);
  if (totalChanges(planned.changes) === 0) return { changes: 'no changes', applied: false };
  if (!(await confirm(session, `apply ${formatChanges(planned.changes)} to ${install.spec.install}?`))) return { changes: formatChanges(planned.changes), applied: false };
  const result = await apply(install, session, { expected: totalChanges(planned.changes) });
  return { changes: formatChanges(result.changes), applied: true };
}

export function tenantsCommand(): Command {
  const tenants = new Command('tenants').description('tenants of an aws/gcp install: edit claw.yaml (comments kept) and apply');

  withStateOptions(
    tenants
      .command('add <id>')
      .description('add a tenant with a managed key and bucket (or BYOK / BYOB) and apply')
      .option('--name <name>', 'display name (default: the id)')
      .option('--byok <ref>', 'bring your own key: a KMS key ARN (aws) or Cloud KMS key (gcp)')
      .option('--bucket <name>', 'bring your own bucket')
      .option('--prefix <prefix>', 'key prefix inside your bucket')
      .option('--no-apply', 'only edit claw.yaml'),
  ).action(async function (this: Command, id: string, opts: AddOptions) {
    const global = globalOptions(this);
    addTenant(global.config, {
      id,
      name: opts.name ?? id,
      key: opts.byok ? { type: 'byok', ref: opts.byok } : { type: 'managed' },
      bucket: opts.bucket ? { type: 'byob', name: opts.bucket, ...(opts.prefix ? { prefix: opts.prefix } : {}) } : { type: 'managed' },
    });
    const applied = opts.apply ? await applyConfig(this) : { changes: 'not applied (--no-apply)', applied: false };
    output(global, { type: 'tenants.added', tenant: id, ...applied }, () => `added tenant ${id} to ${global.config}; ${applied.applied ? `applied: ${applied.changes}` : applied.changes}`);
  });

  withStateOptions(tenants.command('list').description('tenants in claw.yaml and whether the install has them')).action(async function (this: Command) {
    const global = globalOptions(this);
    const config = loadConfig(global.config);
    let deployed: Set<string> | undefined;
    if (config.target !== 'local') {
      const install = await openInstall(global.config, global.stateDir, overridesFrom(this));
      const value = (await install.engine.outputs()).tenants?.value;
      deployed = new Set(Array.isArray(value) ? value.map(String) : value && typeof value === 'object' ? Object.keys(value) : []);
    }
    const rows = config.tenants.map((t) => ({
      id: t.id,
      name: t.name,
      key: t.key.type === 'byok' ? `byok ${t.key.ref}` : 'managed',
      bucket: t.bucket.type === 'byob' ? `byob ${t.bucket.name}` : 'managed',
      deployed: deployed ? deployed.has(t.id) : undefined,
    }));
    output(global, { type: 'tenants.list', tenants: rows }, () =>
      rows.length === 0 ? 'no tenants' : table(['ID', 'NAME', 'KEY', 'BUCKET', 'DEPLOYED'], rows.map((r) => [r.id, r.name, r.key, r.bucket, r.deployed === undefined ? '-' : r.deployed ? 'yes' : 'pending'])),
    );
  });

  withStateOptions(
    tenants
      .command('remove <id>')
      .description("remove a tenant and apply; its key and bucket are kept (data retained) unless --shred")
      .option('--shred', 'also destroy the tenant key (crypto-shredding: its data becomes unreadable)')
      .option('--confirm <id>', 'with --shred: the tenant id, typed ahead (for CI)')
      .option('--no-apply', 'only edit claw.yaml'),
  ).action(async function (this: Command, id: string, opts: { shred?: boolean; confirm?: string; apply: boolean }) {
    const global = globalOptions(this);
    if (opts.shred) await confirmTyped(sessionFrom(global), id, `shred tenant ${id} (its data becomes unreadable)`, opts.confirm);
    removeTenant(global.config, id);
    const applied = opts.apply ? await applyConfig(this) : { changes: 'not applied (--no-apply)', applied: false };
    const kept = opts.shred ? 'key and data shredded with the stack' : 'key and bucket kept (retained; data readable by you, not by claw)';
    output(global, { type: 'tenants.removed', tenant: id, shred: Boolean(opts.shred), ...applied }, () => `removed tenant ${id}: ${kept}; ${applied.applied ? `applied: ${applied.changes}` : applied.changes}`);
  });

  return tenants;
}
