/**
 * Agent schedules (claw.yaml `agents[].schedules`) as Temporal Schedules: one Schedule per
 * entry, created centrally on the Temporal server — no cron process per tenant. Each fire
 * starts the agent's conversation workflow with the schedule's message.
 *
 * `reconcileSchedules` makes Temporal match claw.yaml and is idempotent: a second run with
 * the same config changes nothing. Schedules claw manages are recognised by their id
 * (`<tenant>/sched/<agent>/<schedule>`); their note records a hash of the spec, so a
 * changed cron, timezone, message or policy is an update and everything else is left alone.
 */
import { createHash } from 'node:crypto';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptions, type ScheduleOverlapPolicy } from '@temporalio/client';
import { durationMs, type ClawConfig, type Schedule } from '../../core/config/schema.js';
import { CONVERSATION_WORKFLOW, conversationWorkflowId, type ConversationKey, type InboundMessage } from '../channels/types.js';
import { routeFor } from '../temporal/names.js';

export interface DesiredSchedule {
  scheduleId: string;
  tenantId: string;
  agentId: string;
  schedule: Schedule;
}

export interface ScheduleChange {
  scheduleId: string;
  tenantId: string;
  action: 'created' | 'updated' | 'deleted' | 'unchanged';
}

/** What a scheduled conversation starts with (ConversationStartArgs plus the message). */
export interface ScheduledStartArgs {
  key: ConversationKey;
  initial: InboundMessage[];
}

const OVERLAP: Record<Schedule['overlap'], ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  buffer_one: 'BUFFER_ONE',
  allow_all: 'ALLOW_ALL',
  cancel_other: 'CANCEL_OTHER',
};

export function scheduleIdFor(tenantId: string, agentId: string, id: string): string {
  return `${tenantId}/sched/${agentId}/${id}`;
}

const managedPrefix = (tenantId: string) => `${tenantId}/sched/`;
const NOTE_PREFIX = 'managed by claw.yaml; spec ';

export function desiredSchedules(config: Pick<ClawConfig, 'agents'>): DesiredSchedule[] {
  return config.agents.flatMap((agent) =>
    agent.schedules.map((schedule) => ({ scheduleId: scheduleIdFor(agent.tenant, agent.id, schedule.id), tenantId: agent.tenant, agentId: agent.id, schedule })),
  );
}

/** The Temporal Schedule for one claw.yaml entry. */
export function scheduleOptions(desired: DesiredSchedule): ScheduleOptions {
  const { tenantId, agentId, schedule } = desired;
  const key: ConversationKey = { tenantId, agentId, channel: 'schedule', thread: schedule.id };
  const args: [ScheduledStartArgs] = [
    { key, initial: [{ deliveryId: `schedule:${schedule.id}`, text: schedule.message, receivedAt: '', replyTo: { channel: 'none' } }] },
  ];
  const options = {
    scheduleId: desired.scheduleId,
    spec: { cronExpressions: [schedule.cron], timezone: schedule.timezone },
    action: {
      type: 'startWorkflow' as const,
      workflowType: CONVERSATION_WORKFLOW,
      // Temporal appends the fire time to this id, so every fire is its own run.
      workflowId: conversationWorkflowId(key),
      ...routeFor(tenantId),
      args,
    },
    policies: { overlap: OVERLAP[schedule.overlap], catchupWindow: durationMs(schedule.catchupWindow) },
  };
  return { ...options, state: { note: `${NOTE_PREFIX}${specHash(options)}` } };
}

function specHash(options: Omit<ScheduleOptions, 'state'>): string {
  return createHash('sha256').update(JSON.stringify([options.spec, options.action, options.policies])).digest('hex').slice(0, 16);
}

/** Ids of the Schedules claw manages for a tenant, as the server lists them. */
export async function managedScheduleIds(client: Client, tenantId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const summary of client.schedule.list()) {
    if (summary.scheduleId.startsWith(managedPrefix(tenantId))) ids.push(summary.scheduleId);
  }
  return ids.sort();
}

/**
 * Make each tenant's Temporal Schedules match claw.yaml. `clientFor` gives the tenant's own
 * client (its codec encrypts the schedule's message). `known` adds ids to delete-check that
 * the server's list (eventually consistent) may not show yet.
 */
export async function reconcileSchedules(
  config: Pick<ClawConfig, 'agents' | 'tenants'>,
  clientFor: (tenantId: string) => Client | Promise<Client>,
  options: { known?: string[] } = {},
): Promise<ScheduleChange[]> {
  const desired = desiredSchedules(config);
  const changes: ScheduleChange[] = [];
  for (const tenant of config.tenants) {
    const client = await clientFor(tenant.id);
    const mine = desired.filter((d) => d.tenantId === tenant.id);
    for (const d of mine) changes.push({ scheduleId: d.scheduleId, tenantId: tenant.id, action: await upsert(client, d) });
    const wanted = new Set(mine.map((d) => d.scheduleId));
    const existing = new Set([...(await managedScheduleIds(client, tenant.id)), ...(options.known ?? []).filter((id) => id.startsWith(managedPrefix(tenant.id)))]);
    for (const id of [...existing].sort()) {
      if (wanted.has(id)) continue;
      try {
        await client.schedule.getHandle(id).delete();
        changes.push({ scheduleId: id, tenantId: tenant.id, action: 'deleted' });
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
    }
  }
  return changes;
}

async function upsert(client: Client, desired: DesiredSchedule): Promise<ScheduleChange['action']> {
  const options = scheduleOptions(desired);
  const handle = client.schedule.getHandle(desired.scheduleId);
  try {
    const current = await handle.describe();
    if (current.state.note === options.state?.note) return 'unchanged';
    await handle.update((previous) => ({
      ...previous,
      spec: options.spec,
      action: options.action,
      policies: options.policies,
      state: { ...previous.state, note: options.state?.note },
    }));
    return 'updated';
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    // Created concurrently by another reconciler between our describe and create: fine.
    if (err instanceof ScheduleAlreadyRunning) return 'unchanged';
    throw err;
  }
}

export interface ScheduleListing {
  scheduleId: string;
  tenantId: string;
  agentId: string;
  id: string;
  cron?: string;
  paused: boolean;
  nextFires: string[];
  recentFires: string[];
}

/** What `claw schedules list` shows: the server's view of every managed schedule. */
export async function listSchedules(config: Pick<ClawConfig, 'tenants' | 'agents'>, clientFor: (tenantId: string) => Client | Promise<Client>): Promise<ScheduleListing[]> {
  const byId = new Map(desiredSchedules(config).map((d) => [d.scheduleId, d]));
  const out: ScheduleListing[] = [];
  for (const tenant of config.tenants) {
    const client = await clientFor(tenant.id);
    for await (const summary of client.schedule.list()) {
      if (!summary.scheduleId.startsWith(managedPrefix(tenant.id))) continue;
      const [, , agentId = '', id = ''] = summary.scheduleId.split('/');
      out.push({
        scheduleId: summary.scheduleId,
        tenantId: tenant.id,
        agentId,
        id,
        cron: byId.get(summary.scheduleId)?.schedule.cron,
        paused: summary.state.paused,
        nextFires: summary.info.nextActionTimes.slice(0, 3).map((d) => d.toISOString()),
        recentFires: summary.info.recentActions.slice(-3).map((a) => a.takenAt.toISOString()),
      });
    }
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}
