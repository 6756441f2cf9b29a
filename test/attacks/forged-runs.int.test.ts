/**
 * Forged work for a tenant, from anyone who can reach the Temporal frontend (real dev
 * server, real per-tenant Worker, real store): a start in the clear, and a start sealed
 * with tenant A's key that claims tenant B. Each must do nothing for either tenant.
 * A payload relabelled to another tenant is refused by the codec (unit level below).
 */
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClawError } from '../../core/errors.js';
import { localTenantKeyring } from '../../runtime/crypto/index.js';
import { tenantPayloadCodec, TENANT_METADATA_KEY } from '../../runtime/crypto/codec.js';
import { runWorkflowId } from '../../runtime/temporal/names.js';
import { bindToTenant } from '../../runtime/worker/tenant-workers.js';
import { eventually, startHarness, type Harness } from '../../runtime/workflows/testing/harness.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let h: Harness;
let raw: Client;
let rawConnection: Connection;

beforeAll(async () => {
  h = await startHarness({ temporalAddress: inject('temporalAddress'), postgresUrl: inject('postgresUrl'), tenantPrefix: 'forge' });
  await h.store.applyAgent(h.agent({}), 'test');
  rawConnection = await Connection.connect({ address: inject('temporalAddress') });
  raw = new Client({ connection: rawConnection }); // no payload codec: what an attacker has
}, 120_000);

afterAll(async () => {
  await rawConnection?.close();
  await h?.close();
});

describe('forged runs on the real Temporal dev server', () => {
  it('a start with an unencrypted payload is refused by the codec: its workflow task fails, nothing runs', async () => {
    const runId = 'r-forged-clear';
    const handle = await raw.workflow.start('agentRun', {
      taskQueue: h.tenant.taskQueue,
      workflowId: runWorkflowId(h.tenantId, runId),
      args: [{ tenantId: h.tenantId, runId, agentId: 'helper', message: 'hello' }],
    });
    const failure = await eventually(async () => {
      const history = await handle.fetchHistory();
      return (history.events ?? []).map((e) => e.workflowTaskFailedEventAttributes?.failure).find(Boolean) ?? undefined;
    }, 'a failed workflow task in the forged run', 30_000, 250);
    // The failure itself is sealed in history (encodeCommonAttributes); the tenant's codec opens it.
    expect(failure.message).toBe('Encoded failure');
    const [opened] = await tenantPayloadCodec(await h.keyring.forTenant(h.tenantId)).decode([failure.encodedAttributes!]);
    expect(JSON.parse(new TextDecoder().decode(opened!.data!)).message).toMatch(/not encrypted/);
    expect(h.traces.filter((e) => e.runId === runId)).toEqual([]);
    expect(h.modelCalls).toEqual([]);
    await handle.terminate('test cleanup');
  });

  it("a start sealed with this tenant's key that claims another tenant is refused by the activities", async () => {
    const runId = 'r-forged-tenant';
    const other = 'victim-tenant';
    const handle = await h.tenant.client.workflow.start('agentRun', {
      taskQueue: h.tenant.taskQueue,
      workflowId: runWorkflowId(h.tenantId, runId),
      args: [{ tenantId: other, runId, agentId: 'helper', message: 'hello' }],
    });
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(JSON.stringify((err as WorkflowFailedError).cause)).toContain('TENANT_MISMATCH');
    expect(h.modelCalls).toEqual([]);
    expect(h.traces.filter((e) => e.tenantId === other)).toEqual([]);
    // What the failure says is not in the clear in the history the server keeps.
    const rawHistory = JSON.stringify(await raw.workflow.getHandle(runWorkflowId(h.tenantId, runId)).fetchHistory());
    expect(rawHistory).not.toContain(other);
    expect(rawHistory).toContain('Encoded failure');
  });
});

describe('payloads and activity inputs relabelled to another tenant', () => {
  it('the codec refuses a payload labelled for another tenant, and one in the clear', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'claw-relabel-'));
    try {
      const keyring = localTenantKeyring(dir);
      await keyring.createTenantKey('alpha');
      await keyring.createTenantKey('beta');
      const alpha = tenantPayloadCodec(await keyring.forTenant('alpha'));
      const beta = tenantPayloadCodec(await keyring.forTenant('beta'));
      const [sealed] = await alpha.encode([{ metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode('"secret"') }]);
      const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [TENANT_METADATA_KEY]: new TextEncoder().encode('beta') } };
      await expect(beta.decode([sealed!])).rejects.toMatchObject({ code: 'PAYLOAD_TENANT_MISMATCH' });
      // Relabelled to beta: the label matches, the envelope (bound to alpha) does not.
      await expect(beta.decode([relabelled])).rejects.toBeInstanceOf(ClawError);
      await expect(beta.decode([{ metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode('"x"') }])).rejects.toMatchObject({ code: 'PAYLOAD_NOT_ENCRYPTED' });
      expect(await alpha.decode([sealed!])).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a tenant's Worker refuses activity input that names another tenant", async () => {
    const seen: unknown[] = [];
    const bound = bindToTenant({ loadAgent: async (input: { tenantId: string }) => void seen.push(input) }, 'alpha');
    await expect(bound.loadAgent({ tenantId: 'beta' })).rejects.toMatchObject({ type: 'TENANT_MISMATCH', nonRetryable: true });
    await bound.loadAgent({ tenantId: 'alpha' });
    expect(seen).toEqual([{ tenantId: 'alpha' }]);
  });
});
