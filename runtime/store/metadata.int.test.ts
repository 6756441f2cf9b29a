import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAgentFile } from '../../core/config/load.js';
import { STARTER_AGENT } from '../../core/config/starter.js';
import { localTenantKeyring } from '../crypto/index.js';
import { MetadataStore } from './metadata.js';
import { MIGRATIONS, migratePostgres } from './migrations.js';

const url = inject('postgresUrl');
const stateDir = mkdtempSync(join(tmpdir(), 'claw-store-test-'));
const keyring = localTenantKeyring(stateDir);
const tenant = `t${Date.now().toString(36)}`;
let store: MetadataStore;
let raw: pg.Client;

beforeAll(async () => {
  store = await MetadataStore.connect(url, { keyring });
  raw = new pg.Client({ connectionString: url });
  await raw.connect();
  await keyring.createTenantKey(tenant);
  await store.upsertTenant({ id: tenant, name: 'Test Tenant' });
});

afterAll(async () => {
  await store?.close();
  await raw?.end();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('metadata store on PostgreSQL', () => {
  it('migrates once: a second migrator finds nothing to do', async () => {
    const pool = new pg.Pool({ connectionString: url });
    expect(await migratePostgres(pool)).toEqual([]);
    await pool.end();
    const { rows } = await raw.query('select version from schema_migrations order by version');
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
  });

  it('stores agents with revisions that move only when the spec changes', async () => {
    const agent = { ...parseAgentFile(STARTER_AGENT, 'helper.yaml'), tenant };
    expect(await store.applyAgent(agent, 'helper.yaml')).toEqual({ revision: 1, changed: true });
    expect(await store.applyAgent(agent, 'helper.yaml')).toEqual({ revision: 1, changed: false });
    expect(await store.applyAgent({ ...agent, instructions: 'Be terse.' })).toEqual({ revision: 2, changed: true });
    const stored = await store.getAgent(tenant, 'helper');
    expect(stored?.spec.instructions).toBe('Be terse.');
    expect(stored?.spec.model.provider).toBe('scripted');
    expect(await store.getAgent(tenant, 'nobody')).toBeUndefined();
  });

  it('keeps run content as tenant ciphertext and metadata in clear', async () => {
    const message = 'my account number is 12345-SECRET';
    const reply = 'noted: 12345-SECRET';
    await store.startRun({ id: `${tenant}-r1`, tenantId: tenant, agentId: 'helper', workflowId: `${tenant}/run/r1`, message });
    await store.startRun({ id: `${tenant}-r1`, tenantId: tenant, agentId: 'helper', workflowId: `${tenant}/run/r1`, message }); // a retry
    await store.finishRun(tenant, `${tenant}-r1`, { status: 'completed', reply, model: 'scripted', steps: 2, toolCalls: 1, inputTokens: 10, outputTokens: 5 });

    const { rows } = await raw.query('select * from runs where tenant_id = $1', [tenant]);
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row).toMatchObject({ status: 'completed', agent_id: 'helper', steps: 2, tool_calls: 1, message_bytes: Buffer.byteLength(message), reply_bytes: Buffer.byteLength(reply) });
    const everything = JSON.stringify(row) + Buffer.from(row.message_ct).toString('latin1') + Buffer.from(row.reply_ct).toString('latin1');
    expect(everything).not.toContain('12345-SECRET');

    const run = await store.getRun(`${tenant}-r1`);
    expect(run).toMatchObject({ tenantId: tenant, status: 'completed', model: 'scripted', inputTokens: 10, outputTokens: 5 });
    expect(run!.finishedAt!.getTime()).toBeGreaterThanOrEqual(run!.startedAt.getTime());
    expect(await store.runContent(run!)).toEqual({ message, reply });
    expect((await store.listRuns({ tenantId: tenant })).map((r) => r.id)).toEqual([`${tenant}-r1`]);
  });

  it('cannot read a run once the tenant key is destroyed (crypto-shredding)', async () => {
    const other = `${tenant}x`;
    await keyring.createTenantKey(other);
    await store.upsertTenant({ id: other, name: 'Other' });
    await store.startRun({ id: `${other}-r1`, tenantId: other, agentId: 'helper', workflowId: `${other}/run/r1`, message: 'to be shredded' });
    await keyring.destroy(other);
    await expect(store.runContent({ id: `${other}-r1`, tenantId: other })).rejects.toMatchObject({ code: 'TENANT_KEY_DESTROYED' });
    // The metadata is still there and readable.
    expect((await store.getRun(`${other}-r1`))?.status).toBe('running');
  });
});
