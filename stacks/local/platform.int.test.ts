/**
 * syncConfig (what `claw up` runs before the worker starts) on the shared PostgreSQL:
 * a tenant shredded by `claw tenant shred` but still in claw.yaml is left out and reported,
 * and the other tenants and their agents are registered as usual.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../core/config/load.js';
import { localTenantKeyring } from '../../runtime/crypto/index.js';
import { MetadataStore } from '../../runtime/store/metadata.js';
import { syncConfig, type PlatformSession } from './platform.js';

const suffix = randomBytes(3).toString('hex');
const kept = `kept-${suffix}`;
const gone = `gone-${suffix}`;
const stateDir = mkdtempSync(join(tmpdir(), 'claw-sync-test-'));
let session: PlatformSession;

beforeAll(async () => {
  const keyring = localTenantKeyring(stateDir);
  await keyring.createTenantKey(gone);
  await keyring.destroy(gone);
  const store = await MetadataStore.connect(inject('postgresUrl'), { keyring, max: 2 });
  session = { keyring, store, close: () => store.close() };
});

afterAll(async () => {
  await session?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('syncConfig', () => {
  it('registers the tenants it can and reports a shredded one instead of failing', async () => {
    const agent = (tenant: string) => `{ id: helper, tenant: ${tenant}, model: { provider: scripted, script: [{ reply: hi }] } }`;
    const config = parseConfig(
      `tenants: [{ id: ${gone}, name: Gone }, { id: ${kept}, name: Kept }]\nagents: [${agent(gone)}, ${agent(kept)}]\n`,
      join(stateDir, 'claw.yaml'),
    );
    const synced = await syncConfig(session, config);
    expect(synced.tenants).toEqual([kept]);
    expect(synced.shredded).toEqual([gone]);
    expect(synced.agents.map((a) => a.tenant)).toEqual([kept]);
    const registered = (await session.store.listTenants()).map((t) => t.id);
    expect(registered).toContain(kept);
    expect(registered).not.toContain(gone);
    // The kept tenant's key was created: its data keys come from it.
    await expect(session.keyring.forTenant(kept)).resolves.toBeDefined();
  });
});
