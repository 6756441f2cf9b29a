import { beforeEach, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { installRecorder, resolve, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const gcp = await import('@pulumi/gcp');
const { PlatformKeys, TenantKey } = await import('./keys.js');
const provider = () => new gcp.Provider('gcp', { project: 'acme-claw-prod', region: 'europe-west1' });
const identities = { worker: 'acme-d@p.iam.gserviceaccount.com', gateway: 'acme-i@p.iam.gserviceaccount.com', codecServer: 'acme-c@p.iam.gserviceaccount.com' };
const ring = 'projects/acme-claw-prod/locations/europe-west1/keyRings/claw-claw-tenants';

describe('TenantKey', () => {
  beforeEach(() => recorder.reset());

  it('creates a rotating key for a managed tenant, usable only by its identities with per-component roles', async () => {
    const key = new TenantKey('acme-key', { provider: provider(), tenant: { id: 'acme', key: { type: 'managed' } }, keyRingId: ring, identities });
    await settle(recorder);
    const ck = recorder.get('gcp:kms/cryptoKey:CryptoKey', 'acme-key').inputs;
    expect(ck).toMatchObject({ name: 'tenant-acme', keyRing: ring, purpose: 'ENCRYPT_DECRYPT', rotationPeriod: '7776000s', labels: { 'claw-tenant': 'acme' } });
    expect(await resolve(key.keyRef)).toBe(`${ring}/cryptoKeys/tenant-acme`);
    const bindings = recorder.ofType('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember').map((b) => [b.inputs.cryptoKeyId, b.inputs.role, b.inputs.member]).sort();
    expect(bindings).toEqual([
      [`${ring}/cryptoKeys/tenant-acme`, 'roles/cloudkms.cryptoKeyDecrypter', 'serviceAccount:acme-c@p.iam.gserviceaccount.com'],
      [`${ring}/cryptoKeys/tenant-acme`, 'roles/cloudkms.cryptoKeyEncrypter', 'serviceAccount:acme-i@p.iam.gserviceaccount.com'],
      [`${ring}/cryptoKeys/tenant-acme`, 'roles/cloudkms.cryptoKeyEncrypterDecrypter', 'serviceAccount:acme-d@p.iam.gserviceaccount.com'],
    ]);
  });

  it("grants the tenant's trace reader decrypt only, on this tenant's key only", async () => {
    new TenantKey('acme-key', { provider: provider(), tenant: { id: 'acme', key: { type: 'managed' } }, keyRingId: ring, identities, traceReader: 'acme-r@p.iam.gserviceaccount.com' });
    await settle(recorder);
    const reader = recorder.ofType('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember').filter((b) => b.inputs.member === 'serviceAccount:acme-r@p.iam.gserviceaccount.com');
    expect(reader.map((b) => [b.name, b.inputs.cryptoKeyId, b.inputs.role])).toEqual([['acme-key-trace-reader', `${ring}/cryptoKeys/tenant-acme`, 'roles/cloudkms.cryptoKeyDecrypter']]);
  });

  it('BYOK: creates no key and puts the same bindings on the customer key', async () => {
    const ref = 'projects/globex-sec/locations/europe-west1/keyRings/kr/cryptoKeys/claw';
    const key = new TenantKey('globex-key', { provider: provider(), tenant: { id: 'globex', key: { type: 'byok', ref } }, keyRingId: ring, identities });
    await settle(recorder);
    expect(recorder.ofType('gcp:kms/cryptoKey:CryptoKey')).toEqual([]);
    expect(key.managed).toBe(false);
    expect(await resolve(key.keyRef)).toBe(ref);
    expect(recorder.ofType('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember').map((b) => b.inputs.cryptoKeyId)).toEqual([ref, ref, ref]);
  });

  it('rejects a missing tenant', () => {
    expect(() => new TenantKey('x', { provider: provider(), keyRingId: ring, identities } as never)).toThrow(pulumi.InputPropertyError);
  });
});

describe('PlatformKeys', () => {
  beforeEach(() => recorder.reset());
  it('makes the platform and tenant rings and rotating platform keys', async () => {
    new PlatformKeys('keys', { provider: provider(), install: 'claw', region: 'europe-west1' });
    await settle(recorder);
    expect(recorder.ofType('gcp:kms/keyRing:KeyRing').map((r) => r.inputs.name).sort()).toEqual(['claw-claw-platform', 'claw-claw-tenants']);
    const keys = recorder.ofType('gcp:kms/cryptoKey:CryptoKey');
    expect(keys.map((k) => k.inputs.name).sort()).toEqual(['gke-secrets', 'metadata-db', 'openbao-unseal']);
    for (const k of keys) expect(k.inputs.rotationPeriod).toBe('7776000s');
  });
});
