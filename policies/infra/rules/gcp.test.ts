/**
 * The GCP guardrails, tested as pulumi-policy-aws tests its rules (STYLE.md): a fake
 * ResourceValidationArgs per resource, `validateResource` called directly; the stack rules
 * over a handful of hand-built resources through the offline runner.
 */
import { describe, expect, it } from 'vitest';
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { resourceArgs, runRules } from '../run.js';
import type { RecordedResource } from '../synth.js';
import { gcpRules, membersOf } from './gcp.js';

const rule = (name: string) => {
  const found = gcpRules.find((r) => r.name === name);
  if (!found) throw new Error(`no rule ${name}`);
  return found;
};

/** Violations one resource rule reports for one resource. */
async function violations(name: string, type: string, props: Record<string, any>): Promise<string[]> {
  const r = rule(name) as ResourceValidationPolicy;
  const out: string[] = [];
  const validators = Array.isArray(r.validateResource) ? r.validateResource : [r.validateResource];
  for (const validate of validators) await validate!(resourceArgs({ type, props }), (message) => out.push(message));
  return out;
}

const RING = 'projects/acme-claw-prod/locations/europe-west1/keyRings/claw-prod-tenants';
const keyOf = (t: string) => `${RING}/cryptoKeys/tenant-${t}`;
const sa = (t: string, role: 'd' | 'i' | 'c' | 'r') => `ct-${t}-abc123-${role}@acme-claw-prod.iam.gserviceaccount.com`;

const goodBucket = {
  name: 'claw-prod-acme-1a2b3c4d', location: 'europe-west1', uniformBucketLevelAccess: true, publicAccessPrevention: 'enforced',
  encryption: { defaultKmsKeyName: keyOf('acme') }, labels: { 'claw-tenant': 'acme' },
};

describe('GCP resource rules', () => {
  it('gcp-gcs-cmek: a bucket without a default KMS key fails; with one it passes', async () => {
    expect(await violations('gcp-gcs-cmek', 'gcp:storage/bucket:Bucket', goodBucket)).toEqual([]);
    expect(await violations('gcp-gcs-cmek', 'gcp:storage/bucket:Bucket', { ...goodBucket, encryption: undefined })).toEqual([expect.stringMatching(/claw-prod-acme-1a2b3c4d has no default KMS key/)]);
  });

  it('gcp-gcs-public-access-prevented: public access prevention and uniform access are required', async () => {
    expect(await violations('gcp-gcs-public-access-prevented', 'gcp:storage/bucket:Bucket', goodBucket)).toEqual([]);
    const open = await violations('gcp-gcs-public-access-prevented', 'gcp:storage/bucket:Bucket', { ...goodBucket, publicAccessPrevention: 'inherited', uniformBucketLevelAccess: false });
    expect(open).toEqual([expect.stringMatching(/does not enforce public access prevention \('inherited'\)/), expect.stringMatching(/allows object ACLs/)]);
  });

  it('gcp-no-public-iam: allUsers / allAuthenticatedUsers on a key, bucket or dataset fail; a service account passes', async () => {
    const name = 'gcp-no-public-iam';
    expect(await violations(name, 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember', { cryptoKeyId: keyOf('acme'), role: 'roles/cloudkms.cryptoKeyDecrypter', member: `serviceAccount:${sa('acme', 'c')}` })).toEqual([]);
    expect(await violations(name, 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember', { cryptoKeyId: keyOf('acme'), role: 'roles/cloudkms.cryptoKeyDecrypter', member: 'allUsers' })).toEqual([
      'CryptoKeyIAMMember grants roles/cloudkms.cryptoKeyDecrypter to allUsers',
    ]);
    expect(await violations(name, 'gcp:storage/bucketIAMBinding:BucketIAMBinding', { bucket: 'b', role: 'roles/storage.objectViewer', members: ['user:a@example.com', 'allAuthenticatedUsers'] })).toHaveLength(1);
    expect(await violations(name, 'gcp:kms/cryptoKeyIAMPolicy:CryptoKeyIAMPolicy', { cryptoKeyId: 'k', policyData: JSON.stringify({ bindings: [{ role: 'roles/owner', members: ['allUsers'] }] }) })).toHaveLength(1);
    expect(await violations(name, 'gcp:bigquery/datasetAccess:DatasetAccess', { datasetId: 'd', role: 'READER', specialGroup: 'allAuthenticatedUsers' })).toHaveLength(1);
    expect(await violations(name, 'gcp:bigquery/dataset:Dataset', { datasetId: 'd', accesses: [{ role: 'READER', iamMember: 'allUsers' }] })).toHaveLength(1);
  });

  it('gcp-kms-rotation: keys rotate at most every 90 days', async () => {
    const key = { name: 'tenant-acme', keyRing: RING, purpose: 'ENCRYPT_DECRYPT' };
    expect(await violations('gcp-kms-rotation', 'gcp:kms/cryptoKey:CryptoKey', { ...key, rotationPeriod: '7776000s' })).toEqual([]);
    expect(await violations('gcp-kms-rotation', 'gcp:kms/cryptoKey:CryptoKey', key)).toEqual(['key tenant-acme has no rotation period']);
    expect(await violations('gcp-kms-rotation', 'gcp:kms/cryptoKey:CryptoKey', { ...key, rotationPeriod: `${365 * 86400}s` })).toEqual(['key tenant-acme rotates every 365 days (> 90)']);
    expect(await violations('gcp-kms-rotation', 'gcp:kms/cryptoKey:CryptoKey', { ...key, purpose: 'ASYMMETRIC_SIGN' })).toEqual([]);
  });

  it('gcp-bigquery-cmek: datasets and tables name a KMS key', async () => {
    expect(await violations('gcp-bigquery-cmek', 'gcp:bigquery/dataset:Dataset', { datasetId: 'claw_prod_acme', defaultEncryptionConfiguration: { kmsKeyName: keyOf('acme') } })).toEqual([]);
    expect(await violations('gcp-bigquery-cmek', 'gcp:bigquery/dataset:Dataset', { datasetId: 'claw_prod_acme' })).toEqual([expect.stringMatching(/dataset claw_prod_acme has no default KMS key/)]);
    expect(await violations('gcp-bigquery-cmek', 'gcp:bigquery/table:Table', { datasetId: 'claw_prod_acme', tableId: 'traces' })).toEqual(['table traces names no KMS key']);
  });

  it('gcp-sql-cmek-private: CMEK, no public IP, TLS, backups with PITR, deletion protection', async () => {
    const good = {
      encryptionKeyName: 'projects/p/locations/l/keyRings/r/cryptoKeys/metadata-db', deletionProtection: true,
      settings: { ipConfiguration: { ipv4Enabled: false, sslMode: 'ENCRYPTED_ONLY' }, backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true } },
    };
    expect(await violations('gcp-sql-cmek-private', 'gcp:sql/databaseInstance:DatabaseInstance', good)).toEqual([]);
    const bad = await violations('gcp-sql-cmek-private', 'gcp:sql/databaseInstance:DatabaseInstance', { settings: { ipConfiguration: { ipv4Enabled: true } } });
    expect(bad).toEqual([
      expect.stringMatching(/Google-managed keys/), expect.stringMatching(/public IPv4/), expect.stringMatching(/without TLS/), 'backups are off', 'deletion protection is off',
    ]);
  });

  it('gcp-gke-hardened: Secrets encryption, private nodes, Workload Identity, NetworkPolicy', async () => {
    const good = {
      databaseEncryption: { state: 'ENCRYPTED', keyName: 'k' }, privateClusterConfig: { enablePrivateNodes: true },
      workloadIdentityConfig: { workloadPool: 'p.svc.id.goog' }, datapathProvider: 'ADVANCED_DATAPATH', enableLegacyAbac: false,
    };
    expect(await violations('gcp-gke-hardened', 'gcp:container/cluster:Cluster', good)).toEqual([]);
    expect(await violations('gcp-gke-hardened', 'gcp:container/cluster:Cluster', { enableLegacyAbac: true })).toHaveLength(5);
  });

  it('gcp-sandbox-pool-gvisor-tainted: the sandbox pool runs gVisor with the taint; other pools are not checked', async () => {
    const nodeConfig = {
      labels: { 'claw.dev/pool': 'sandbox' }, sandboxConfig: { type: 'GVISOR' }, workloadMetadataConfig: { mode: 'GKE_METADATA' },
      taints: [{ key: 'claw.dev/sandbox', value: 'gvisor', effect: 'NO_SCHEDULE' }],
    };
    expect(await violations('gcp-sandbox-pool-gvisor-tainted', 'gcp:container/nodePool:NodePool', { nodeConfig })).toEqual([]);
    expect(await violations('gcp-sandbox-pool-gvisor-tainted', 'gcp:container/nodePool:NodePool', { nodeConfig: { ...nodeConfig, taints: [], sandboxConfig: undefined } })).toEqual([
      expect.stringMatching(/does not run GKE Sandbox/), expect.stringMatching(/is not tainted claw.dev\/sandbox=gvisor:NoSchedule/),
    ]);
    expect(await violations('gcp-sandbox-pool-gvisor-tainted', 'gcp:container/nodePool:NodePool', { nodeConfig: { labels: { 'claw.dev/pool': 'system' } } })).toEqual([]);
  });

  it('gcp-lb-tls-only: TLS 1.2+ SSL policies, no plain-HTTP GCLB Ingress', async () => {
    expect(await violations('gcp-lb-tls-only', 'gcp:compute/sSLPolicy:SSLPolicy', { minTlsVersion: 'TLS_1_2' })).toEqual([]);
    expect(await violations('gcp-lb-tls-only', 'gcp:compute/sSLPolicy:SSLPolicy', { minTlsVersion: 'TLS_1_0' })).toEqual(['SSL policy allows TLS_1_0']);
    expect(await violations('gcp-lb-tls-only', 'kubernetes:networking.k8s.io/v1:Ingress', { metadata: { annotations: { 'kubernetes.io/ingress.class': 'gce' } } })).toHaveLength(1);
  });

  it('membersOf reads member, members and IAM policy documents', () => {
    expect(membersOf({ member: 'a', members: ['b'], policyData: JSON.stringify({ bindings: [{ members: ['c'] }] }) })).toEqual(['a', 'b', 'c']);
  });
});

// ------------------------------------------------------------------ stack rules

function res(type: string, name: string, state: Record<string, any>, tenant?: string): RecordedResource {
  return { type, name, urn: `urn:pulumi:test::claw::${type}::${name}`, inputs: state, state, custom: true, tenant };
}

/** Two tenants wired the way stacks/gcp.ts wires them. */
function twoTenants(): RecordedResource[] {
  const out: RecordedResource[] = [];
  for (const t of ['acme', 'globex']) {
    for (const role of ['d', 'i', 'c', 'r'] as const) {
      out.push(res('gcp:serviceaccount/account:Account', `${t}-${role}`, { accountId: `ct-${t}-abc123-${role}`, email: sa(t, role), description: `claw:tenant=${t}` }, t));
    }
    out.push(res('gcp:kms/cryptoKey:CryptoKey', `${t}-key`, { id: keyOf(t), name: `tenant-${t}`, keyRing: RING, rotationPeriod: '7776000s', labels: { 'claw-tenant': t } }, t));
    const roles = { d: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', i: 'roles/cloudkms.cryptoKeyEncrypter', c: 'roles/cloudkms.cryptoKeyDecrypter', r: 'roles/cloudkms.cryptoKeyDecrypter' };
    for (const role of ['d', 'i', 'c', 'r'] as const) out.push(res('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember', `${t}-key-${role}`, { cryptoKeyId: keyOf(t), role: roles[role], member: `serviceAccount:${sa(t, role)}` }, t));
    out.push(res('gcp:storage/bucket:Bucket', `${t}-bucket`, { ...goodBucket, name: `claw-prod-${t}`, encryption: { defaultKmsKeyName: keyOf(t) }, labels: { 'claw-tenant': t } }, t));
    out.push(res('gcp:storage/bucketIAMMember:BucketIAMMember', `${t}-bucket-data`, { bucket: `claw-prod-${t}`, role: 'roles/storage.objectAdmin', member: `serviceAccount:${sa(t, 'd')}` }, t));
    out.push(res('gcp:bigquery/dataset:Dataset', `${t}-lake`, { datasetId: `claw_prod_${t}`, defaultEncryptionConfiguration: { kmsKeyName: keyOf(t) }, labels: { 'claw-tenant': t } }, t));
    out.push(res('gcp:bigquery/table:Table', `${t}-lake-traces`, { datasetId: `claw_prod_${t}`, tableId: 'traces', encryptionConfiguration: { kmsKeyName: keyOf(t) }, labels: { 'claw-tenant': t } }, t));
    out.push(res('gcp:bigquery/datasetIamMember:DatasetIamMember', `${t}-lake-data`, { datasetId: `claw_prod_${t}`, role: 'roles/bigquery.dataEditor', member: `serviceAccount:${sa(t, 'd')}` }, t));
    out.push(res('gcp:bigquery/datasetIamMember:DatasetIamMember', `${t}-lake-traces-reader`, { datasetId: `claw_prod_${t}`, role: 'roles/bigquery.dataViewer', member: `serviceAccount:${sa(t, 'r')}` }, t));
  }
  return out;
}

const stackRules = gcpRules.filter((r) => r.name === 'gcp-tenant-key-isolation' || r.name === 'gcp-gateway-encrypt-only');
const swap = (rs: RecordedResource[], name: string, change: (s: Record<string, any>) => Record<string, any>) =>
  rs.map((r) => (r.name === name ? { ...r, state: change(r.state), inputs: change(r.inputs) } : r));

describe('GCP stack rules', () => {
  it('two correctly wired tenants pass', async () => {
    expect(await runRules(twoTenants(), gcpRules)).toEqual([]);
  });

  it("gcp-tenant-key-isolation: a bucket, dataset or table on another tenant's key fails, naming both tenants and the resource", async () => {
    const rs = swap(swap(twoTenants(), 'acme-bucket', (s) => ({ ...s, encryption: { defaultKmsKeyName: keyOf('globex') } })), 'globex-lake-traces', (s) => ({ ...s, encryptionConfiguration: { kmsKeyName: keyOf('acme') } }));
    const v = await runRules(rs, stackRules);
    expect(v.map((x) => [x.rule, x.name, x.message])).toEqual([
      ['gcp-tenant-key-isolation', 'acme-bucket', "bucket claw-prod-acme of tenant 'acme' uses tenant 'globex''s key"],
      ['gcp-tenant-key-isolation', 'globex-lake-traces', "table claw_prod_globex.traces of tenant 'globex' uses tenant 'acme''s key"],
    ]);
  });

  it("gcp-tenant-key-isolation: a binding granting another tenant's identity on a key, bucket or dataset fails", async () => {
    const rs = [
      ...twoTenants(),
      res('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember', 'leak-key', { cryptoKeyId: keyOf('acme'), role: 'roles/cloudkms.cryptoKeyDecrypter', member: `serviceAccount:${sa('globex', 'c')}` }),
      res('gcp:storage/bucketIAMMember:BucketIAMMember', 'leak-bucket', { bucket: 'claw-prod-globex', role: 'roles/storage.objectViewer', member: `serviceAccount:${sa('acme', 'd')}` }),
    ];
    const v = await runRules(rs, stackRules.filter((r) => r.name === 'gcp-tenant-key-isolation'));
    expect(v.map((x) => x.name)).toEqual(['leak-key', 'leak-bucket']);
    expect(v[0]!.message).toMatch(/binding on tenant 'acme''s key grants roles\/cloudkms.cryptoKeyDecrypter to tenant 'globex''s identity/);
    expect(v[1]!.message).toMatch(/tenant 'globex''s bucket grants roles\/storage.objectViewer to tenant 'acme''s identity/);
  });

  it('gcp-tenant-key-isolation: one BYOK key bound to two tenants fails', async () => {
    const byok = 'projects/customer-sec/locations/europe-west1/keyRings/r/cryptoKeys/shared';
    const rs = [
      ...twoTenants(),
      res('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember', 'acme-byok', { cryptoKeyId: byok, role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', member: `serviceAccount:${sa('acme', 'd')}` }),
      res('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember', 'globex-byok', { cryptoKeyId: byok, role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', member: `serviceAccount:${sa('globex', 'd')}` }),
    ];
    const v = await runRules(rs, stackRules.filter((r) => r.name === 'gcp-tenant-key-isolation'));
    expect(v.map((x) => [x.name, x.message])).toEqual([['acme-byok', `key ${byok} is bound to the identities of tenants acme, globex: tenants share no key`]]);
  });

  it("gcp-gateway-encrypt-only: the gateway's tenant identity may not decrypt or hold data roles", async () => {
    const rs = [
      ...swap(twoTenants(), 'acme-key-i', (s) => ({ ...s, role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter' })),
      res('gcp:bigquery/datasetIamMember:DatasetIamMember', 'gw-reads', { datasetId: 'claw_prod_acme', role: 'roles/bigquery.dataViewer', member: `serviceAccount:${sa('acme', 'i')}` }),
    ];
    const v = await runRules(rs, stackRules.filter((r) => r.name === 'gcp-gateway-encrypt-only'));
    expect(v.map((x) => x.name)).toEqual(['acme-key-i', 'gw-reads']);
  });

  it('gcp-trace-reader-read-only: the trace reader may not edit a dataset, encrypt, or hold a bucket role; another tenant\'s dataset is isolation\'s', async () => {
    const rs = [
      ...swap(twoTenants(), 'acme-key-r', (s) => ({ ...s, role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter' })),
      res('gcp:bigquery/datasetIamMember:DatasetIamMember', 'reader-writes', { datasetId: 'claw_prod_acme', role: 'roles/bigquery.dataEditor', member: `serviceAccount:${sa('acme', 'r')}` }),
      res('gcp:storage/bucketIAMMember:BucketIAMMember', 'reader-blobs', { bucket: 'claw-prod-acme', role: 'roles/storage.objectViewer', member: `serviceAccount:${sa('acme', 'r')}` }),
      res('gcp:bigquery/datasetIamMember:DatasetIamMember', 'reader-other', { datasetId: 'claw_prod_globex', role: 'roles/bigquery.dataViewer', member: `serviceAccount:${sa('acme', 'r')}` }),
    ];
    expect((await runRules(rs, gcpRules.filter((r) => r.name === 'gcp-trace-reader-read-only'))).map((x) => x.name)).toEqual(['acme-key-r', 'reader-writes', 'reader-blobs']);
    expect((await runRules(rs, gcpRules.filter((r) => r.name === 'gcp-tenant-key-isolation'))).map((x) => x.name)).toContain('reader-other');
  });
});
