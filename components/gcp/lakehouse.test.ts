import { beforeEach, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { installRecorder, resolve, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const gcp = await import('@pulumi/gcp');
const { TenantDataset } = await import('./lakehouse.js');
const provider = () => new gcp.Provider('gcp', { project: 'acme-claw-prod', region: 'europe-west1' });
const keyRef = 'projects/acme-claw-prod/locations/europe-west1/keyRings/claw-claw-tenants/cryptoKeys/tenant-acme';
const base = { project: 'acme-claw-prod', region: 'europe-west1', tenantId: 'acme', datasetId: 'claw_claw_acme', keyRef, dataIdentity: 'acme-d@p.iam.gserviceaccount.com' };

describe('TenantDataset', () => {
  beforeEach(() => recorder.reset());

  it('encrypts the dataset and the traces table with the tenant key after granting the BigQuery agent on it', async () => {
    const d = new TenantDataset('acme-lake', { provider: provider(), ...base });
    await settle(recorder);
    const dataset = recorder.get('gcp:bigquery/dataset:Dataset', 'acme-lake').inputs;
    expect(dataset).toMatchObject({ datasetId: 'claw_claw_acme', location: 'europe-west1', defaultEncryptionConfiguration: { kmsKeyName: keyRef }, labels: { 'claw-tenant': 'acme' } });
    const table = recorder.get('gcp:bigquery/table:Table', 'acme-lake-traces').inputs;
    expect(table.encryptionConfiguration).toEqual({ kmsKeyName: keyRef });
    expect(JSON.parse(table.schema).map((f: any) => f.name)).toContain('content');
    const agent = recorder.get('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember', 'acme-lake-bq-agent').inputs;
    expect(agent).toMatchObject({ cryptoKeyId: keyRef, role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', member: expect.stringMatching(/@bigquery-encryption\.iam\.gserviceaccount\.com$/) });
    expect(recorder.ofType('gcp:bigquery/datasetIamMember:DatasetIamMember').map((m) => [m.inputs.role, m.inputs.member])).toEqual([['roles/bigquery.dataEditor', 'serviceAccount:acme-d@p.iam.gserviceaccount.com']]);
    expect(await resolve(d.datasetRef)).toBe('acme-claw-prod:claw_claw_acme');
  });

  it('rejects a dataset id BigQuery would refuse', () => {
    expect(() => new TenantDataset('x', { provider: provider(), ...base, datasetId: 'claw-acme' })).toThrow(pulumi.InputPropertyError);
  });
});
