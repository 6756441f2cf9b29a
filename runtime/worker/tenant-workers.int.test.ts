/**
 * TenantWorkers on the fixtures' Temporal dev server: a tenant whose key is missing or
 * shredded gets no Worker and is reported, and the other tenants' Workers still start
 * (one tenant's key must not take the worker process down for every tenant).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Activities } from '../activities/index.js';
import { tenantPayloadCodec } from '../crypto/codec.js';
import { localTenantKeyring } from '../crypto/index.js';
import { workflowBundle } from '../temporal/bundle.js';
import { TenantWorkers, type TenantUnavailable } from './tenant-workers.js';

const suffix = randomBytes(3).toString('hex');
const good = `good-${suffix}`;
const missing = `missing-${suffix}`;
const shredded = `shredded-${suffix}`;
const stateDir = mkdtempSync(join(tmpdir(), 'claw-tw-test-'));
const keyring = localTenantKeyring(stateDir);
const reported: Array<[string, TenantUnavailable]> = [];

let connection: NativeConnection;
let workers: TenantWorkers;

beforeAll(async () => {
  await keyring.createTenantKey(good);
  await keyring.createTenantKey(shredded);
  await keyring.destroy(shredded);
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const bundle = await workflowBundle(join(stateDir, 'cache'));
  workers = new TenantWorkers({
    connection,
    workflowBundle: bundle,
    // No activity runs here: the test is about which Workers start.
    activities: {} as Activities,
    payloadCodecsFor: async (tenantId) => [tenantPayloadCodec(await keyring.forTenant(tenantId))],
    onUnavailable: (tenantId, reason) => reported.push([tenantId, reason]),
  });
});

afterAll(async () => {
  await workers?.shutdown();
  await connection?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('TenantWorkers', () => {
  it('starts the tenants it can key and reports the others with their error code', async () => {
    expect(await workers.ensure([missing, good, shredded])).toEqual([good]);
    expect(workers.tenants()).toEqual([good]);
    expect(workers.healthy()).toBe(true);
    expect(workers.unavailable()).toEqual({
      [missing]: { code: 'TENANT_KEY_MISSING', message: expect.stringContaining(missing) },
      [shredded]: { code: 'TENANT_KEY_DESTROYED', message: expect.stringContaining('shredded') },
    });
    expect(reported.map(([id, r]) => [id, r.code])).toEqual([
      [missing, 'TENANT_KEY_MISSING'],
      [shredded, 'TENANT_KEY_DESTROYED'],
    ]);
  });

  it('tries the left-out tenants again on the next ensure, reporting a reason only once', async () => {
    expect(await workers.ensure([missing, good, shredded])).toEqual([]);
    expect(reported).toHaveLength(2);
    await keyring.createTenantKey(missing);
    expect(await workers.ensure([missing, good, shredded])).toEqual([missing]);
    expect(workers.tenants()).toEqual([good, missing].sort());
    expect(Object.keys(workers.unavailable())).toEqual([shredded]);
    expect(workers.healthy()).toBe(true);
  });
});
