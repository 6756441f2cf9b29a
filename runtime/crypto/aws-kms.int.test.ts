/**
 * The aws-kms backend on moto's KMS: the shared keyring contract, plus what is AWS's own
 * (managed keys behind `alias/claw/<tenant>`, BYOK key ARNs, rotation, deletion).
 * What moto cannot do (throttle, refuse a key pending deletion on Decrypt) is in
 * aws-kms.test.ts against a loopback fault server.
 */
import { describe, expect, inject, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, DescribeKeyCommand, GetKeyRotationStatusCommand, KMSClient, ListAliasesCommand, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { EnvelopeKeyring } from './index.js';
import { AwsKmsBackend, awsKmsTenantKeyring, type AwsKmsKeyringOptions } from './aws-kms.js';
import { codeOf, describeKeyringContract, headerOf } from './testing/keyring-contract.js';

// Fake credentials for moto; real ones must never reach a test.
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const endpoint = () => inject('motoEndpoint');
const region = 'us-east-1';

/** KMS commands sent by every backend built here, by command name (counted by client middleware). */
const sent = new Map<string, number>();
const sentCount = (command: string) => sent.get(command) ?? 0;

function backend(options: Partial<AwsKmsKeyringOptions> = {}): AwsKmsBackend {
  const kms = new AwsKmsBackend({ region, endpoint: endpoint(), credentials, stateCheckMs: 200, ...options });
  kms.client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.set(context.commandName!, sentCount(context.commandName!) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'clawCountKmsCalls' },
  );
  return kms;
}

function admin(): KMSClient {
  return new KMSClient({ region, endpoint: endpoint(), credentials });
}

describeKeyringContract('AWS KMS (moto)', () => ({
  open: (limits) => new EnvelopeKeyring(backend(), limits),
  rootKeyCalls: () => ({ wrap: sentCount('GenerateDataKeyCommand'), unwrap: sentCount('DecryptCommand') }),
  shredNoticeMs: 5_000,
  assertShredded: async (tenantId) => {
    const { KeyMetadata } = await admin().send(new DescribeKeyCommand({ KeyId: `alias/claw/${tenantId}` }));
    expect(KeyMetadata?.KeyState).toBe('PendingDeletion');
    expect(KeyMetadata?.DeletionDate).toBeInstanceOf(Date);
  },
}));

describe('aws-kms backend specifics (moto)', () => {
  const tenant = () => `t-${randomBytes(4).toString('hex')}`;

  it('creates one managed key per tenant behind alias/claw/<tenant>, tagged, with rotation on; idempotently', async () => {
    const id = tenant();
    const keyring = awsKmsTenantKeyring({ region, endpoint: endpoint(), credentials });
    await keyring.createTenantKey(id);
    await keyring.createTenantKey(id);
    const aliases = (await admin().send(new ListAliasesCommand({}))).Aliases ?? [];
    const mine = aliases.filter((a) => a.AliasName === `alias/claw/${id}`);
    expect(mine).toHaveLength(1);
    const keyId = mine[0]!.TargetKeyId!;
    expect((await admin().send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled).toBe(true);
    const tags = (await admin().send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags ?? [];
    expect(tags).toContainEqual({ TagKey: 'claw:tenant', TagValue: id });
    // Wrapped data keys name the key ARN (not the alias), which is what unwrap checks against.
    const sealed = await (await keyring.forTenant(id)).encrypt(Buffer.from('x'), 'payload');
    const { KeyMetadata } = await admin().send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(headerOf(sealed).k).toEqual([expect.objectContaining({ p: 'aws-kms', i: KeyMetadata!.Arn })]);
  });

  it('uses a BYOK key ARN as given: never creates a key for that tenant; shredding schedules the deletion of that key', async () => {
    const id = tenant();
    const { KeyMetadata: customerKey } = await admin().send(new CreateKeyCommand({ Description: 'customer-owned key' }));
    const creates = sentCount('CreateKeyCommand');
    const kms = backend({ keys: { [id]: customerKey!.Arn! } });
    const keyring = new EnvelopeKeyring(kms);
    await keyring.createTenantKey(id);
    expect(sentCount('CreateKeyCommand')).toBe(creates);
    const sealed = await (await keyring.forTenant(id)).encrypt(Buffer.from('byok data'), 'blob');
    expect(headerOf(sealed).k[0]!.i).toBe(customerKey!.Arn);
    const reader = new EnvelopeKeyring(backend({ keys: { [id]: customerKey!.Arn! } }));
    expect(Buffer.from(await (await reader.forTenant(id)).decrypt(sealed, 'blob')).toString()).toBe('byok data');
    await keyring.destroy(id);
    const after = await admin().send(new DescribeKeyCommand({ KeyId: customerKey!.KeyId! }));
    expect(after.KeyMetadata?.KeyState).toBe('PendingDeletion');
    expect(await codeOf(new EnvelopeKeyring(backend({ keys: { [id]: customerKey!.Arn! } })).forTenant(id))).toBe('TENANT_KEY_DESTROYED');
  });

  it('a BYOK key ARN that does not exist is TENANT_KEY_MISSING, and is not created', async () => {
    const id = tenant();
    const missing = 'arn:aws:kms:us-east-1:123456789012:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
    const keyring = new EnvelopeKeyring(backend({ keys: { [id]: missing } }));
    expect(await codeOf(keyring.createTenantKey(id))).toBe('TENANT_KEY_MISSING');
    expect(await codeOf(keyring.forTenant(id))).toBe('TENANT_KEY_MISSING');
  });

  it('names managed keys per install as the aws stack does; with createKeys off a missing key is reported, not created', async () => {
    const id = tenant();
    const keyring = new EnvelopeKeyring(backend({ install: 'prod-eu' }));
    await keyring.createTenantKey(id);
    const { KeyMetadata } = await admin().send(new DescribeKeyCommand({ KeyId: `alias/claw/prod-eu/${id}` }));
    expect(KeyMetadata?.KeyState).toBe('Enabled');
    const tags = (await admin().send(new ListResourceTagsCommand({ KeyId: KeyMetadata!.KeyId! }))).Tags ?? [];
    expect(tags).toEqual(expect.arrayContaining([{ TagKey: 'claw:tenant', TagValue: id }, { TagKey: 'claw:install', TagValue: 'prod-eu' }]));
    const creates = sentCount('CreateKeyCommand');
    expect(await codeOf(new EnvelopeKeyring(backend({ install: 'prod-eu', createKeys: false })).createTenantKey(tenant()))).toBe('TENANT_KEY_MISSING');
    expect(sentCount('CreateKeyCommand')).toBe(creates);
  });

  it('rotation turns on KMS key rotation and rotates the material now', async () => {
    const id = tenant();
    const keyring = new EnvelopeKeyring(backend());
    await keyring.createTenantKey(id);
    const before = sentCount('RotateKeyOnDemandCommand');
    await keyring.rotate(id);
    expect(sentCount('RotateKeyOnDemandCommand')).toBe(before + 1);
    const { KeyMetadata } = await admin().send(new DescribeKeyCommand({ KeyId: `alias/claw/${id}` }));
    expect((await admin().send(new GetKeyRotationStatusCommand({ KeyId: KeyMetadata!.KeyId! }))).KeyRotationEnabled).toBe(true);
  });
});
