import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Connection, type Client } from '@temporalio/client';
import { parseConfig } from '../../core/config/load.js';
import { tenantClient } from '../temporal/connection.js';
import { listSchedules, managedScheduleIds, reconcileSchedules } from './reconcile.js';

// A tenant id unique to this run: the dev server is shared by every integration test file.
const tenant = `sch${Date.now().toString(36)}`;

function config(schedules: string) {
  return parseConfig(`
tenants: [{ id: ${tenant}, name: Schedules }]
agents:
  - id: helper
    tenant: ${tenant}
    model: { provider: scripted, script: [{ reply: hi }] }
    schedules: ${schedules}
`);
}

let connection: Connection;
let client: Client;
const clientFor = () => client;

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = tenantClient(connection, tenant).client;
});
afterAll(async () => {
  await reconcileSchedules(config('[]'), clientFor).catch(() => undefined);
  await connection.close();
});

describe('schedules from claw.yaml', () => {
  it('creates, leaves unchanged, updates and deletes, idempotently', async () => {
    const v1 = config(`[{ id: digest, cron: '0 9 * * 1-5', message: 'morning digest' }, { id: weekly, cron: '0 8 * * 1', message: 'weekly', overlap: buffer_one }]`);
    expect((await reconcileSchedules(v1, clientFor)).map((c) => c.action)).toEqual(['created', 'created']);
    expect((await reconcileSchedules(v1, clientFor)).map((c) => c.action)).toEqual(['unchanged', 'unchanged']);

    const digest = await client.schedule.getHandle(`${tenant}/sched/helper/digest`).describe();
    expect(digest.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 600_000 });
    expect(digest.action).toMatchObject({ workflowType: 'conversation', taskQueue: 'claw-runtime' });
    const weekly = await client.schedule.getHandle(`${tenant}/sched/helper/weekly`).describe();
    expect(weekly.policies.overlap).toBe('BUFFER_ONE');

    // Change one cron and drop the other schedule.
    const v2 = config(`[{ id: digest, cron: '30 9 * * 1-5', message: 'morning digest', catchupWindow: 1h }]`);
    const changes = await reconcileSchedules(v2, clientFor, { known: [`${tenant}/sched/helper/weekly`] });
    expect(changes.map((c) => [c.scheduleId.split('/').pop(), c.action])).toEqual([['digest', 'updated'], ['weekly', 'deleted']]);
    expect((await client.schedule.getHandle(`${tenant}/sched/helper/digest`).describe()).policies.catchupWindow).toBe(3_600_000);
    await expect(client.schedule.getHandle(`${tenant}/sched/helper/weekly`).describe()).rejects.toThrow(/not found/i);
  });

  it('a schedule fires on time and starts a run; removing it from claw.yaml removes it', async () => {
    const every = config(`[{ id: minutely, cron: '* * * * *', message: 'tick' }]`);
    await reconcileSchedules(every, clientFor);
    const handle = client.schedule.getHandle(`${tenant}/sched/helper/minutely`);
    const next = (await handle.describe()).info.nextActionTimes[0]!;
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(60_000);

    // Wait for the fire, then find the workflow it started.
    let fired: { takenAt: Date; workflowId: string } | undefined;
    const deadline = next.getTime() + 20_000;
    while (!fired && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      const recent = (await handle.describe()).info.recentActions[0];
      if (recent) fired = { takenAt: recent.takenAt, workflowId: recent.action.workflow.workflowId };
    }
    expect(fired, 'the schedule fired').toBeDefined();
    // "On time": taken within a few seconds of the cron instant it was due at.
    expect(Math.abs(fired!.takenAt.getTime() - next.getTime())).toBeLessThan(5_000);
    expect(fired!.workflowId.startsWith(`${tenant}/conv/helper/schedule/minutely`)).toBe(true);
    const run = await client.workflow.getHandle(fired!.workflowId).describe();
    expect(run.type).toBe('conversation');

    expect((await listSchedules(every, clientFor)).map((s) => s.id)).toContain('minutely');
    const removed = await reconcileSchedules(config('[]'), clientFor, { known: [`${tenant}/sched/helper/minutely`] });
    expect(removed).toEqual([{ scheduleId: `${tenant}/sched/helper/minutely`, tenantId: tenant, action: 'deleted' }]);
    await expect(handle.describe()).rejects.toThrow(/not found/i);
    await client.workflow.getHandle(fired!.workflowId).terminate('test cleanup').catch(() => undefined);
  }, 120_000);

  it('discovers managed schedules from the server even without a hint', async () => {
    await reconcileSchedules(config(`[{ id: listed, cron: '0 0 1 1 *', message: 'x' }]`), clientFor);
    const deadline = Date.now() + 15_000;
    let ids: string[] = [];
    while (Date.now() < deadline && !ids.includes(`${tenant}/sched/helper/listed`)) {
      ids = await managedScheduleIds(client, tenant);
      if (!ids.includes(`${tenant}/sched/helper/listed`)) await new Promise((r) => setTimeout(r, 500));
    }
    expect(ids).toContain(`${tenant}/sched/helper/listed`);
    const changes = await reconcileSchedules(config('[]'), clientFor);
    expect(changes.find((c) => c.scheduleId.endsWith('/listed'))?.action).toBe('deleted');
  }, 60_000);
});
