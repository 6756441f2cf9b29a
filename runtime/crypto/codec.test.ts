/**
 * The payload codec's choice of key: the tenant owning the workflow a payload belongs to
 * (the serialization context), never the payload's own label.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Payload, SerializationContext } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNSEALABLE_ENCODING, keyringPayloadCodec, payloadTenant, tenantPayloadCodec } from './codec.js';
import { localTenantKeyring } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'claw-codec-unit-'));
const keyring = localTenantKeyring(dir);
const json = (text: string): Payload => ({ metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode(JSON.stringify(text)) });
const workflow = (workflowId: string): SerializationContext => ({ type: 'workflow', namespace: 'default', workflowId });
const activity = (workflowId: string): SerializationContext => ({ type: 'activity', namespace: 'default', workflowId, activityId: '1', isLocal: false });
const text = (p: Payload) => JSON.parse(new TextDecoder().decode(p.data!)) as string;

beforeAll(async () => {
  for (const id of ['alpha', 'beta', 'gone']) await keyring.createTenantKey(id);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the shared (keyring) codec', () => {
  const shared = keyringPayloadCodec(keyring);

  it("seals each payload under its workflow's tenant and opens it in the same context", async () => {
    const [a] = await shared.encode([json('for alpha')], workflow('alpha/run/r-1'));
    const [b] = await shared.encode([json('for beta')], activity('beta/run/r-2'));
    expect([payloadTenant(a!), payloadTenant(b!)]).toEqual(['alpha', 'beta']);
    expect(text((await shared.decode([a!], activity('alpha/run/r-1')))[0]!)).toBe('for alpha');
    expect(text((await shared.decode([b!], workflow('beta/conv/x/y/z')))[0]!)).toBe('for beta');
  });

  it("refuses a payload in another tenant's workflow, in the clear, or with no workflow to name a tenant", async () => {
    const [a] = await shared.encode([json('for alpha')], workflow('alpha/run/r-1'));
    await expect(shared.decode([a!], workflow('beta/run/r-1'))).rejects.toMatchObject({ code: 'PAYLOAD_TENANT_MISMATCH' });
    await expect(shared.decode([json('plain')], workflow('alpha/run/r-1'))).rejects.toMatchObject({ code: 'PAYLOAD_NOT_ENCRYPTED' });
    await expect(shared.decode([a!])).rejects.toMatchObject({ code: 'PAYLOAD_CONTEXT_MISSING' });
    await expect(shared.encode([json('x')])).rejects.toMatchObject({ code: 'PAYLOAD_CONTEXT_MISSING' });
    await expect(shared.decode([a!], workflow('not-a-claw-id'))).rejects.toMatchObject({ code: 'PAYLOAD_WORKFLOW_NOT_TENANT' });
  });

  it('drops content it cannot seal once the key is destroyed (never the clear text), and says so on decode', async () => {
    await shared.encode([json('warm')], activity('gone/run/r-1'));
    await keyring.destroy('gone');
    const [dropped] = await shared.encode([json('the secret result')], activity('gone/run/r-1'));
    expect(new TextDecoder().decode(dropped!.metadata!.encoding)).toBe(UNSEALABLE_ENCODING);
    expect(dropped!.data).toBeUndefined();
    expect(JSON.stringify(dropped)).not.toContain('secret');
    await expect(shared.decode([dropped!], activity('gone/run/r-1'))).rejects.toMatchObject({ code: 'PAYLOAD_UNSEALABLE' });
  });
});

describe("a tenant's own codec (its clients, the codec server)", () => {
  it("serves its tenant with or without a context, and refuses another tenant's workflow", async () => {
    const alpha = tenantPayloadCodec(await keyring.forTenant('alpha'));
    const [a] = await alpha.encode([json('hi')]);
    expect(text((await alpha.decode([a!], workflow('alpha/run/r-9')))[0]!)).toBe('hi');
    await expect(alpha.encode([json('hi')], workflow('beta/run/r-9'))).rejects.toMatchObject({ code: 'PAYLOAD_TENANT_MISMATCH' });
    await expect(alpha.decode([a!], workflow('beta/run/r-9'))).rejects.toMatchObject({ code: 'PAYLOAD_TENANT_MISMATCH' });
  });
});
