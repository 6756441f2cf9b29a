/**
 * Human control of a running agent run: `claw approve|deny <run> <call>`, `claw cancel <run>`
 * and `claw runs pending --tenant <t>`. Each talks to the run workflow `<tenant>/run/<runId>`
 * through the tenant's own Temporal client (its payload codec encrypts what we send):
 * the `approval` and `cancel` signals, the `pendingApprovals` query.
 *
 * A decision is checked before it is sent — the run exists, is still running, and has that
 * call parked — so a typo fails with one line and a code instead of a signal the workflow
 * would silently drop.
 */
import { Command, CommanderError } from 'commander';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ID_PATTERN } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import { runWorkflowId } from '../../runtime/temporal/names.js';
import type { TenantClient } from '../../runtime/temporal/connection.js';
import { AGENT_RUN_WORKFLOW } from '../../runtime/workflows/names.js';
import { approvalSignal, cancelSignal, pendingApprovalsQuery } from '../../runtime/workflows/signals.js';
import type { ApprovalDecision, PendingApproval } from '../../runtime/workflows/types.js';
import { openPlatform, openTenantClient, type PlatformSession } from '../../stacks/local/platform.js';
import { temporalAddress } from '../../stacks/local/supervisor.js';
import { globalOptions, output, type GlobalOptions } from '../context.js';
import { loadInstallConfig, localActor } from './platform-access.js';
import { recordAudit } from './audit.js';

/** How long a query may wait for the tenant's Worker (it answers queries, not the server). */
const QUERY_DEADLINE_MS = 15_000;

// ------------------------------------------------------------------ the service (tests call these directly)

type Handle = ReturnType<Client['workflow']['getHandle']>;

/** The run's workflow handle, once it is known to exist, be an agent run, and still run. */
export async function runningRun(tenant: TenantClient, runId: string): Promise<Handle> {
  const handle = tenant.client.workflow.getHandle(runWorkflowId(tenant.tenantId, runId));
  let description: Awaited<ReturnType<Handle['describe']>>;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new ClawError('UNKNOWN_RUN', `tenant '${tenant.tenantId}' has no run '${runId}'`, { hint: "list runs with 'claw runs list'" });
    }
    throw err;
  }
  if (description.type !== AGENT_RUN_WORKFLOW) {
    throw new ClawError('UNKNOWN_RUN', `'${runId}' is not an agent run of tenant '${tenant.tenantId}'`, { hint: "list runs with 'claw runs list'" });
  }
  if (description.status.name !== 'RUNNING') {
    throw new ClawError('RUN_NOT_RUNNING', `run '${runId}' has already ended (${description.status.name.toLowerCase()})`, {
      hint: `see 'claw runs show ${runId}'`,
      details: { status: description.status.name },
    });
  }
  return handle;
}

/** The run's parked tool calls (the `pendingApprovals` query, answered by the tenant's Worker). */
export async function pendingApprovals(tenant: TenantClient, handle: Handle): Promise<PendingApproval[]> {
  try {
    return await tenant.client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(pendingApprovalsQuery));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ClawError('UNKNOWN_RUN', `no run workflow '${handle.workflowId}'`, { hint: "list runs with 'claw runs list'" });
    const message = (err as Error)?.message ?? String(err);
    if (/deadline|timed? ?out|no poller/i.test(message)) {
      throw new ClawError('WORKER_UNAVAILABLE', `no Worker of tenant '${tenant.tenantId}' answered within ${QUERY_DEADLINE_MS / 1000} s`, {
        hint: "check 'claw status' and 'claw logs worker'",
        cause: err,
      });
    }
    throw err;
  }
}

export interface DecisionResult {
  type: 'approval';
  tenant: string;
  runId: string;
  callId: string;
  tool: string;
  step: number;
  args: Record<string, unknown>;
  approved: boolean;
  by?: string;
}

/** Approve or reject one parked call: only a call the run is waiting on (CALL_NOT_PENDING otherwise). */
export async function decide(tenant: TenantClient, runId: string, decision: ApprovalDecision): Promise<DecisionResult> {
  const handle = await runningRun(tenant, runId);
  const pending = await pendingApprovals(tenant, handle);
  const call = pending.find((p) => p.callId === decision.callId);
  if (!call) {
    const waiting = pending.map((p) => `${p.callId} (${p.tool})`).join(', ');
    throw new ClawError('CALL_NOT_PENDING', `run '${runId}' is not waiting for an approval of call '${decision.callId}'`, {
      hint: waiting ? `it waits on: ${waiting}` : `it waits on no approval now; see 'claw runs pending --tenant ${tenant.tenantId}'`,
      details: { pending },
    });
  }
  // Bound to what the approver is shown: this step and exactly these arguments.
  await handle.signal(approvalSignal, { ...decision, step: call.step, argsJson: JSON.stringify(call.args ?? {}) });
  return { type: 'approval', tenant: tenant.tenantId, runId, callId: call.callId, tool: call.tool, step: call.step, args: call.args ?? {}, approved: decision.approved, by: decision.by };
}

/** Ask a running run to end now; it ends cleanly with RUN_CANCELLED. */
export async function cancelRun(tenant: TenantClient, runId: string, reason?: string): Promise<{ type: 'cancel'; tenant: string; runId: string }> {
  const handle = await runningRun(tenant, runId);
  await handle.signal(cancelSignal, { reason });
  return { type: 'cancel', tenant: tenant.tenantId, runId };
}

export interface PendingRow extends PendingApproval {
  runId: string;
}

/** Every parked call of the tenant's running agent runs (visibility lists them; each run's query says what waits). */
export async function listPending(tenant: TenantClient): Promise<PendingRow[]> {
  const prefix = `${tenant.tenantId}/run/`;
  const rows: PendingRow[] = [];
  // Tenants share a task queue: the workflow id's prefix is what names the tenant (its ids are [a-z0-9-], safe to quote).
  const query = `WorkflowType = '${AGENT_RUN_WORKFLOW}' AND ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH '${prefix}'`;
  for await (const execution of tenant.client.workflow.list({ query })) {
    if (!execution.workflowId.startsWith(prefix)) continue;
    const handle = tenant.client.workflow.getHandle(execution.workflowId, execution.runId);
    const runId = execution.workflowId.slice(prefix.length);
    for (const call of await pendingApprovals(tenant, handle)) rows.push({ runId, ...call });
  }
  return rows.sort((a, b) => a.since.localeCompare(b.since));
}

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
    .option('--by <name>', 'who decides, for the record (default: your user name)');
  if (!approved) command.option('--reason <text>', 'why, for the model (sent encrypted)');
  return oneLineUsageErrors(command).action(async function (this: Command, runId: string, callId: string, opts: { tenant?: string; by?: string; reason?: string }) {
    const global = globalOptions(this);
    checkId('call id', callId, CALL_ID);
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
