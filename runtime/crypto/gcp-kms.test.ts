/**
 * The gcp-kms backend against a loopback Cloud KMS STAND-IN (runtime/crypto/testing/
 * cloudkms-standin.ts): no Cloud KMS emulator exists, so these tests show the backend
 * speaks the REST API as documented and behaves like every other keyring; they do not
 * prove Cloud KMS itself behaves like the stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { EnvelopeKeyring } from './index.js';
import { GcpKmsBackend, gcpKmsTenantKeyring } from './gcp-kms.js';
import { crc32c, gceMetadataToken } from './gcp-kms.js';
import { startCloudKmsStandIn, type CloudKmsStandIn } from './testing/cloudkms-standin.js';
import { codeOf, describeKeyringContract, failureOf, headerOf } from './testing/keyring-contract.js';

let standin: CloudKmsStandIn;
beforeAll(async () => {
  standin = await startCloudKmsStandIn();
});
afterAll(async () => {
  await standin?.close();
});

const location = { project: 'claw-test', location: 'europe-west1', keyRing: 'claw-tenants' };
const keyRingName = `projects/${location.project}/locations/${location.location}/keyRings/${location.keyRing}`;
const fastRetry = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

function backend(overrides: Partial<ConstructorParameters<typeof GcpKmsBackend>[0]> = {}): GcpKmsBackend {
  return new GcpKmsBackend({ ...location, baseUrl: standin.baseUrl, token: async () => standin.token, retry: fastRetry, stateCheckMs: 200, ...overrides });
}

describeKeyringContract('Cloud KMS (loopback stand-in, not the real service)', () => ({
  open: (limits) => new EnvelopeKeyring(backend(), limits),
  rootKeyCalls: () => ({ wrap: standin.count('encrypt'), unwrap: standin.count('decrypt') }),
  shredNoticeMs: 5_000,
  keyVersionOf: (sealed) => headerOf(sealed).k[0]!.i,
  assertShredded: async (tenantId) => {
    const versions = standin.versions(`${keyRingName}/cryptoKeys/tenant-${tenantId}`);
    expect(versions.length).toBeGreaterThan(0);
    for (const v of versions) {
      expect(v.state).toBe('DESTROY_SCHEDULED');
      expect(v.hasMaterial).toBe(false);
    }
  },
}));

describe('gcp-kms backend specifics (against the Cloud KMS stand-in)', () => {
  const tenant = () => `t-${randomBytes(4).toString('hex')}`;

  it('computes CRC32C (Castagnoli) as Cloud KMS checks it', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(String(0xe3069283));
    expect(crc32c(new Uint8Array(0))).toBe('0');
  });

  it('wraps under the primary version; after rotation new data names the new version and destroy takes every version', async () => {
    const keyring = gcpKmsTenantKeyring({ ...location, baseUrl: standin.baseUrl, token: async () => standin.token, retry: fastRetry });
    const id = tenant();
    await keyring.createTenantKey(id);
    const key = `${keyRingName}/cryptoKeys/tenant-${id}`;
    const crypto = await keyring.forTenant(id);
    const v1 = await crypto.encrypt(Buffer.from('one'), 'record');
    expect(headerOf(v1).k).toEqual([expect.objectContaining({ p: 'gcp-kms', i: `${key}/cryptoKeyVersions/1` })]);
    await keyring.rotate(id);
    await keyring.rotate(id);
    const v3 = await crypto.encrypt(Buffer.from('three'), 'record');
    expect(headerOf(v3).k[0]!.i).toBe(`${key}/cryptoKeyVersions/3`);
    // The stand-in lists two versions a page: destroy must follow nextPageToken to find all three.
    await keyring.destroy(id);
    expect(standin.versions(key).map((v) => v.state)).toEqual(['DESTROY_SCHEDULED', 'DESTROY_SCHEDULED', 'DESTROY_SCHEDULED']);
  });

  it('maps a destroyed version (FAILED_PRECONDITION) met at unwrap to TENANT_KEY_DESTROYED', async () => {
    const id = tenant();
    const writer = new EnvelopeKeyring(backend());
    await writer.createTenantKey(id);
    const sealed = await (await writer.forTenant(id)).encrypt(Buffer.from('x'), 'blob');
    // A reader that resolved the key before the shred and has no cached data key asks Cloud KMS, which refuses.
    const reader = new EnvelopeKeyring(backend({ stateCheckMs: 60_000 }));
    const crypto = await reader.forTenant(id);
    await new EnvelopeKeyring(backend()).destroy(id);
    const before = standin.count('decrypt');
    expect(await codeOf(crypto.decrypt(sealed, 'blob'))).toBe('TENANT_KEY_DESTROYED');
    expect(standin.count('decrypt') - before).toBe(1);
  });

  it('retries 429 a bounded number of times, then says KMS_THROTTLED; a short burst is absorbed', async () => {
    const id = tenant();
    const keyring = new EnvelopeKeyring(backend());
    await keyring.createTenantKey(id);
    const crypto = await keyring.forTenant(id);
    standin.throttleNext(2);
    const sealed = await crypto.encrypt(Buffer.from('through the burst'), 'payload');
    expect(Buffer.from(await crypto.decrypt(sealed, 'payload')).toString()).toBe('through the burst');

    const cold = await new EnvelopeKeyring(backend({ stateCheckMs: 60_000 })).forTenant(id);
    const before = standin.requests.length;
    standin.throttleNext(1_000);
    const failure = await failureOf(cold.encrypt(Buffer.from('y'), 'payload'));
    standin.throttleNext(0);
    expect(failure.code).toBe('KMS_THROTTLED');
    expect(failure.text).toContain('4 attempts');
    const seen = standin.requests.slice(before);
    expect(seen.length).toBe(fastRetry.attempts);
    expect(seen.every((r) => r.status === 429 && r.op === 'encrypt')).toBe(true);
  });

  it('maps 403 to KMS_ACCESS_DENIED and 404 to TENANT_KEY_MISSING, naming the key and no secret', async () => {
    const id = tenant();
    const keyring = new EnvelopeKeyring(backend());
    await keyring.createTenantKey(id);
    const crypto = await keyring.forTenant(id);
    standin.deny(`${keyRingName}/cryptoKeys/tenant-${id}`);
    const denied = await failureOf(crypto.encrypt(Buffer.from('z'), 'payload'));
    expect(denied.code).toBe('KMS_ACCESS_DENIED');
    expect(denied.text).toContain(`cryptoKeys/tenant-${id}`);
    expect(denied.text).not.toContain(standin.token);

    const byok = new EnvelopeKeyring(backend({ keys: { [id]: 'projects/customer/locations/global/keyRings/theirs/cryptoKeys/gone' } }));
    expect(await codeOf(byok.forTenant(id))).toBe('TENANT_KEY_MISSING');
    // A BYOK key is the customer's: createTenantKey checks it, never creates it.
    expect(await codeOf(byok.createTenantKey(id))).toBe('TENANT_KEY_MISSING');
    expect(standin.versions('projects/customer/locations/global/keyRings/theirs/cryptoKeys/gone')).toEqual([]);
    // Where the stacks own key creation, a missing managed key is reported, not created.
    const other = tenant();
    expect(await codeOf(new EnvelopeKeyring(backend({ createKeys: false })).createTenantKey(other))).toBe('TENANT_KEY_MISSING');
    expect(standin.versions(`${keyRingName}/cryptoKeys/tenant-${other}`)).toEqual([]);
  });

  it('a wrong token is KMS_ACCESS_DENIED, and the token never appears in the error', async () => {
    const id = tenant();
    await new EnvelopeKeyring(backend()).createTenantKey(id);
    const wrong = `ya29.not-${randomBytes(8).toString('hex')}`;
    const failure = await failureOf(new EnvelopeKeyring(backend({ token: async () => wrong })).forTenant(id));
    expect(failure.code).toBe('KMS_ACCESS_DENIED');
    expect(failure.text).not.toContain(wrong);
  });

  it('gets its bearer token from the metadata server (Workload Identity), once per token lifetime', async () => {
    const id = tenant();
    const before = standin.count('metadataToken');
    const keyring = new EnvelopeKeyring(backend({ token: gceMetadataToken({ baseUrl: standin.baseUrl }) }));
    await keyring.createTenantKey(id);
    const crypto = await keyring.forTenant(id);
    await crypto.decrypt(await crypto.encrypt(Buffer.from('w'), 'payload'), 'payload');
    expect(standin.count('metadataToken') - before).toBe(1);
  });

  it('an unreachable endpoint is KMS_UNAVAILABLE after the bounded retry, not a crash', async () => {
    const dead = await startCloudKmsStandIn();
    await dead.close();
    const failure = await failureOf(new EnvelopeKeyring(backend({ baseUrl: dead.baseUrl })).forTenant('acme'));
    expect(failure.code).toBe('KMS_UNAVAILABLE');
  });

  it('refuses a BYOK key that is not a CryptoKey name, before any call', () => {
    expect(() => backend({ keys: { acme: 'projects/p/keyRings/r' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
