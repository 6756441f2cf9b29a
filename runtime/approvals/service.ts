/**
 * Human control of a running agent run, shared by the CLI (`claw approve|deny|cancel`,
 * `claw runs pending`) and the admin API: the run workflow `<tenant>/run/<runId>` through
 * the tenant's own Temporal client (its payload codec encrypts what we send): the
 * `approval` and `cancel` signals, the `pendingApprovals` query.
 *
 * A decision is checked before it is sent — the run exists, is still running, and has that
 * call parked — so a typo fails with one line and a code instead of a signal the workflow
 * would silently drop. Who may decide is the caller's business (Cedar, in the admin API).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ClawError } from '../../core/errors.js';
import { runWorkflowId } from '../temporal/names.js';
import type { TenantClient } from '../temporal/connection.js';
import { AGENT_RUN_WORKFLOW } from '../workflows/names.js';
import { approvalSignal, cancelSignal, pendingApprovalsQuery } from '../workflows/signals.js';
import type { ApprovalDecision, PendingApproval } from '../workflows/types.js';

/** How long a query may wait for the tenant's Worker (it answers queries, not the server). */
const QUERY_DEADLINE_MS = 15_000;

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
/** A call the run is parked on, with the run's handle; CALL_NOT_PENDING (saying what waits) otherwise. */
export async function parkedCall(tenant: TenantClient, runId: string, callId: string): Promise<{ handle: Handle; call: PendingApproval }> {
  const handle = await runningRun(tenant, runId);
  const pending = await pendingApprovals(tenant, handle);
  const call = pending.find((p) => p.callId === callId);
  if (!call) {
    const waiting = pending.map((p) => `${p.callId} (${p.tool})`).join(', ');
    throw new ClawError('CALL_NOT_PENDING', `run '${runId}' is not waiting for an approval of call '${callId}'`, {
      hint: waiting ? `it waits on: ${waiting}` : `it waits on no approval now; see 'claw runs pending --tenant ${tenant.tenantId}'`,
      details: { pending },
    });
  }
  return { handle, call };
}

/** Approve or reject one parked call: only a call the run is waiting on (CALL_NOT_PENDING otherwise). */
export async function decide(tenant: TenantClient, runId: string, decision: ApprovalDecision, parked?: { handle: Handle; call: PendingApproval }): Promise<DecisionResult> {
  const { handle, call } = parked ?? (await parkedCall(tenant, runId, decision.callId));
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
