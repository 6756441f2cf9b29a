import { beforeEach, describe, expect, it } from 'vitest';
import { installRecorder, resolve, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const gcp = await import('@pulumi/gcp');
const { TenantBucket } = await import('./storage.js');
const provider = () => new gcp.Provider('gcp', { project: 'acme-claw-prod', region: 'europe-west1' });
const keyRef = 'projects/acme-claw-prod/locations/europe-west1/keyRings/claw-claw-tenants/cryptoKeys/tenant-acme';
const base = { project: 'acme-claw-prod', region: 'europe-west1', bucketName: 'claw-claw-acme-1a2b3c4d', keyRef, dataIdentity: 'acme-d@p.iam.gserviceaccount.com' };

describe('TenantBucket', () => {
  beforeEach(() => recorder.reset());

  it('encrypts with the tenant key, blocks public access, uses uniform access and grants only the data identity', async () => {
    const b = new TenantBucket('acme-bucket', { provider: provider(), ...base, tenant: { id: 'acme', bucket: { type: 'managed' } } });
    await settle(recorder);
    const bucket = recorder.get('gcp:storage/bucket:Bucket', 'acme-bucket').inputs;
    expect(bucket).toMatchObject({
      name: 'claw-claw-acme-1a2b3c4d', location: 'europe-west1',
      uniformBucketLevelAccess: true, publicAccessPrevention: 'enforced',
      encryption: { defaultKmsKeyName: keyRef }, versioning: { enabled: true }, labels: { 'claw-tenant': 'acme' },
    });
    const members = recorder.ofType('gcp:storage/bucketIAMMember:BucketIAMMember');
    expect(members.map((m) => [m.inputs.role, m.inputs.member])).toEqual([['roles/storage.objectAdmin', 'serviceAccount:acme-d@p.iam.gserviceaccount.com']]);
    const agent = recorder.get('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember', 'acme-bucket-gcs-agent').inputs;
    expect(agent).toMatchObject({ cryptoKeyId: keyRef, member: expect.stringMatching(/@gs-project-accounts\.iam\.gserviceaccount\.com$/) });
    expect(await resolve(b.bucket)).toBe('claw-claw-acme-1a2b3c4d');
    expect(b.requiredBindings).toEqual([]);
  });

  it('BYOB: creates no bucket and no binding; reports the grant the customer applies', async () => {
    const b = new TenantBucket('globex-bucket', { provider: provider(), ...base, tenant: { id: 'globex', bucket: { type: 'byob', name: 'globex-data', prefix: 'claw/' } } });
    await settle(recorder);
    expect(recorder.resources.filter((r) => r.type.startsWith('gcp:'))).toEqual([]);
    expect(await resolve(b.bucket)).toBe('globex-data');
    expect(b.prefix).toBe('claw/');
    expect(b.requiredBindings.map((x) => [x.resource, x.role])).toEqual([['gs://globex-data', 'roles/storage.objectAdmin']]);
    expect(await resolve(b.requiredBindings[0]!.member)).toBe('serviceAccount:acme-d@p.iam.gserviceaccount.com');
  });
});
