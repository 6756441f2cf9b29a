/**
 * Human control of a running agent run: `claw approve|deny <run> <call>`, `claw cancel <run>`
 * and `claw runs pending --tenant <t>`. Each talks to the run workflow `<tenant>/run/<runId>`
 * through the tenant's own Temporal client (its payload codec encrypts what we send):
 * the `approval` and `cancel` signals, the `pendingApprovals` query.
 *
 * A decision is checked before it is sent — the run exists, is still running, and has that
 * call parked — so a typo fails with one line and a code instead of a signal the workflow
 * would silently drop.
 *
 * Signed in (`claw login`) or with CLAW_API_KEY set, `approve` and `deny` go through the
 * admin API instead: Cedar decides whether you may, and the audit log names you.
 */
import { Command, CommanderError } from 'commander';
import { ID_PATTERN } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import type { TenantClient } from '../../runtime/temporal/connection.js';
import { cancelRun, decide, listPending, type DecisionResult } from '../../runtime/approvals/service.js';
import { signedInApi } from '../api-client.js';
import { openPlatform, openTenantClient, type PlatformSession } from '../../stacks/local/platform.js';
import { temporalAddress } from '../../stacks/local/supervisor.js';
import { globalOptions, output, type GlobalOptions } from '../context.js';
import { loadInstallConfig, localActor } from './platform-access.js';
import { recordAudit } from './audit.js';

// ------------------------------------------------------------------ the commands

/**
 * Commander's own usage errors (a missing argument, an unknown option) become one line with
 * a stable code, like every other error, instead of commander's text and help dump.
 */
function oneLineUsageErrors(command: Command): Command {
  return command.configureOutput({ outputError: () => {} }).exitOverride((err: CommanderError) => {
    if (err.exitCode === 0) process.exit(0); // --help
    const path: string[] = [];
    for (let c: Command | null = command; c?.parent; c = c.parent) path.unshift(c.name());
    throw new ClawError('USAGE', err.message.replace(/^error: /, ''), { hint: `run 'claw ${path.join(' ')} --help' for usage` });
  });
}

function checkId(what: string, value: string, pattern = ID_PATTERN): string {
  if (!pattern.test(value)) throw new ClawError('USAGE', `${what} '${value}' is not valid`, { hint: `check the ${what}` });
  return value;
}
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const CALL_ID = /^[^\s/]{1,200}$/;

/** Open the platform and the run's tenant client; the tenant comes from --tenant or from the run's record. */
async function withRun<T>(global: GlobalOptions, runId: string, tenantOption: string | undefined, fn: (tenant: TenantClient) => Promise<T>): Promise<T> {
  checkId('run id', runId, RUN_ID);
  if (tenantOption !== undefined) checkId('tenant id', tenantOption);
  const config = loadInstallConfig(global);
  const session = await openPlatform(global.stateDir, config);
  let connection: Awaited<ReturnType<typeof openTenantClient>>['connection'] | undefined;
  try {
    const tenantId = tenantOption ?? (await tenantOfRun(session, runId));
    if (!(await session.store.getTenant(tenantId))) {
      throw new ClawError('UNKNOWN_TENANT', `no tenant '${tenantId}' is registered`, { hint: "check --tenant, or run 'claw up' to register claw.yaml's tenants" });
    }
    const opened = await openTenantClient(temporalAddress(config), session.keyring, tenantId);
    connection = opened.connection;
    return await fn(opened.tenant);
  } finally {
    await connection?.close();
    await session.close();
  }
}

/** The local platform's metadata store, for one lookup (no Temporal connection). */
async function withStore<T>(global: GlobalOptions, fn: (session: PlatformSession) => Promise<T>): Promise<T> {
  const session = await openPlatform(global.stateDir, loadInstallConfig(global));
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

async function tenantOfRun(session: PlatformSession, runId: string): Promise<string> {
  const run = await session.store.getRun(runId);
  if (!run) throw new ClawError('UNKNOWN_RUN', `no run '${runId}'`, { hint: "list runs with 'claw runs list' (or pass --tenant)" });
  return run.tenantId;
}

function decisionCommand(name: 'approve' | 'deny'): Command {
  const approved = name === 'approve';
  const command = new Command(name)
    .description(approved ? 'approve a tool call a run is waiting on (the run then makes the call)' : 'reject a tool call a run is waiting on (the model is told APPROVAL_REJECTED)')
    .argument('<run>', 'the run id')
    .argument('<call>', "the tool call id (see 'claw runs pending')")
    .option('--tenant <id>', "the run's tenant (default: from the run's record)")
    .option('--by <name>', 'who decides, for the record, when not signed in (default: your user name)')
    .option('--api-url <url>', 'the admin API, when signed in (default: $CLAW_API_URL, or the local gateway)');
  if (!approved) command.option('--reason <text>', 'why, for the model (sent encrypted)');
  return oneLineUsageErrors(command).action(async function (this: Command, runId: string, callId: string, opts: { tenant?: string; by?: string; reason?: string; apiUrl?: string }) {
    const global = globalOptions(this);
    checkId('call id', callId, CALL_ID);
    checkId('run id', runId, RUN_ID);
    if (opts.tenant !== undefined) checkId('tenant id', opts.tenant);
    // Signed in (claw login) or holding a service key: through the admin API, where Cedar
    // decides and the audit log records who. Otherwise the operator of this machine's
    // platform, with its keys, acts directly.
    const api = await signedInApi(global.stateDir, () => loadInstallConfig(global), opts.apiUrl);
    if (api) {
      if (opts.by) throw new ClawError('USAGE', '--by is for the local operator; signed in, the record names who you are', { hint: 'drop --by' });
      const tenantId = opts.tenant ?? (await withStore(global, (session) => tenantOfRun(session, runId)));
      const result = await api.call<DecisionResult>('POST', `/api/v1/tenants/${checkId('tenant id', tenantId)}/runs/${runId}/calls/${encodeURIComponent(callId)}/decision`, {
        approve: approved,
        ...(opts.reason ? { reason: opts.reason } : {}),
      });
      return output(global, result, () => `${approved ? 'approved' : 'rejected'} call ${result.callId} (${result.tool} ${JSON.stringify(result.args)}) of run ${result.runId} as ${result.by}`);
    }
    const by = opts.by ?? localActor().id;
    const result = await withRun(global, runId, opts.tenant, (tenant) =>
      decide(tenant, runId, { callId, approved, by, ...(opts.reason ? { reason: opts.reason } : {}) }),
    );
    // The tenant's audit log: who decided which call (the reason stays with the run, encrypted).
    await recordAudit(global, result.tenant, {
      actor: { kind: 'user', id: by },
      action: approved ? 'approval.grant' : 'approval.reject',
      resource: `run/${runId}/call/${result.callId}`,
      decision: 'allow',
      determiningPolicies: [],
      details: { tool: result.tool, step: result.step },
    });
    output(global, result, () => `${approved ? 'approved' : 'rejected'} call ${result.callId} (${result.tool} ${JSON.stringify(result.args)}) of run ${result.runId}${result.by ? ` as ${result.by}` : ''}`);
  });
}

export function approveCommand(): Command {
  return decisionCommand('approve');
}

export function denyCommand(): Command {
  return decisionCommand('deny');
}

export function cancelCommand(): Command {
  return oneLineUsageErrors(
    new Command('cancel')
      .description('end a running run now; it ends cleanly with RUN_CANCELLED')
      .argument('<run>', 'the run id')
      .option('--tenant <id>', "the run's tenant (default: from the run's record)")
      .option('--reason <text>', 'why (sent encrypted)'),
  ).action(async function (this: Command, runId: string, opts: { tenant?: string; reason?: string }) {
    const global = globalOptions(this);
    const result = await withRun(global, runId, opts.tenant, (tenant) => cancelRun(tenant, runId, opts.reason));
    output(global, result, () => `asked run ${runId} to cancel`);
  });
}

/** `claw runs pending --tenant <t>`: added under `claw runs` by cli/index.ts. */
export function runsPendingCommand(): Command {
  return oneLineUsageErrors(
    new Command('pending')
      .description('tool calls waiting for a human approval, across the running runs of a tenant')
      .requiredOption('--tenant <id>', 'the tenant'),
  ).action(async function (this: Command, opts: { tenant: string }) {
    const global = globalOptions(this);
    checkId('tenant id', opts.tenant);
    const config = loadInstallConfig(global);
    const session = await openPlatform(global.stateDir, config);
    let connection: Awaited<ReturnType<typeof openTenantClient>>['connection'] | undefined;
    try {
      if (!(await session.store.getTenant(opts.tenant))) {
        throw new ClawError('UNKNOWN_TENANT', `no tenant '${opts.tenant}' is registered`, { hint: "check --tenant, or run 'claw up' to register claw.yaml's tenants" });
      }
      const opened = await openTenantClient(temporalAddress(config), session.keyring, opts.tenant);
      connection = opened.connection;
      const pending = await listPending(opened.tenant);
      output(global, { type: 'pending', tenant: opts.tenant, pending }, () =>
        pending.length === 0
          ? 'no tool call is waiting for an approval'
          : pending.map((p) => [p.runId, p.callId, p.tool, `step ${p.step}`, `since ${p.since}`, `args ${JSON.stringify(p.args ?? {})}`].join('  ')).join('\n'),
      );
    } finally {
      await connection?.close();
      await session.close();
    }
  });
}
