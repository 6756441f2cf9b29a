/**
 * `claw audit list|verify|export --tenant <t>`: the tenant's audit log (runtime/audit).
 *   list     the entries, newest last (who, what, decision, determining policies)
 *   verify   recompute the hash chain; exit 1 naming the first entry removed, reordered,
 *            inserted or edited. `--head <seq>:<hash>` (from an earlier export) also catches
 *            entries cut from the end.
 *   export   JSON Lines for a SIEM (entries with their hashes, then the head), or OTLP/JSON
 *            logs (`--format otlp`); `verify --in <file>` checks either file with no
 *            database or key.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ClawError, EXIT } from '../../core/errors.js';
import { assertTenantId } from '../../core/config/schema.js';
import { localTenantKeyring } from '../../runtime/crypto/index.js';
import { AuditLog, verifyChain, type AuditEntry, type AuditEvent, type AuditHead, type VerifyResult } from '../../runtime/audit/log.js';
import { openDirectoryBlobStore } from '../../runtime/blobs/index.js';
import { compareWithStore, verifyArchive } from '../../runtime/audit/archive.js';
import { signedInApi, type SignedInApi } from '../api-client.js';
import { loadInstallConfig } from './platform-access.js';
import { exportLines, otlpExport, parseExport } from '../../runtime/audit/export.js';
import { globalOptions, output, type GlobalOptions } from '../context.js';
import { requireMetadataStoreUrl } from './platform-access.js';

function parseHead(text: string): AuditHead {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(text);
  if (!m) throw new ClawError('USAGE', `--head '${text}' is not <seq>:<sha256 hex>`, { hint: "use the head line of an earlier 'claw audit export' (or 'claw audit verify' output)" });
  return { seq: Number(m[1]), hash: m[2]! };
}

async function withLog<T>(global: GlobalOptions, databaseUrl: string | undefined, run: (log: AuditLog) => Promise<T>): Promise<T> {
  const log = await AuditLog.open(requireMetadataStoreUrl(global, databaseUrl), localTenantKeyring(global.stateDir));
  try {
    return await run(log);
  } finally {
    await log.close();
  }
}

/**
 * Record an admin action in the tenant's audit log of the platform this command acts on.
 * Only for commands that act directly, as the operator of this machine's platform (not signed
 * in): the actor is asserted (`--by`, CLAW_USER or the OS user name), not authenticated.
 * Signed in (`claw login`, or CLAW_API_KEY), commands go through the admin API, which
 * records the identity its credentials prove.
 */
export async function recordAudit(global: GlobalOptions, tenantId: string, event: AuditEvent, databaseUrl?: string): Promise<void> {
  await withLog(global, databaseUrl, (log) => log.append(tenantId, event));
}

function reportVerify(global: GlobalOptions, tenantId: string, result: VerifyResult): void {
  output(global, { type: 'audit.verify', tenant: tenantId, ...result }, () =>
    result.ok ? `audit log of ${tenantId}: ${result.entries} entries, chain intact; head ${result.head.seq}:${result.head.hash}` : `audit log of ${tenantId}: BROKEN at entry ${result.seq} (${result.code}): ${result.message}`,
  );
  if (!result.ok) process.exitCode = EXIT.error;
}

/**
 * The archived log in the tenant's storage (runtime/audit/archive.ts), on the local target:
 * its chain on its own, then whether the store's log still holds the same entries.
 */
async function verifyArchived(global: GlobalOptions, tenantId: string, databaseUrl?: string): Promise<void> {
  const keyring = localTenantKeyring(global.stateDir);
  const blobs = openDirectoryBlobStore(global.stateDir, keyring);
  const result = await verifyArchive(blobs, tenantId);
  const disagreement = result.ok ? await withLog(global, databaseUrl, (log) => compareWithStore(log, blobs, tenantId)) : undefined;
  output(global, { type: 'audit.verify.archive', tenant: tenantId, ...result, ...(disagreement ? { storeDisagrees: disagreement } : {}) }, () =>
    !result.ok
      ? `archived audit log of ${tenantId}: BROKEN at entry ${result.seq} (${result.code}): ${result.message}`
      : disagreement
        ? `archived audit log of ${tenantId}: ${result.entries} entries, chain intact; the store's log DISAGREES at entry ${disagreement.seq} (rewritten after it was archived)`
        : `archived audit log of ${tenantId}: ${result.entries} entries in ${result.segments} segment(s), chain intact, the store agrees; head ${result.head.seq}:${result.head.hash}`,
  );
  if (!result.ok || disagreement) process.exitCode = EXIT.error;
}

function renderEntries(tenantId: string, rows: { seq: number; entry?: AuditEntry; unreadable?: string }[]): string {
  if (rows.length === 0) return `no audit entries for tenant ${tenantId}`;
  return rows
    .map((r) => (r.entry ? `${r.seq}\t${r.entry.at}\t${r.entry.actor.kind}:${r.entry.actor.id}\t${r.entry.action}\t${r.entry.resource}\t${r.entry.decision}${r.entry.determiningPolicies.length ? `\t${r.entry.determiningPolicies.join(',')}` : ''}` : `${r.seq}\t(unreadable: ${r.unreadable})`))
    .join('\n');
}

/** Signed in (or CLAW_API_KEY) and no --database-url: through the admin API, as the signed-in person. */
async function viaApi(global: GlobalOptions, databaseUrl: string | undefined): Promise<SignedInApi | undefined> {
  return databaseUrl ? undefined : signedInApi(global.stateDir, () => loadInstallConfig(global));
}

export function auditCommand(): Command {
  const audit = new Command('audit').description("a tenant's tamper-evident audit log (who did what, decided by which policy)");
  const dbOption = ['--database-url <url>', 'metadata store (default: $DATABASE_URL, or the running local platform)'] as const;

  audit
    .command('list')
    .description('the entries, oldest first')
    .requiredOption('--tenant <id>', 'the tenant')
    .option(...dbOption)
    .action(async function (this: Command, opts: { tenant: string; databaseUrl?: string }) {
      const global = globalOptions(this);
      const tenantId = assertTenantId(opts.tenant);
      const api = await viaApi(global, opts.databaseUrl);
      if (api) {
        const { entries } = await api.call<{ entries: (AuditEntry & { unreadable?: string })[] }>('GET', `/api/v1/tenants/${tenantId}/audit?limit=1000`);
        return output(global, { type: 'audit.list', tenant: tenantId, entries }, () => renderEntries(tenantId, entries.map((e) => ({ seq: e.seq, entry: e.unreadable ? undefined : e, unreadable: e.unreadable }))));
      }
      const rows = await withLog(global, opts.databaseUrl, async (log) => {
        const out = [];
        for await (const row of log.read(tenantId)) out.push(row);
        return out;
      });
      output(global, { type: 'audit.list', tenant: tenantId, entries: rows.map((r) => r.entry ?? { seq: r.seq, unreadable: r.unreadable }) }, () => renderEntries(tenantId, rows));
    });

  audit
    .command('verify')
    .description('recompute the hash chain; exit 1 naming the first tampered entry')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--head <seq:hash>', 'a head from an earlier export: also detect entries cut from the end')
    .option('--in <file>', 'verify an export file instead of the store (no database or key needed)')
    .option('--archive', "verify the copy in the tenant's own storage (local target: <state>/blobs/<tenant>/audit/), and that the store still agrees with it")
    .option(...dbOption)
    .action(async function (this: Command, opts: { tenant: string; head?: string; in?: string; archive?: boolean; databaseUrl?: string }) {
      const global = globalOptions(this);
      const tenantId = assertTenantId(opts.tenant);
      const head = opts.head ? parseHead(opts.head) : undefined;
      if (opts.archive) return verifyArchived(global, tenantId, opts.databaseUrl);
      if (opts.in) {
        const parsed = parseExport(readFileSync(opts.in, 'utf8'));
        return reportVerify(global, tenantId, verifyChain(parsed.chain, head ?? parsed.head));
      }
      const api = head ? undefined : await viaApi(global, opts.databaseUrl);
      if (api) return reportVerify(global, tenantId, await api.call<VerifyResult>('GET', `/api/v1/tenants/${tenantId}/audit/verify`));
      reportVerify(global, tenantId, await withLog(global, opts.databaseUrl, (log) => log.verify(tenantId, head)));
    });

  audit
    .command('export')
    .description('JSON Lines for a SIEM: each entry with its hashes, then the head')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--out <file>', 'write here (default: stdout)')
    .option('--format <format>', 'jsonl (JSON Lines) or otlp (OTLP/JSON logs, for a collector or SIEM)', 'jsonl')
    .option(...dbOption)
    .action(async function (this: Command, opts: { tenant: string; out?: string; format: string; databaseUrl?: string }) {
      const global = globalOptions(this);
      const tenantId = assertTenantId(opts.tenant);
      if (opts.format !== 'jsonl' && opts.format !== 'otlp') throw new ClawError('USAGE', `--format '${opts.format}' is not jsonl or otlp`, { hint: 'use --format jsonl (default) or --format otlp' });
      await withLog(global, opts.databaseUrl, async (log) => {
        const sink = opts.out ? createWriteStream(opts.out, { mode: 0o600 }) : process.stdout;
        if (opts.format === 'otlp') sink.write(`${await otlpExport(log, tenantId)}\n`);
        else for await (const line of exportLines(log, tenantId)) sink.write(`${line}\n`);
        if (opts.out) await new Promise<void>((resolve, reject) => (sink as ReturnType<typeof createWriteStream>).end((err?: Error | null) => (err ? reject(err) : resolve())));
      });
    });
  return audit;
}
