import { beforeEach, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { installRecorder, resolve, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const gcp = await import('@pulumi/gcp');
const { TenantDataset } = await import('./lakehouse.js');
const { GcpLake, tableResource, tableSchemaProblems } = await import('../../runtime/traces/gcp-lake.js');
const { startBigQueryStandin } = await import('../../runtime/traces/testing/bigquery-standin.js');
const { ContentSealer } = await import('../../runtime/traces/seal.js');
const { localKeyring, mustShowRun, tempStateDir } = await import('../../runtime/traces/testing/support.js');
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

  // The stack's table is the one runtime/traces/gcp-lake.ts would create (tableResource) and
  // accepts (tableSchemaProblems, LAKE_TABLE_SCHEMA otherwise): a table declared from any
  // other schema is refused by every worker, and without content_key nothing decrypts.
  it("declares the table gcp-lake creates: tableResource()'s schema, day partitions, clustering and key", async () => {
    new TenantDataset('acme-lake', { provider: provider(), ...base });
    await settle(recorder);
    const table = recorder.get('gcp:bigquery/table:Table', 'acme-lake-traces').inputs;
    const want = tableResource({ projectId: base.project, datasetId: base.datasetId, kmsKeyName: keyRef }, 'traces') as any;
    expect(asRestTable(table)).toEqual(want);
    expect(tableSchemaProblems(asRestTable(table))).toEqual([]);
  });

  it("is accepted by the GCP lake as it is: the worker's table checks pass and a run's rows load into it", async () => {
    new TenantDataset('acme-lake', { provider: provider(), ...base });
    await settle(recorder);
    const declared = asRestTable(recorder.get('gcp:bigquery/table:Table', 'acme-lake-traces').inputs);
    const standin = await startBigQueryStandin();
    const { stateDir, cleanup } = tempStateDir();
    try {
      standin.addDataset({ projectId: base.project, datasetId: base.datasetId, kmsKeyName: keyRef }).tables.set('traces', { resource: declared, rows: [] });
      const writer = new GcpLake({ baseUrl: standin.url, accessToken: async () => 'token', tenant: () => ({ projectId: base.project, datasetId: base.datasetId, kmsKeyName: keyRef }), jobTimeoutMs: 10_000 });
      const rows = await new ContentSealer(await (await localKeyring(stateDir, ['acme'])).forTenant('acme')).seal(mustShowRun('acme', 'run-1'));
      await writer.writeSegment('acme', '000001764072000-0a0b0c0d', rows);
      const stored = standin.datasets.get(`${base.project}:${base.datasetId}`)!.tables.get('traces')!;
      expect(stored.rows).toHaveLength(rows.length);
      expect(stored.rows.filter((r) => r.content !== null).every((r) => typeof r.content_key === 'string')).toBe(true);
      // The lake used the declared table; it did not create its own.
      expect(standin.requests.some((r) => r.method === 'POST' && r.path.endsWith('/tables'))).toBe(false);
    } finally {
      await standin.close();
      cleanup();
    }
  });

  it("lets the tenant's trace reader read this dataset (dataViewer), and write nothing", async () => {
    new TenantDataset('acme-lake', { provider: provider(), ...base, readerIdentity: 'acme-r@p.iam.gserviceaccount.com' });
    await settle(recorder);
    const members = recorder.ofType('gcp:bigquery/datasetIamMember:DatasetIamMember').map((m) => [m.inputs.datasetId, m.inputs.role, m.inputs.member]);
    expect(members).toEqual([
      ['claw_claw_acme', 'roles/bigquery.dataEditor', 'serviceAccount:acme-d@p.iam.gserviceaccount.com'],
      ['claw_claw_acme', 'roles/bigquery.dataViewer', 'serviceAccount:acme-r@p.iam.gserviceaccount.com'],
    ]);
    // Nothing at the project level: its jobs.query right (bigquery.jobUser) comes from TenantIdentities.
    expect(recorder.ofType('gcp:projects/iAMMember:IAMMember')).toEqual([]);
  });

  it('rejects a dataset id BigQuery would refuse', () => {
    expect(() => new TenantDataset('x', { provider: provider(), ...base, datasetId: 'claw-acme' })).toThrow(pulumi.InputPropertyError);
  });
});

/** The Pulumi inputs of a gcp.bigquery.Table as the BigQuery REST resource the lake reads (tables.get). */
function asRestTable(inputs: Record<string, any>) {
  return {
    tableReference: { projectId: inputs.project, datasetId: inputs.datasetId, tableId: inputs.tableId },
    description: inputs.description,
    schema: { fields: JSON.parse(inputs.schema) },
    timePartitioning: inputs.timePartitioning,
    clustering: { fields: inputs.clusterings },
    encryptionConfiguration: inputs.encryptionConfiguration,
  };
}
