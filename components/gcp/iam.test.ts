import { beforeEach, describe, expect, it } from 'vitest';
import { installRecorder, resolve, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const gcp = await import('@pulumi/gcp');
const { ComponentIdentities, TenantIdentities } = await import('./iam.js');
const provider = () => new gcp.Provider('gcp', { project: 'acme-claw-prod', region: 'europe-west1' });

describe('ComponentIdentities', () => {
  beforeEach(() => recorder.reset());

  it('binds each component GSA to exactly its Kubernetes ServiceAccount and grants nothing else', async () => {
    const ids = new ComponentIdentities('ids', { provider: provider(), project: 'acme-claw-prod', install: 'claw', workloadPool: 'acme-claw-prod.svc.id.goog' });
    await settle(recorder);
    const wi = recorder.ofType('gcp:serviceaccount/iAMMember:IAMMember').map((m) => [m.inputs.role, m.inputs.member]).sort();
    expect(wi).toEqual([
      ['roles/iam.workloadIdentityUser', 'serviceAccount:acme-claw-prod.svc.id.goog[claw/claw-codec-server]'],
      ['roles/iam.workloadIdentityUser', 'serviceAccount:acme-claw-prod.svc.id.goog[claw/claw-gateway]'],
      ['roles/iam.workloadIdentityUser', 'serviceAccount:acme-claw-prod.svc.id.goog[claw/claw-worker]'],
      ['roles/iam.workloadIdentityUser', 'serviceAccount:acme-claw-prod.svc.id.goog[openbao/openbao]'],
    ]);
    expect(recorder.ofType('gcp:projects/iAMMember:IAMMember')).toEqual([]);
    expect(await resolve(ids.emails.gateway)).toBe('claw-claw-gateway@acme-claw-prod.iam.gserviceaccount.com');
  });
});

describe('TenantIdentities', () => {
  beforeEach(() => recorder.reset());

  it('creates data, ingest, decode and trace-reader identities, each impersonable only by its component (the reader by the gateway)', async () => {
    const t = new TenantIdentities('acme', {
      provider: provider(), project: 'acme-claw-prod', install: 'claw', tenantId: 'acme',
      impersonators: { worker: 'w@x.iam.gserviceaccount.com', gateway: 'g@x.iam.gserviceaccount.com', codecServer: 'c@x.iam.gserviceaccount.com' },
    });
    await settle(recorder);
    const accounts = recorder.ofType('gcp:serviceaccount/account:Account');
    expect(accounts.map((a) => a.inputs.accountId)).toHaveLength(4);
    const tokenCreators = recorder.ofType('gcp:serviceaccount/iAMMember:IAMMember').map((m) => [m.name, m.inputs.role, m.inputs.member]).sort();
    expect(tokenCreators).toEqual([
      ['acme-data-impersonate', 'roles/iam.serviceAccountTokenCreator', 'serviceAccount:w@x.iam.gserviceaccount.com'],
      ['acme-decode-impersonate', 'roles/iam.serviceAccountTokenCreator', 'serviceAccount:c@x.iam.gserviceaccount.com'],
      ['acme-ingest-impersonate', 'roles/iam.serviceAccountTokenCreator', 'serviceAccount:g@x.iam.gserviceaccount.com'],
      ['acme-traces-impersonate', 'roles/iam.serviceAccountTokenCreator', 'serviceAccount:g@x.iam.gserviceaccount.com'],
    ]);
    const reader = await resolve(t.traceReaderEmail);
    expect(reader).toMatch(/^ct-acme-[0-9a-f]{6}-r@acme-claw-prod\.iam\.gserviceaccount\.com$/);
    // Project level: BigQuery jobs only (jobs.query), for the worker and the reader; data access is per dataset.
    expect(recorder.ofType('gcp:projects/iAMMember:IAMMember').map((m) => [m.inputs.role, m.inputs.member]).sort()).toEqual([
      ['roles/bigquery.jobUser', `serviceAccount:${reader}`],
      ['roles/bigquery.jobUser', `serviceAccount:${await resolve(t.emails.worker)}`],
    ].sort());
    const worker = await resolve(t.emails.worker);
    expect(worker).toMatch(/^ct-acme-[0-9a-f]{6}-d@acme-claw-prod\.iam\.gserviceaccount\.com$/);
    expect(recorder.get('gcp:projects/iAMMember:IAMMember', 'acme-bq-jobs').inputs).toMatchObject({ role: 'roles/bigquery.jobUser', member: `serviceAccount:${worker}` });
  });
});
