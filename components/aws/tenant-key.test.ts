import { beforeAll, describe, expect, it } from 'vitest';
import type * as TenantKeyModule from './tenant-key.js';
import type * as Synth from '../../policies/infra/synth.js';

// STYLE.md: the mocks exist before the module under test is imported (synth installs them per run).
let synth: typeof Synth;
let mod: typeof TenantKeyModule;
let aws: typeof import('@pulumi/aws');
beforeAll(async () => {
  synth = await import('../../policies/infra/synth.js');
  await synth.synthesize(() => {}); // installs the mocks
  mod = await import('./tenant-key.js');
  aws = await import('@pulumi/aws');
});

const roles = {
  tenantRoleArn: 'arn:aws:iam::111122223333:role/claw/prod/tenants/claw-prod-t-acme',
  gatewayRoleArn: 'arn:aws:iam::111122223333:role/claw/prod/runtime/claw-prod-gateway',
  codecServerRoleArn: 'arn:aws:iam::111122223333:role/claw/prod/runtime/claw-prod-codec-server',
};

async function run(key: { type: 'managed' } | { type: 'byok'; ref: string }) {
  let keyArn: unknown;
  const result = await synth.synthesize(() => {
    const provider = new aws.Provider('aws', { region: 'eu-west-1' });
    const k = new mod.TenantKey('acme', { install: 'prod', tenantId: 'acme', key, partition: 'aws', accountId: '111122223333', ...roles, provider });
    return { keyArn: k.keyArn };
  });
  keyArn = result.outputs.keyArn;
  return { ...result, keyArn };
}

describe('TenantKey (managed)', () => {
  it('declares one rotating key with a 30-day deletion window and an alias naming the tenant', async () => {
    const { resources } = await run({ type: 'managed' });
    const keys = synth.ofType(resources, 'aws:kms/key:Key');
    expect(keys).toHaveLength(1);
    expect(keys[0]!.name).toBe('acme-key');
    expect(keys[0]!.inputs).toMatchObject({ enableKeyRotation: true, deletionWindowInDays: 30, customerMasterKeySpec: 'SYMMETRIC_DEFAULT', tags: { 'claw:tenant': 'acme' } });
    expect(synth.named(resources, 'aws:kms/alias:Alias', 'acme-alias').inputs.name).toBe('alias/claw/prod/acme');
    expect(synth.ofType(resources, 'aws:kms/grant:Grant')).toHaveLength(0);
  });

  it('key policy: crypto use only by the tenant role; gateway encrypt-only and codec decrypt-only, both bound to the tenant context', async () => {
    const { resources } = await run({ type: 'managed' });
    const policy = JSON.parse(synth.ofType(resources, 'aws:kms/key:Key')[0]!.inputs.policy);
    const bySid = Object.fromEntries(policy.Statement.map((s: { Sid: string }) => [s.Sid, s]));
    expect(Object.keys(bySid).sort()).toEqual(['CodecServerDecryptPayloadsOnly', 'GatewayEncryptOnly', 'KeyAdministration', 'TenantWorkloadUse']);
    expect(bySid.TenantWorkloadUse.Principal).toEqual({ AWS: roles.tenantRoleArn });
    expect(bySid.TenantWorkloadUse.Action).toContain('kms:Decrypt');
    expect(bySid.GatewayEncryptOnly.Principal).toEqual({ AWS: roles.gatewayRoleArn });
    expect(bySid.GatewayEncryptOnly.Action).toEqual(['kms:Encrypt', 'kms:GenerateDataKey']);
    expect(bySid.GatewayEncryptOnly.Condition).toEqual({ StringEquals: { 'kms:EncryptionContext:claw:tenant': 'acme' } });
    expect(bySid.CodecServerDecryptPayloadsOnly.Action).toEqual(['kms:Decrypt']);
    expect(bySid.CodecServerDecryptPayloadsOnly.Condition.StringEquals['kms:EncryptionContext:claw:purpose']).toBe('payload');
    // Administration never includes use, and nothing is a wildcard.
    expect(bySid.KeyAdministration.Principal).toEqual({ AWS: 'arn:aws:iam::111122223333:root' });
    for (const action of ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:*', '*']) {
      expect(bySid.KeyAdministration.Action).not.toContain(action);
    }
    for (const s of policy.Statement) {
      expect(JSON.stringify(s.Principal)).not.toMatch(/"\*"/);
      expect(s.Action).not.toContain('kms:*');
    }
  });
});

describe('TenantKey (BYOK)', () => {
  const ref = 'arn:aws:kms:eu-west-1:444455556666:key/7b0c2d1e-9f3a-4b5c-8d6e-1a2b3c4d5e6f';

  it('declares no key of ours: three grants on the customer key, scoped like the key policy', async () => {
    const { resources, keyArn } = await run({ type: 'byok', ref });
    expect(synth.ofType(resources, 'aws:kms/key:Key')).toHaveLength(0);
    expect(synth.ofType(resources, 'aws:kms/alias:Alias')).toHaveLength(0);
    expect(keyArn).toBe(ref);
    const grants = Object.fromEntries(synth.ofType(resources, 'aws:kms/grant:Grant').map((g) => [g.name, g.inputs]));
    expect(Object.keys(grants).sort()).toEqual(['acme-grant-codec', 'acme-grant-gateway', 'acme-grant-tenant']);
    for (const g of Object.values(grants)) expect(g.keyId).toBe(ref);
    expect(grants['acme-grant-tenant']!.granteePrincipal).toBe(roles.tenantRoleArn);
    expect(grants['acme-grant-gateway']).toMatchObject({ granteePrincipal: roles.gatewayRoleArn, operations: ['Encrypt', 'GenerateDataKey'], constraints: [{ encryptionContextSubset: { 'claw:tenant': 'acme' } }] });
    expect(grants['acme-grant-codec']).toMatchObject({ granteePrincipal: roles.codecServerRoleArn, operations: ['Decrypt'], constraints: [{ encryptionContextSubset: { 'claw:tenant': 'acme', 'claw:purpose': 'payload' } }] });
  });

  it('resolves an alias ARN to the key ARN before granting (grants cannot name an alias)', async () => {
    const { resources, keyArn } = await run({ type: 'byok', ref: 'arn:aws:kms:eu-west-1:444455556666:alias/acme-claw' });
    expect(String(keyArn)).toMatch(/^arn:aws:kms:eu-west-1:444455556666:key\/[0-9a-f-]{36}$/);
    for (const g of synth.ofType(resources, 'aws:kms/grant:Grant')) expect(g.inputs.keyId).toBe(keyArn);
  });
});
