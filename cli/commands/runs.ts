/**
 * `claw runs list|show`: runs as their traces tell them (runtime/traces/runs.ts) — the
 * ask, each model call with tokens, latency and retries, each tool call with its Cedar
 * decision and policies, approvals, results with their sandbox, the reply and the budget
 * outcome. Content stays sealed unless --decrypt (the tenant key).
 *
 * The metadata store is the fallback for a run whose trace is not in the lake (nor the
 * worker's write-ahead log) yet: it is read only while the platform runs.
 */
import { signedInApi, type SignedInApi } from '../api-client.js';
import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { durationMs, ID_PATTERN, type ClawConfig } from '../../core/config/schema.js';
import { ClawError, isClawError } from '../../core/errors.js';
import { localTenantKeyring } from '../../runtime/crypto/index.js';
import type { RunRecord } from '../../runtime/store/metadata.js';
import { renderTimelineHtml } from '../../runtime/traces/html.js';
import { listRuns, RUN_STATUSES, showRun, type RunStatus, type RunSummary, type RunTimeline } from '../../runtime/traces/runs.js';
import { renderRunList, renderTimeline } from '../../runtime/traces/timeline.js';
import { openPlatform, type PlatformSession } from '../../stacks/local/platform.js';
import { runningPid } from '../../stacks/local/supervisor.js';
import { globalOptions, output } from '../context.js';
import { loadInstallConfig } from './platform-access.js';

const tenantId = z.string().regex(ID_PATTERN, { message: 'tenant ids are 2-32 lowercase letters, digits and -' });

/** An ISO time, or a duration ago (`30m`, `2h`, `7d`). */
const when = z.string().transform((value, ctx) => {
  if (/^\d+(ms|s|m|h|d)$/.test(value)) return new Date(Date.now() - durationMs(value));
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    ctx.addIssue({ code: 'custom', message: `'${value}' is neither a time (2026-11-25T12:00:00Z) nor a duration ago (30m, 2h, 7d)` });
    return z.NEVER;
  }
  return new Date(time);
});

const ListOptions = z.object({
  tenant: tenantId.optional(),
  agent: z.string().min(1).optional(),
  status: z.enum(RUN_STATUSES, { message: `--status is one of ${RUN_STATUSES.join(', ')}` }).optional(),
  since: when.optional(),
  until: when.optional(),
  limit: z.coerce.number().int().positive({ message: '--limit is a positive number' }).default(20),
});

const ShowOptions = z.object({
  tenant: tenantId.optional(),
  html: z.string().min(1).optional(),
  decrypt: z.boolean().default(false),
});

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ClawError('OPTIONS_INVALID', `${issue.path.length ? `--${issue.path.join('.')}: ` : ''}${issue.message}`, { hint: "see 'claw runs --help'" });
  }
  return parsed.data;
}

/** The metadata store, when the platform runs (the fallback only; traces need no running platform). */
async function storeIfRunning(stateDir: string, config: ClawConfig): Promise<PlatformSession | undefined> {
  if (runningPid(stateDir, 'store') === undefined) return undefined;
  return openPlatform(stateDir, config).catch(() => undefined);
}

type ListedRun = RunSummary & { tenantId: string; source: 'trace' | 'store' };

/** A store record as a run summary (metadata only, no per-step detail). */
function fromStore(run: RunRecord): ListedRun {
  const status: RunStatus = run.status === 'failed' && run.errorCode?.startsWith('BUDGET_') ? 'budget_exceeded' : run.status === 'failed' && run.errorCode === 'RUN_CANCELLED' ? 'cancelled' : run.status;
  return {
    tenantId: run.tenantId,
    runId: run.id,
    agentId: run.agentId,
    status,
    startedAt: run.startedAt.toISOString(),
    lastEventAt: (run.finishedAt ?? run.startedAt).toISOString(),
    events: 0,
    inputTokens: run.inputTokens,
    outputTokens: run.outputTokens,
    toolCalls: run.toolCalls,
    denied: 0,
    source: 'store',
  };
}

/** The text of a run known only to the store: what the trace will show once it lands. */
function renderStoreRun(run: RunRecord, content: { message: string; reply?: string } | undefined): string {
  const took = run.finishedAt ? `${run.finishedAt.getTime() - run.startedAt.getTime()} ms` : '-';
  return [
    `run ${run.id} · tenant ${run.tenantId} · agent ${run.agentId} · ${run.status}${run.errorCode ? ` (${run.errorCode})` : ''} · ${took}`,
    `started ${run.startedAt.toISOString()} · model ${run.model ?? '-'} · ${run.steps} step(s), ${run.toolCalls} tool call(s) · tokens ${run.inputTokens} in / ${run.outputTokens} out`,
    '(from the metadata store: the trace of this run has not landed yet; no per-step detail)',
    ...(content ? [`message   ${content.message}`, `reply     ${content.reply ?? '-'}`] : ['(message and reply sealed; --decrypt to read)']),
  ].join('\n');
}

type ListOpts = z.infer<typeof ListOptions>;
type Listed = { tenants: string[]; listed: ListedRun[] };

async function runsViaApi(api: SignedInApi, opts: ListOpts, inWindow: (startedAt: string) => boolean): Promise<Listed> {
  const tenants = opts.tenant ? [opts.tenant] : (await api.call<{ tenants: { tenant: string }[] }>('GET', '/api/v1/me')).tenants.map((t) => t.tenant);
  const query = new URLSearchParams({ limit: String(opts.limit), ...(opts.agent ? { agent: opts.agent } : {}), ...(opts.status ? { status: opts.status } : {}) });
  const listed: ListedRun[] = [];
  for (const tenant of tenants) {
    const { runs } = await api.call<{ runs: RunSummary[] }>('GET', `/api/v1/tenants/${tenant}/runs?${query}`);
    listed.push(...runs.filter((r) => inWindow(r.startedAt)).map((r) => ({ ...r, tenantId: tenant, source: 'trace' as const })));
  }
  return { tenants, listed };
}

/** The operator of this machine's platform: the tenants' lakes, and the store's runs the lakes do not have yet. */
async function runsDirect(stateDir: string, config: ClawConfig, opts: ListOpts, inWindow: (startedAt: string) => boolean): Promise<Listed> {
  const tenants = opts.tenant ? [opts.tenant] : config.tenants.map((t) => t.id);
  const listed: ListedRun[] = [];
  for (const tenant of tenants) {
    const found = await listRuns({ stateDir, tenantId: tenant, agentId: opts.agent, status: opts.status, since: opts.since, until: opts.until, limit: opts.limit });
    listed.push(...found.map((r) => ({ ...r, tenantId: tenant, source: 'trace' as const })));
  }
  const session = await storeIfRunning(stateDir, config);
  if (session) {
    try {
      const known = new Set(listed.map((r) => `${r.tenantId}/${r.runId}`));
      for (const tenant of tenants) {
        const records = await session.store.listRuns({ tenantId: tenant, agentId: opts.agent, limit: opts.limit });
        for (const run of records.map(fromStore)) {
          if (known.has(`${run.tenantId}/${run.runId}`)) continue;
          if (opts.status && run.status !== opts.status) continue;
          if (inWindow(run.startedAt)) listed.push(run);
        }
      }
    } finally {
      await session.close();
    }
  }
  return { tenants, listed };
}

export function runsCommand(): Command {
  const runs = new Command('runs').description("agent runs, from their traces in the tenant's lake");
  runs
    .command('list')
    .description('recent runs, newest first: status, tokens, tool calls and denials (metadata only)')
    .option('--tenant <id>', "only this tenant (default: every tenant of claw.yaml)")
    .option('--agent <id>', 'only this agent')
    .option('--status <status>', `only runs that are ${RUN_STATUSES.join(' | ')}`)
    .option('--since <time>', 'started at or after: an ISO time, or a duration ago (30m, 2h, 7d)')
    .option('--until <time>', 'started before: an ISO time, or a duration ago')
    .option('--limit <n>', 'how many', '20')
    .action(async function (this: Command) {
      const global = globalOptions(this);
      const opts = parse(ListOptions, this.opts());
      const config = loadInstallConfig(global);
      const inWindow = (startedAt: string) => {
        const started = Date.parse(startedAt);
        return !((opts.since && started < opts.since.getTime()) || (opts.until && started >= opts.until.getTime()));
      };
      // Signed in (claw login) or with CLAW_API_KEY: through the admin API, the runs of the
      // agents the caller may list, in the tenants it holds a role in. Otherwise directly.
      const api = await signedInApi(global.stateDir, () => config);
      const { tenants, listed } = api ? await runsViaApi(api, opts, inWindow) : await runsDirect(global.stateDir, config, opts, inWindow);
      listed.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || a.runId.localeCompare(b.runId));
      const shown = listed.slice(0, opts.limit);
      output(global, { type: 'runs', runs: shown }, () =>
        tenants.length === 1 ? renderRunList(shown) : renderRunList(shown.map((r) => ({ ...r, agentId: `${r.tenantId}/${r.agentId}` }))),
      );
    });
  runs
    .command('show <run>')
    .description('one run as a timeline: ask → model calls (tokens, latency, retries) → tool calls (decision, policy) → results → reply → budget')
    .option('--tenant <id>', "the run's tenant (default: found in the metadata store or the tenants' lakes)")
    .option('--html <file>', 'also write the timeline as a self-contained HTML page')
    .option('--decrypt', 'open the content (ask, completions, arguments, results, reply) with the tenant key')
    .action(async function (this: Command, runId: string) {
      const global = globalOptions(this);
      const opts = parse(ShowOptions, this.opts());
      const config = loadInstallConfig(global);
      // Signed in (claw login) or with CLAW_API_KEY: through the admin API, where Cedar
      // decides who may read and decrypt, and every decryption is in the audit log.
      const api = await signedInApi(global.stateDir, () => config);
      if (api) {
        const tenant = opts.tenant ?? (await storeIfRunning(global.stateDir, config).then(async (s) => (s ? s.store.getRun(runId).finally(() => s.close()) : undefined)))?.tenantId;
        if (!tenant) throw new ClawError('USAGE', `say which tenant run '${runId}' is of`, { hint: 'pass --tenant' });
        const found = await api.call<RunTimeline>('GET', `/api/v1/tenants/${tenant}/runs/${encodeURIComponent(runId)}${opts.decrypt ? '?decrypt=true' : ''}`);
        if (opts.html) writeFileSync(resolve(opts.html), renderTimelineHtml(found), { mode: found.decrypted ? 0o600 : 0o644 });
        return output(global, { type: 'run', source: 'trace', run: found, ...(opts.html ? { html: resolve(opts.html) } : {}) }, () => `${renderTimeline(found)}${opts.html ? `\n\nwrote ${resolve(opts.html)}` : ''}`);
      }
      const keyring = localTenantKeyring(global.stateDir);
      const session = await storeIfRunning(global.stateDir, config);
      try {
        const record = await session?.store.getRun(runId);
        const candidates = opts.tenant ? [opts.tenant] : record ? [record.tenantId] : config.tenants.map((t) => t.id);
        let timeline: RunTimeline | undefined;
        for (const tenant of candidates) {
          try {
            timeline = await showRun({ stateDir: global.stateDir, tenantId: tenant, runId, keyring, decrypt: opts.decrypt });
            break;
          } catch (err) {
            if (!(isClawError(err) && err.code === 'RUN_NOT_FOUND')) throw err;
          }
        }
        if (!timeline) {
          const fallback = record && (!opts.tenant || record.tenantId === opts.tenant) ? record : undefined;
          if (!fallback) {
            throw new ClawError('RUN_NOT_FOUND', `no run '${runId}'${opts.tenant ? ` in tenant '${opts.tenant}'` : ''}`, {
              hint: `list runs with 'claw runs list${opts.tenant ? ` --tenant ${opts.tenant}` : ''}'`,
            });
          }
          const content = opts.decrypt ? await session!.store.runContent(fallback) : undefined;
          output(global, { type: 'run', source: 'store', run: fallback, ...(content ? { content } : {}) }, () => renderStoreRun(fallback, content));
          return;
        }
        const found = timeline;
        if (opts.html) writeFileSync(resolve(opts.html), renderTimelineHtml(found), { mode: found.decrypted ? 0o600 : 0o644 });
        output(global, { type: 'run', source: 'trace', run: found, ...(opts.html ? { html: resolve(opts.html) } : {}) }, () =>
          `${renderTimeline(found)}${opts.html ? `\n\nwrote ${resolve(opts.html)}` : ''}`,
        );
      } finally {
        await session?.close();
      }
    });
  return runs;
}
