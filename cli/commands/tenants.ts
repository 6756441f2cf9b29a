import { Command } from 'commander';
import { loadConfig } from '../../core/config/load.js';
import { output } from '../context.js';
import { globalOptions } from '../context.js';
import type { Tenant } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import { addTenant, removeTenant, setTenantOnRemove, unknownTenant } from '../installer/config-edit.js';
import { formatChanges, totalChanges } from '../installer/engine.js';
import { overridesFrom, sessionFrom, table, withStateOptions } from '../installer/command-kit.js';
import { apply, openInstall, preview } from '../installer/lifecycle.js';
import { cloudTarget } from '../installer/workspace.js';
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

/** A customer's own key is theirs to delete: claw only retires its grants on it. */
export function refuseByokShred(tenants: Tenant[]): void {
  const byok = tenants.filter((t) => t.key.type === 'byok');
  if (byok.length === 0) return;
  throw new ClawError('TENANT_SHRED_BYOK', `${byok.map((t) => `tenant '${t.id}'`).join(', ')} ${byok.length === 1 ? 'brings its own key' : 'bring their own keys'}: claw does not delete a customer's key`, {
    hint: "remove without --shred (claw's grants on the key are retired), then schedule the key's deletion in your own account to shred",
    details: { tenants: byok.map((t) => t.id) },
  });
}

/** What --shred did to a managed key, as the cloud does it. */
export function shredFate(target: string): string {
  return target === 'gcp'
    ? 'key deleted with the stack (Cloud KMS destroys its versions after its scheduled-destruction period); bucket and traces kept, unreadable'
    : "key deleted with the stack (KMS deletes it after its 30-day waiting period; 'aws kms cancel-key-deletion' undoes it until then); bucket kept, unreadable";
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
    cloudTarget(loadConfig(global.config), "'claw tenants add' (for the local target: 'claw tenant create')");
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
      .description("remove a tenant and apply; its key, bucket and traces stay in your account (out of the stack) unless --shred")
      .option('--shred', "also delete the tenant's key (crypto-shredding: its data becomes unreadable); not for BYOK keys")
      .option('--confirm <id>', 'with --shred: the tenant id, typed ahead (for CI)')
      .option('--no-apply', 'only edit claw.yaml (with --shred: only mark the tenant onRemove: shred)'),
  ).action(async function (this: Command, id: string, opts: { shred?: boolean; confirm?: string; apply: boolean }) {
    const global = globalOptions(this);
    const config = loadConfig(global.config);
    // Before any edit: on the local target this command would change claw.yaml and then fail.
    cloudTarget(config, "'claw tenants remove'");
    const tenant = config.tenants.find((t) => t.id === id);
    if (!tenant) throw unknownTenant(id, global.config);
    if (!opts.shred && tenant.onRemove === 'shred') {
      throw new ClawError('TENANT_MARKED_FOR_SHRED', `tenant '${id}' is marked onRemove: shred in ${global.config}: removing it deletes its key`, {
        hint: `pass --shred to go on, or set onRemove: retain for '${id}' and apply ('claw up') to keep its key`,
      });
    }
    if (opts.shred) {
      refuseByokShred([tenant]);
      await confirmTyped(sessionFrom(global), id, `shred tenant ${id} (its key is deleted: its data becomes unreadable)`, opts.confirm);
      // 1. The key learns it goes with the tenant (retainOnDelete off, tagged), in the stack's state.
      if (tenant.onRemove !== 'shred') {
        setTenantOnRemove(global.config, id, 'shred');
        if (!opts.apply) {
          output(global, { type: 'tenants.marked', tenant: id, onRemove: 'shred' }, () => `marked tenant ${id} onRemove: shred in ${global.config}; apply ('claw up'), then 'claw tenants remove ${id} --shred'`);
          return;
        }
        const marked = await applyConfig(this);
        if (!marked.applied && marked.changes !== 'no changes') {
          setTenantOnRemove(global.config, id, 'retain');
          output(global, { type: 'tenants.removed', tenant: id, shred: false, changes: marked.changes, applied: false }, () => `tenant ${id} not removed: the apply that marks its key for deletion was declined`);
          return;
        }
      }
    }
    // 2. The tenant leaves the stack: its bucket and traces stay; its key goes only if marked.
    removeTenant(global.config, id);
    const applied = opts.apply ? await applyConfig(this) : { changes: 'not applied (--no-apply)', applied: false };
    const fate = opts.shred ? shredFate(config.target) : 'key, bucket and traces kept in your account, out of the stack (readable by you, not by claw)';
    output(global, { type: 'tenants.removed', tenant: id, shred: Boolean(opts.shred), ...applied }, () => `removed tenant ${id}: ${fate}; ${applied.applied ? `applied: ${applied.changes}` : applied.changes}`);
  });

  return tenants;
}
