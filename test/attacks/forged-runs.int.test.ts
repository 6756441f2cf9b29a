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
import { MockActivityEnvironment } from '@temporalio/testing';
import { bindToWorkflowTenant } from '../../runtime/worker/runtime-worker.js';
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
      ...h.tenant.route,
      workflowId: runWorkflowId(h.tenantId, runId),
      args: [{ tenantId: h.tenantId, runId, agentId: 'helper', message: 'hello' }],
    });
    const failure = await eventually(async () => {
      const history = await handle.fetchHistory();
      return (history.events ?? []).map((e) => e.workflowTaskFailedEventAttributes?.failure).find(Boolean) ?? undefined;
    }, 'a failed workflow task in the forged run', 30_000, 250);
    // The refusal is claw's own message (a code and ids, no tenant content): a failure outside
    // workflow code names no tenant key to seal it under, so it stays readable (failure-converter.cjs).
    expect(failure.message).toMatch(/not encrypted; it was not written by claw/);
    expect(failure.encodedAttributes).toBeFalsy();
    expect(h.traces.filter((e) => e.runId === runId)).toEqual([]);
    expect(h.modelCalls).toEqual([]);
    await handle.terminate('test cleanup');
  });

  it("a start sealed with this tenant's key that claims another tenant is refused by the activities", async () => {
    const runId = 'r-forged-tenant';
    const other = 'victim-tenant';
    const handle = await h.tenant.client.workflow.start('agentRun', {
      ...h.tenant.route,
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

  it("the shared Worker refuses activity input that names a tenant other than its workflow's", async () => {
    const seen: unknown[] = [];
    const bound = bindToWorkflowTenant({ loadAgent: async (input: { tenantId: string }) => void seen.push(input) });
    const inAlphaRun = new MockActivityEnvironment({ workflowExecution: { workflowId: 'alpha/run/r-1', runId: 'x' } });
    await expect(inAlphaRun.run(bound.loadAgent, { tenantId: 'beta' })).rejects.toMatchObject({ type: 'TENANT_MISMATCH', nonRetryable: true });
    // A workflow id that names no tenant is refused whatever the input claims.
    const inStrayRun = new MockActivityEnvironment({ workflowExecution: { workflowId: 'no-tenant-here', runId: 'x' } });
    await expect(inStrayRun.run(bound.loadAgent, { tenantId: 'alpha' })).rejects.toMatchObject({ type: 'TENANT_MISMATCH' });
    await inAlphaRun.run(bound.loadAgent, { tenantId: 'alpha' });
    expect(seen).toEqual([{ tenantId: 'alpha' }]);
  });
});
