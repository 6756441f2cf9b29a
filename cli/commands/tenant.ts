/**
 * `claw tenant`: tenants of the local target, and their data protection.
 *
 * - `create <id>`: add to claw.yaml and register (key, worker) if the platform runs.
 * - `rotate-key <id> [--reencrypt]`: a new root key version; new data keys use it from
 *   now on and old data stays readable. `--reencrypt` also rewrites the tenant's blobs
 *   (directory store) and secrets (the metadata DB secret store) under the new key.
 * - `shred <id>`: typed confirmation, then the root key is destroyed and the command
 *   proves it: one of each kind of the tenant's data (blob, secret, stored run message)
 *   now fails with TENANT_KEY_DESTROYED, and other tenants' data still decrypts.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { loadConfig } from '../../core/config/load.js';
import { assertTenantId } from '../../core/config/schema.js';
import { ClawError, isClawError } from '../../core/errors.js';
import { LocalKeyringBackend, localTenantKeyring, type EnvelopeKeyring } from '../../runtime/crypto/index.js';
import { openDirectoryBlobStore, reencryptBlobs, type DirectoryBlobStore } from '../../runtime/blobs/index.js';
import { openSecretStore, type ClosableSecretStore } from '../../runtime/secrets/index.js';
import { MetadataStore } from '../../runtime/store/metadata.js';
import { addTenant } from '../installer/config-edit.js';
import { confirmTyped } from '../installer/prompt.js';
import { openPlatform, registerTenant, reloadWorker } from '../../stacks/local/platform.js';
import { globalOptions, output, type GlobalOptions } from '../context.js';
import { runningPid } from '../../stacks/local/supervisor.js';
import { codecTokenCommand } from './codec-token.js';
import { loadInstallConfig, metadataStoreUrl } from './platform-access.js';
import { signedInApi } from '../api-client.js';


export function tenantCommand(): Command {
  const tenant = new Command('tenant').description('tenants of the local target');
  tenant
    .command('create <id>')
    .description('add a tenant to claw.yaml (comments kept) and, if the platform is up, register it (its key, its Worker)')
    .option('--name <name>', 'display name (default: the id)')
    .action(async function (this: Command, id: string, opts: { name?: string }) {
      const global = globalOptions(this);
      assertTenantId(id);
      let config = loadConfig(global.config);
      const existing = config.tenants.find((t) => t.id === id);
      if (!existing) config = addTenant(global.config, { id, name: opts.name ?? id });
      const entry = config.tenants.find((t) => t.id === id)!;
      // Registration needs the running platform; otherwise the next 'claw up' does it.
      const running = config.target === 'local' && runningPid(global.stateDir, 'store') !== undefined && runningPid(global.stateDir, 'worker') !== undefined;
      if (running) {
        const session = await openPlatform(global.stateDir, config);
        try {
          await registerTenant(session, entry);
        } finally {
          await session.close();
        }
        await reloadWorker(config);
      }
      output(global, { type: 'tenant.created', id, addedToConfig: !existing, registered: running }, () =>
        `${existing ? `tenant ${id} is already in ${global.config}` : `added tenant ${id} to ${global.config}`}; ${running ? 'registered (key created, worker polling claw-tenant-' + id + ')' : "the platform is not running: 'claw up' registers it"}`,
      );
    });
  tenant
    .command('rotate-key <id>')
    .description('new root key version for the tenant: new data keys use it from now on; old data stays readable')
    .option('--reencrypt', "also rewrite the tenant's blobs and secrets under the new key")
    .option('--database-url <url>', 'metadata store holding secrets and runs (default: $DATABASE_URL, or the running local platform)')
    .option('--api-url <url>', 'the admin API, when signed in (default: $CLAW_API_URL, or the local gateway)')
    .action(async function (this: Command, id: string, opts: { reencrypt?: boolean; databaseUrl?: string; apiUrl?: string }) {
      const global = globalOptions(this);
      assertTenantId(id);
      // Signed in (claw login) or with CLAW_API_KEY: through the admin API (rotateKey, recorded).
      const api = await signedInApi(global.stateDir, () => loadInstallConfig(global), opts.apiUrl);
      if (api) {
        if (opts.reencrypt) throw new ClawError('USAGE', "--reencrypt rewrites the platform's stored data directly, as its operator: run it without signing in", { hint: "claw logout (or unset CLAW_API_KEY), or rotate without --reencrypt" });
        const key = await api.call<{ state: string; versions?: number[] }>('POST', `/api/v1/tenants/${id}/key/rotate`);
        const result: RotationResult = { tenant: id, ...(key.versions?.length ? { keyVersion: Math.max(...key.versions) } : {}) };
        return output(global, { type: 'tenant.key.rotated', ...result }, () => renderRotation(result));
      }
      const result = await rotateTenantKey(global, id, opts);
      output(global, { type: 'tenant.key.rotated', ...result }, () => renderRotation(result));
    });

  tenant
    .command('shred <id>')
    .description("destroy the tenant's root key (crypto-shredding: all its data becomes unreadable, permanently) and prove it")
    .option('--confirm <id>', 'the tenant id, typed ahead (needed with --non-interactive or without a terminal)')
    .option('--database-url <url>', 'metadata store holding secrets and runs (default: $DATABASE_URL, or the running local platform)')
    .option('--api-url <url>', 'the admin API, when signed in (default: $CLAW_API_URL, or the local gateway)')
    .action(async function (this: Command, id: string, opts: { confirm?: string; databaseUrl?: string; apiUrl?: string }) {
      const global = globalOptions(this);
      assertTenantId(id);
      // Signed in: through the admin API (shredKey, recorded); the proof of unreadability is the
      // operator's (it decrypts one of each kind of data directly), so it is not repeated here.
      const api = await signedInApi(global.stateDir, () => loadInstallConfig(global), opts.apiUrl);
      if (api) {
        await confirmTyped(global, id, `shred tenant ${id} (all its data becomes unreadable, permanently)`, opts.confirm, 'tenant id');
        const key = await api.call<{ state: string }>('POST', `/api/v1/tenants/${id}/key/shred`, { confirm: id });
        return output(global, { type: 'tenant.shredded', tenant: id, state: key.state, via: 'admin API' }, () => `destroyed the key of tenant ${id} through the admin API (state: ${key.state}); its data is unreadable from now on`);
      }
      const result = await shredTenant(global, id, opts);
      output(global, { type: 'tenant.shredded', ...result }, () => renderShred(result));
    });
  tenant.addCommand(codecTokenCommand());
  return tenant;
}

// ------------------------------------------------------------------ tenant data

/** The tenant's data stores on the local target; secrets and runs only when the metadata store is known. */
interface TenantData {
  keyring: EnvelopeKeyring;
  blobs: DirectoryBlobStore;
  secrets?: ClosableSecretStore;
  runs?: MetadataStore;
  /** Why secrets and runs are not covered, when they are not. */
  noStore?: string;
  close(): Promise<void>;
}

async function openTenantData(global: GlobalOptions, databaseUrlOption: string | undefined, keyring = localTenantKeyring(global.stateDir)): Promise<TenantData> {
  const blobs = openDirectoryBlobStore(global.stateDir, keyring);
  const url = metadataStoreUrl(global, databaseUrlOption);
  if (!url) {
    const noStore = "the metadata store address is unknown: pass --database-url, set DATABASE_URL, or start the platform ('claw up')";
    return { keyring, blobs, noStore, close: async () => {} };
  }
  const runs = await MetadataStore.connect(url, { keyring, max: 2 });
  let secrets: ClosableSecretStore;
  try {
    secrets = await openSecretStore({ databaseUrl: url, keyring });
  } catch (err) {
    await runs.close();
    throw err;
  }
  return { keyring, blobs, secrets, runs, close: async () => void (await Promise.allSettled([secrets.close(), runs.close()])) };
}

function keyVersions(keyring: EnvelopeKeyring, tenantId: string): number[] | undefined {
  return keyring.backend instanceof LocalKeyringBackend ? keyring.backend.versions(tenantId) : undefined;
}

/** What `--reencrypt` does not rewrite (still readable under the older key versions, which rotation keeps). */
const NOT_REENCRYPTED = ['trace content in the lake', 'Temporal payloads in workflow history'];

interface RotationResult {
  tenant: string;
  keyVersion?: number;
  reencrypted?: { blobs: number; secrets: number | null; runs: number | null; secretsSkipped?: string; notCovered: string[] };
}

async function rotateTenantKey(global: GlobalOptions, tenantId: string, opts: { reencrypt?: boolean; databaseUrl?: string }): Promise<RotationResult> {
  const keyring = localTenantKeyring(global.stateDir);
  // Fails with TENANT_KEY_MISSING / _DESTROYED before anything changes.
  await keyring.forTenant(tenantId);
  const data = opts.reencrypt ? await openTenantData(global, opts.databaseUrl, keyring) : undefined;
  try {
    await keyring.rotate(tenantId);
    const versions = keyVersions(keyring, tenantId);
    const result: RotationResult = { tenant: tenantId, ...(versions ? { keyVersion: versions.at(-1)! } : {}) };
    if (data) {
      const blobs = await reencryptBlobs(data.blobs, tenantId);
      const secrets = data.secrets ? await data.secrets.reencrypt(tenantId) : null;
      const runs = data.runs ? await data.runs.reencryptRuns(tenantId) : null;
      result.reencrypted = { blobs: blobs.length, secrets, runs, ...(data.noStore ? { secretsSkipped: data.noStore } : {}), notCovered: NOT_REENCRYPTED };
    }
    return result;
  } finally {
    await data?.close();
  }
}

function renderRotation(r: RotationResult): string {
  const lines = [`rotated the key of tenant ${r.tenant}${r.keyVersion ? ` (now version ${r.keyVersion})` : ''}: new data keys use it; existing data stays readable`];
  if (r.reencrypted) {
    const stored = r.reencrypted.secrets === null ? '' : `, ${r.reencrypted.secrets} secret(s) and ${r.reencrypted.runs ?? 0} run record(s)`;
    lines.push(`re-encrypted ${r.reencrypted.blobs} blob(s)${stored} under the new key`);
    if (r.reencrypted.secretsSkipped) lines.push(`secrets and run records not re-encrypted: ${r.reencrypted.secretsSkipped}`);
    lines.push(`not re-encrypted (still readable under the older versions): ${r.reencrypted.notCovered.join('; ')}`);
  }
  return lines.join('\n');
}

type Kind = 'blob' | 'secret' | 'run';

/** One piece of a tenant's data, named without its content. */
interface Sample {
  kind: Kind;
  /** The blob key, the secret name, or the run id. */
  ref: string;
}

/** One of each kind of the tenant's data that exists. */
async function sampleTenant(data: TenantData, tenantId: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  const blob = (await data.blobs.list(tenantId))[0];
  if (blob !== undefined) samples.push({ kind: 'blob', ref: blob });
  const secret = data.secrets ? (await data.secrets.list(tenantId))[0] : undefined;
  if (secret !== undefined) samples.push({ kind: 'secret', ref: secret });
  const run = data.runs ? (await data.runs.listRuns({ tenantId, limit: 1 }))[0] : undefined;
  if (run) samples.push({ kind: 'run', ref: run.id });
  return samples;
}

/** Decrypt a sample and drop the plaintext at once; the error code when it cannot be decrypted. */
async function tryDecrypt(data: TenantData, tenantId: string, sample: Sample): Promise<{ ok: true } | { ok: false; code: string }> {
  try {
    if (sample.kind === 'blob') {
      // get() authenticates and decrypts the first frame; that is enough to prove the key works.
      const body = (await data.blobs.get(tenantId, sample.ref))[Symbol.asyncIterator]();
      await body.next();
      await body.return?.();
    } else if (sample.kind === 'secret') {
      await data.secrets!.get(tenantId, sample.ref);
    } else {
      await data.runs!.runContent({ id: sample.ref, tenantId });
    }
    return { ok: true };
  } catch (err) {
    return { ok: false, code: isClawError(err) ? err.code : 'INTERNAL' };
  }
}

/** Most other tenants checked after a shred (enough to show isolation, bounded in time). */
const MAX_OTHER_TENANTS = 10;

interface ShredResult {
  tenant: string;
  alreadyShredded: boolean;
  /** Each kind of the tenant's data found, and what decrypting it gives now (TENANT_KEY_DESTROYED). */
  proof: (Sample & { result: string })[];
  kindsAbsent: Kind[];
  /** Why secrets and runs were not checked, when they were not. */
  notChecked?: string;
  others: { tenant: string; checked: (Sample & { result: 'ok' })[] }[];
}

async function shredTenant(global: GlobalOptions, tenantId: string, opts: { confirm?: string; databaseUrl?: string }): Promise<ShredResult> {
  const keyring = localTenantKeyring(global.stateDir);
  let alreadyShredded = false;
  try {
    await keyring.forTenant(tenantId);
  } catch (err) {
    if (!isClawError(err) || err.code !== 'TENANT_KEY_DESTROYED') throw err; // TENANT_KEY_MISSING: nothing to shred
    alreadyShredded = true;
  }
  await confirmTyped(global, tenantId, `shred tenant ${tenantId} (all its data becomes unreadable, permanently)`, opts.confirm, 'tenant id');

  const before = await openTenantData(global, opts.databaseUrl, keyring);
  let samples: Sample[];
  const others: { tenant: string; samples: Sample[] }[] = [];
  try {
    samples = await sampleTenant(before, tenantId);
    const candidates = new Set<string>(await before.blobs.tenants());
    const secretTenants = before.secrets && 'tenants' in before.secrets ? await (before.secrets as { tenants(): Promise<string[]> }).tenants() : [];
    for (const t of secretTenants) candidates.add(t);
    for (const t of (await before.runs?.listTenants()) ?? []) candidates.add(t.id);
    candidates.delete(tenantId);
    for (const other of [...candidates].sort()) {
      if (others.length >= MAX_OTHER_TENANTS) break;
      try {
        await keyring.forTenant(other); // tenants without a key here (or shredded) are not ours to check
      } catch {
        continue;
      }
      const found = await sampleTenant(before, other);
      // Only data that decrypts now can show it still decrypts after.
      const readable: Sample[] = [];
      for (const sample of found) if ((await tryDecrypt(before, other, sample)).ok) readable.push(sample);
      if (readable.length > 0) others.push({ tenant: other, samples: readable });
    }
    await keyring.destroy(tenantId);
  } finally {
    await before.close();
  }

  // Prove it with a fresh keyring (nothing cached), as any other process would see it.
  const after = await openTenantData(global, opts.databaseUrl);
  try {
    const proof: ShredResult['proof'] = [];
    for (const sample of samples) {
      const outcome = await tryDecrypt(after, tenantId, sample);
      proof.push({ ...sample, result: outcome.ok ? 'DECRYPTED' : outcome.code });
    }
    const checked: ShredResult['others'] = [];
    const failures: string[] = proof.filter((p) => p.result !== 'TENANT_KEY_DESTROYED').map((p) => `${p.kind} '${p.ref}' of ${tenantId}: ${p.result}`);
    for (const other of others) {
      const row: ShredResult['others'][number] = { tenant: other.tenant, checked: [] };
      for (const sample of other.samples) {
        const outcome = await tryDecrypt(after, other.tenant, sample);
        if (outcome.ok) row.checked.push({ ...sample, result: 'ok' });
        else failures.push(`${sample.kind} '${sample.ref}' of other tenant ${other.tenant}: ${outcome.code}`);
      }
      checked.push(row);
    }
    if (failures.length > 0) {
      throw new ClawError('SHRED_NOT_VERIFIED', `the key of tenant '${tenantId}' was destroyed, but the check found: ${failures.join('; ')}`, {
        hint: 'this should never happen; keep the state dir as it is and report it (CLAW_DEBUG=1 shows more)',
        details: { tenant: tenantId, failures },
      });
    }
    const present = new Set(samples.map((s) => s.kind));
    return {
      tenant: tenantId,
      alreadyShredded,
      proof,
      // Kinds looked for and not found (secrets and runs are only looked for when the store is known).
      kindsAbsent: (after.noStore ? (['blob'] as const) : (['blob', 'secret', 'run'] as const)).filter((k) => !present.has(k)),
      ...(after.noStore ? { notChecked: `secrets and runs: ${after.noStore}` } : {}),
      others: checked,
    };
  } finally {
    await after.close();
  }
}

const KIND_NAMES: Record<Kind, string> = { blob: 'blob', secret: 'secret', run: 'stored run message' };

function renderShred(r: ShredResult): string {
  const lines = [`${r.alreadyShredded ? 'tenant was already shredded; checked again' : 'shredded tenant'} ${r.tenant}: its root key is destroyed`];
  for (const p of r.proof) lines.push(`  ${KIND_NAMES[p.kind]} ${p.ref}: ${p.result === 'TENANT_KEY_DESTROYED' ? 'unreadable now (TENANT_KEY_DESTROYED)' : p.result}`);
  if (r.kindsAbsent.length > 0) lines.push(`  no ${r.kindsAbsent.map((k) => KIND_NAMES[k]).join(' or ')} of this tenant was found (nothing to check)`);
  if (r.notChecked) lines.push(`  not checked: ${r.notChecked}`);
  for (const o of r.others) lines.push(`  other tenant ${o.tenant}: ${o.checked.map((c) => `${KIND_NAMES[c.kind]} ${c.ref}`).join(', ')} ${o.checked.length === 1 ? 'still decrypts' : 'still decrypt'}`);
  if (r.others.length === 0) lines.push('  no other tenant with data to check');
  lines.push('the ciphertext is left in place (unreadable); removing it is optional');
  lines.push(`remove the tenant from claw.yaml: 'claw up' leaves a shredded tenant out and warns until then`);
  return lines.join('\n');
}
