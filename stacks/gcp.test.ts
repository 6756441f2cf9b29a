/**
 * The GCP stack synthesized under mocks for 1 and 50 tenants: the properties that matter
 * for tenant isolation, the sandbox, the runtime's wiring, BYOK/BYOB, the guardrail pack
 * (passing, and failing on a deliberately broken variant), and bad configs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import type * as Synth from '../policies/infra/synth.js';
import type { RecordedResource } from '../policies/infra/synth.js';
import { parseConfig } from '../core/config/load.js';
import { BYOK_KEY_REF, TEST_PROJECT, gcpConfig, gcpConfigYaml } from './gcp.fixture.js';

let synth: typeof Synth;
let stack: typeof import('./gcp.js');
let infra: typeof import('../policies/infra/index.js');
let gcp: typeof import('@pulumi/gcp');
beforeAll(async () => {
  synth = await import('../policies/infra/synth.js');
  await synth.synthesize(() => {});
  stack = await import('./gcp.js');
  infra = await import('../policies/infra/index.js');
  gcp = await import('@pulumi/gcp');
});

const T = {
  account: 'gcp:serviceaccount/account:Account',
  key: 'gcp:kms/cryptoKey:CryptoKey',
  keyMember: 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember',
  bucket: 'gcp:storage/bucket:Bucket',
  bucketMember: 'gcp:storage/bucketIAMMember:BucketIAMMember',
  dataset: 'gcp:bigquery/dataset:Dataset',
  datasetMember: 'gcp:bigquery/datasetIamMember:DatasetIamMember',
  table: 'gcp:bigquery/table:Table',
  nodePool: 'gcp:container/nodePool:NodePool',
  deployment: 'kubernetes:apps/v1:Deployment',
  configMap: 'kubernetes:core/v1:ConfigMap',
  release: 'kubernetes:helm.sh/v3:Release',
};
/** Google service agents that encrypt a tenant's bucket and dataset with its key. */
const SERVICE_AGENT = /@(gs-project-accounts|bigquery-encryption)\.iam\.gserviceaccount\.com$/;

interface TenantView {
  keyIds: string[];
  members: Set<string>;
  bucketNames: string[];
  datasetIds: string[];
}

/** What each tenant owns, read from the recorded resources (not from the stack's own bookkeeping). */
function tenantsOf(resources: RecordedResource[]): Map<string, TenantView> {
  const view = new Map<string, TenantView>();
  const of = (t: string) => view.get(t) ?? view.set(t, { keyIds: [], members: new Set(), bucketNames: [], datasetIds: [] }).get(t)!;
  for (const a of synth.ofType(resources, T.account).filter((r) => r.tenant)) of(a.tenant!).members.add(`serviceAccount:${a.state.email}`);
  for (const k of synth.ofType(resources, T.key).filter((r) => r.tenant)) of(k.tenant!).keyIds.push(k.state.id);
  for (const b of synth.ofType(resources, T.bucket).filter((r) => r.tenant)) of(b.tenant!).bucketNames.push(b.state.name);
  for (const d of synth.ofType(resources, T.dataset).filter((r) => r.tenant)) of(d.tenant!).datasetIds.push(d.state.datasetId);
  return view;
}

function assertIsolation(resources: RecordedResource[], byok: Record<string, string> = {}) {
  const view = tenantsOf(resources);
  const memberTenant = new Map([...view].flatMap(([id, v]) => [...v.members].map((m) => [m, id] as const)));
  const keyTenant = new Map([...view].flatMap(([id, v]) => v.keyIds.map((k) => [k, id] as const)));
  for (const [tenant, own] of view) {
    expect(own.members.size, `${tenant} has data, ingest, decode and trace-reader identities`).toBe(4);
    const expectedKey = own.keyIds[0] ?? byok[tenant];
    expect(own.keyIds.length + (byok[tenant] ? 1 : 0), `${tenant}: one managed key, or BYOK`).toBe(1);
    // Bucket, dataset and traces table: encrypted with the tenant's key.
    for (const b of synth.ofType(resources, T.bucket, tenant)) expect(b.inputs.encryption).toEqual({ defaultKmsKeyName: expectedKey });
    const datasets = synth.ofType(resources, T.dataset, tenant);
    expect(datasets).toHaveLength(1);
    expect(datasets[0]!.inputs.defaultEncryptionConfiguration).toEqual({ kmsKeyName: expectedKey });
    for (const t of synth.ofType(resources, T.table, tenant)) expect(t.inputs.encryptionConfiguration).toEqual({ kmsKeyName: expectedKey });
    // Bindings made for this tenant: only on its own key, only to its identities or Google's service agents.
    for (const b of synth.ofType(resources, T.keyMember, tenant)) {
      expect(b.inputs.cryptoKeyId, `${b.name} binds on ${tenant}'s key`).toBe(expectedKey);
      expect(own.members.has(b.inputs.member) || SERVICE_AGENT.test(b.inputs.member), `${b.name} grants ${b.inputs.member}`).toBe(true);
    }
    for (const b of synth.ofType(resources, T.bucketMember, tenant)) {
      expect(memberTenant.get(b.inputs.member), `${b.name} grants only ${tenant}'s data identity`).toBe(tenant);
      expect(b.inputs.member).toMatch(/-d@/);
    }
    // The dataset: the data identity edits it, the trace reader only views it; both this tenant's.
    const datasetRoles = synth.ofType(resources, T.datasetMember, tenant).map((b) => {
      expect(memberTenant.get(b.inputs.member), `${b.name} grants only ${tenant}'s identities`).toBe(tenant);
      return [b.inputs.role, /-([a-z])@/.exec(b.inputs.member)![1]];
    });
    expect(datasetRoles.sort()).toEqual([['roles/bigquery.dataEditor', 'd'], ['roles/bigquery.dataViewer', 'r']]);
    // The trace reader's key binding: decrypt only.
    const readerKey = synth.ofType(resources, T.keyMember, tenant).filter((b) => /-r@/.test(b.inputs.member));
    expect(readerKey.map((b) => b.inputs.role)).toEqual(['roles/cloudkms.cryptoKeyDecrypter']);
  }
  // Across the whole stack: no key binding puts a tenant identity on a key that is not that tenant's.
  for (const b of synth.ofType(resources, T.keyMember)) {
    const grantee = memberTenant.get(b.inputs.member);
    const owner = keyTenant.get(b.inputs.cryptoKeyId) ?? Object.entries(byok).find(([, k]) => k === b.inputs.cryptoKeyId)?.[0];
    if (grantee) expect(owner === grantee || (byok[grantee] !== undefined && b.inputs.cryptoKeyId === byok[grantee]), `${b.name} grants ${grantee}'s identity`).toBe(true);
    if (owner && keyTenant.has(b.inputs.cryptoKeyId)) expect(grantee === undefined ? SERVICE_AGENT.test(b.inputs.member) : grantee === owner).toBe(true);
  }
}

describe('gcp stack, 1 tenant', () => {
  it('synthesizes; outputs name the gateway, codec server, Temporal and the tenant key, bucket and dataset', async () => {
    const { resources, outputs } = await synth.synthesize(() => stack.gcpStack(gcpConfig(1, { ids: ['acme'] })) as any);
    assertIsolation(resources);
    const key = synth.ofType(resources, T.key, 'acme')[0]!;
    const bucket = synth.ofType(resources, T.bucket, 'acme')[0]!;
    expect(key.inputs).toMatchObject({ name: 'tenant-acme', rotationPeriod: '7776000s', purpose: 'ENCRYPT_DECRYPT', labels: { 'claw-tenant': 'acme' } });
    expect(outputs).toMatchObject({
      gatewayUrl: 'https://claw.acme.example',
      codecServerUrl: 'https://codec.claw.acme.example',
      ingressIp: '203.0.113.10',
      temporalAddress: 'temporal-frontend.temporal.svc.cluster.local:7233',
      runtimeNamespace: 'claw',
      clusterName: 'claw-prod',
      tenants: { acme: { key: key.state.id, bucket: bucket.state.name, dataset: `${TEST_PROJECT}:claw_prod_acme`, managedKey: true, managedBucket: true } },
    });
    expect(key.state.id).toBe(`projects/${TEST_PROJECT}/locations/europe-west1/keyRings/claw-prod-tenants/cryptoKeys/tenant-acme`);
    // Google's service agents encrypt the bucket and the dataset with the tenant key: granted on that key, before them.
    expect(synth.named(resources, T.keyMember, 'acme-lake-bq-agent').inputs).toMatchObject({ cryptoKeyId: key.state.id, role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', member: expect.stringMatching(/@bigquery-encryption\.iam\.gserviceaccount\.com$/) });
    expect(synth.named(resources, T.keyMember, 'acme-bucket-gcs-agent').inputs).toMatchObject({ cryptoKeyId: key.state.id, member: expect.stringMatching(/@gs-project-accounts\.iam\.gserviceaccount\.com$/) });
  });

  it('network: custom VPC, Private Google Access, Cloud NAT; GKE: private, Workload Identity, secrets under the platform key', async () => {
    const { resources } = await synth.synthesize(() => stack.gcpStack(gcpConfig(1)) as any);
    expect(synth.named(resources, 'gcp:compute/subnetwork:Subnetwork', 'claw-prod-nodes').inputs.privateIpGoogleAccess).toBe(true);
    expect(synth.ofType(resources, 'gcp:compute/routerNat:RouterNat')).toHaveLength(1);
    const cluster = synth.named(resources, 'gcp:container/cluster:Cluster', 'claw-prod').inputs;
    const secretsKey = synth.named(resources, T.key, 'keys-gke-secrets').state.id;
    expect(cluster.masterAuthorizedNetworksConfig).toEqual({ cidrBlocks: [] });
    expect(cluster.resourceLabels).toEqual({ 'claw-install': 'prod' });
    expect(cluster).toMatchObject({ databaseEncryption: { state: 'ENCRYPTED', keyName: secretsKey }, workloadIdentityConfig: { workloadPool: `${TEST_PROJECT}.svc.id.goog` }, privateClusterConfig: { enablePrivateNodes: true } });
    expect(synth.named(resources, T.keyMember, 'gke-agent-secrets-key').inputs).toMatchObject({ cryptoKeyId: secretsKey, member: expect.stringMatching(/@container-engine-robot\.iam\.gserviceaccount\.com$/) });
    const db = synth.named(resources, 'gcp:sql/databaseInstance:DatabaseInstance', 'claw-prod-db').inputs;
    expect(db.encryptionKeyName).toBe(synth.named(resources, T.key, 'keys-metadata-db').state.id);
    expect(db.settings.ipConfiguration.ipv4Enabled).toBe(false);
    // Every GCP resource is declared through the stack's provider (project and region from claw.yaml).
    for (const r of resources.filter((x) => x.custom && x.type.startsWith('gcp:'))) expect(r.inputs.project ?? TEST_PROJECT).toBe(TEST_PROJECT);
  });
});

describe('gcp stack: what removing a tenant from the stack deletes', () => {
  it("keeps every tenant's bucket and trace dataset, and its key unless the tenant is marked onRemove: shred", async () => {
    const { resources } = await synth.synthesize(() => stack.gcpStack(gcpConfig(2, { ids: ['acme', 'globex'], shred: ['globex'] })) as any);
    const retained = (type: string, tenant: string) => synth.ofType(resources, type, tenant).map((r) => r.retainOnDelete === true);
    // Deleting a CryptoKey destroys its versions: only the tenant marked for shredding loses its key.
    expect(retained(T.key, 'acme')).toEqual([true]);
    expect(retained(T.key, 'globex')).toEqual([false]);
    expect(synth.ofType(resources, T.key, 'globex')[0]!.inputs.labels['claw-on-remove']).toBe('shred');
    expect(synth.ofType(resources, T.key, 'acme')[0]!.inputs.labels['claw-on-remove']).toBeUndefined();
    for (const tenant of ['acme', 'globex']) {
      expect(retained(T.bucket, tenant)).toEqual([true]);
      expect(retained(T.dataset, tenant)).toEqual([true]);
      // The traces table is deletion-protected: without retainOnDelete, removing the tenant would fail the apply.
      expect(retained(T.table, tenant)).toEqual([true]);
    }
  });
});

describe('gcp stack: claw.yaml gcp.authorizedNetworks', () => {
  it('opens the GKE control plane to exactly those CIDRs', async () => {
    const { resources } = await synth.synthesize(() => stack.gcpStack(gcpConfig(1, { authorizedNetworks: ['203.0.113.0/24', '198.51.100.7/32'] })) as any);
    expect(synth.named(resources, 'gcp:container/cluster:Cluster', 'claw-prod').inputs.masterAuthorizedNetworksConfig).toEqual({
      cidrBlocks: [{ cidrBlock: '203.0.113.0/24', displayName: 'claw-yaml-0' }, { cidrBlock: '198.51.100.7/32', displayName: 'claw-yaml-1' }],
    });
  });
});

describe('gcp stack, 50 tenants (two bring their own key, two their own bucket)', () => {
  const byok = { t007: BYOK_KEY_REF, t042: BYOK_KEY_REF.replace('tenant-root', 'other-root') };
  const byob = { t013: { name: 'customer-lake', prefix: 'claw/t013/' }, t042: { name: 'other-lake' } };
  let resources: RecordedResource[];
  let outputs: Record<string, any>;
  beforeAll(async () => {
    ({ resources, outputs } = (await synth.synthesize(() => stack.gcpStack(gcpConfig(50, { byok, byob })) as any)) as { resources: RecordedResource[]; outputs: Record<string, any> });
  }, 120_000);

  it("each tenant's bucket, dataset and table use that tenant's key and no other; no key binding grants another tenant's identity", () => {
    expect(new Set(resources.filter((r) => r.tenant).map((r) => r.tenant)).size).toBe(50);
    assertIsolation(resources, byok);
  });

  it('BYOK tenants get bindings on their key and no key of ours; BYOB tenants get no bucket of ours, but the binding to grant', () => {
    for (const [id, ref] of Object.entries(byok)) {
      expect(synth.ofType(resources, T.key, id)).toEqual([]);
      const bindings = synth.ofType(resources, T.keyMember, id);
      expect(new Set(bindings.map((b) => b.inputs.cryptoKeyId))).toEqual(new Set([ref]));
      expect(bindings.map((b) => b.inputs.role).sort()).toEqual(expect.arrayContaining(['roles/cloudkms.cryptoKeyDecrypter', 'roles/cloudkms.cryptoKeyEncrypter', 'roles/cloudkms.cryptoKeyEncrypterDecrypter']));
      expect(outputs.tenants[id]).toMatchObject({ key: ref, managedKey: false });
    }
    for (const [id, b] of Object.entries(byob)) {
      expect(resources.filter((r) => r.tenant === id && r.type.startsWith('gcp:storage/'))).toEqual([]);
      expect(synth.ofType(resources, T.keyMember, id).filter((k) => /gs-project-accounts/.test(k.inputs.member))).toEqual([]);
      expect(outputs.tenants[id]).toMatchObject({ bucket: b.name, managedBucket: false });
      expect(outputs.tenants[id].requiredBindings).toEqual([{ resource: `gs://${b.name}`, role: 'roles/storage.objectAdmin', member: `serviceAccount:${outputs.tenants[id].serviceAccounts.worker}` }]);
    }
    // Everyone else: exactly one key and one bucket of ours; every tenant one dataset.
    expect(synth.ofType(resources, T.key).filter((k) => k.tenant)).toHaveLength(48);
    expect(synth.ofType(resources, T.bucket).filter((b) => b.tenant)).toHaveLength(48);
    expect(synth.ofType(resources, T.dataset).filter((d) => d.tenant)).toHaveLength(50);
  });

  it('at most 30 resources per tenant, and the shared part does not grow with tenants', async () => {
    const perTenant = new Map<string, number>();
    for (const r of resources.filter((x) => x.tenant && x.custom)) perTenant.set(r.tenant!, (perTenant.get(r.tenant!) ?? 0) + 1);
    expect(Math.max(...perTenant.values())).toBeLessThanOrEqual(30);
    const one = await synth.synthesize(() => stack.gcpStack(gcpConfig(1)) as any);
    const shared = (rs: RecordedResource[]) => rs.filter((r) => !r.tenant && r.custom).length;
    expect(shared(resources)).toBe(shared(one.resources));
  });

  it('the sandbox pool is GKE Sandbox and tainted, and only sandbox pods tolerate it', () => {
    const pools = synth.ofType(resources, T.nodePool);
    const sandbox = pools.filter((p) => p.inputs.nodeConfig.labels['claw.dev/pool'] === 'sandbox');
    expect(sandbox).toHaveLength(1);
    expect(sandbox[0]!.inputs.nodeConfig).toMatchObject({ sandboxConfig: { type: 'GVISOR' }, taints: [{ key: 'claw.dev/sandbox', value: 'gvisor', effect: 'NO_SCHEDULE' }] });
    for (const p of pools.filter((x) => x !== sandbox[0])) expect(p.inputs.nodeConfig.taints ?? []).toEqual([]);
    const runtimeClass = synth.ofType(resources, 'kubernetes:node.k8s.io/v1:RuntimeClass')[0]!;
    expect(runtimeClass.inputs).toMatchObject({ handler: 'gvisor', scheduling: { nodeSelector: { 'claw.dev/pool': 'sandbox' }, tolerations: [{ key: 'claw.dev/sandbox', value: 'gvisor', effect: 'NoSchedule' }] } });
    const workloads = synth.ofType(resources, T.deployment);
    expect(workloads.length).toBeGreaterThanOrEqual(3);
    for (const w of workloads) {
      const spec = w.inputs.spec.template.spec;
      expect((spec.tolerations ?? []).some((t: { key: string }) => t.key === 'claw.dev/sandbox'), `${w.name} tolerates the sandbox taint`).toBe(false);
      expect(spec.nodeSelector?.['claw.dev/pool']).not.toBe('sandbox');
    }
    for (const release of synth.ofType(resources, T.release)) expect(JSON.stringify(release.inputs.values ?? {})).not.toContain('claw.dev/sandbox');
  });

  it("the worker's config names the Temporal address and every tenant's key, bucket, dataset and identity; the gateway's the dataset and trace reader, no bucket", () => {
    const worker = synth.named(resources, T.deployment, 'runtime-worker');
    const env = Object.fromEntries(worker.inputs.spec.template.spec.containers[0].env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env).toMatchObject({ TEMPORAL_ADDRESS: outputs.temporalAddress, CLAW_TARGET: 'gcp', CLAW_DB_HOST: '10.60.0.3', CLAW_DB_NAME: 'claw', CLAW_DB_USER: 'claw' });
    expect(env.OPENBAO_ADDR).toBe('http://openbao.openbao.svc.cluster.local:8200');
    expect(worker.inputs.spec.template.spec.containers[0].image).toMatch(/claw\/worker@sha256:a{64}$/);
    const workerTenants = JSON.parse(synth.named(resources, T.configMap, 'runtime-worker-config').inputs.data['tenants.json']) as Array<Record<string, string>>;
    expect(workerTenants).toHaveLength(50);
    for (const t of workerTenants) {
      const o = outputs.tenants[t.id!];
      expect(t).toMatchObject({ keyRef: o.key, bucket: o.bucket, dataset: o.dataset, serviceAccount: o.serviceAccounts.worker });
    }
    expect(workerTenants.find((t) => t.id === 't013')!.prefix).toBe('claw/t013/');
    expect(workerTenants.find((t) => t.id === 't007')!.keyRef).toBe(BYOK_KEY_REF);
    const gatewayTenants = JSON.parse(synth.named(resources, T.configMap, 'runtime-gateway-config').inputs.data['tenants.json']) as Array<Record<string, string>>;
    expect(gatewayTenants).toHaveLength(50);
    for (const t of gatewayTenants) {
      const o = outputs.tenants[t.id!];
      expect(t).toEqual({ id: t.id, keyRef: o.key, serviceAccount: o.serviceAccounts.gateway, traceReader: o.traceReader, dataset: o.dataset });
      expect(t.serviceAccount).toMatch(/-i@/);
      expect(t.traceReader).toMatch(/-r@/);
      // The gateway GSA may impersonate the reader (and its ingest identity), and nothing gives it the data identity.
      expect(JSON.stringify(gatewayTenants)).not.toContain(o.serviceAccounts.worker);
    }
  });

  it('Workload Identity: each runtime ServiceAccount is annotated with its GSA, and each GSA trusts only that ServiceAccount', () => {
    for (const [k8sName, short] of [['worker', 'worker'], ['gateway', 'gateway'], ['codec-server', 'codec']]) {
      const ksa = synth.named(resources, 'kubernetes:core/v1:ServiceAccount', `runtime-${k8sName}-sa`).inputs;
      const gsa = synth.named(resources, T.account, `runtime-${short}`).state.email;
      expect(ksa.metadata.annotations).toEqual({ 'iam.gke.io/gcp-service-account': gsa });
      expect(synth.named(resources, 'gcp:serviceaccount/iAMMember:IAMMember', `runtime-${short}-wi`).inputs.member).toBe(`serviceAccount:${TEST_PROJECT}.svc.id.goog[claw/${ksa.metadata.name}]`);
    }
    // The worker GSA may impersonate exactly the tenants' data identities, and nothing else.
    const workerGsa = `serviceAccount:${synth.named(resources, T.account, 'runtime-worker').state.email}`;
    const impersonations = synth.ofType(resources, 'gcp:serviceaccount/iAMMember:IAMMember').filter((m) => m.inputs.member === workerGsa);
    expect(impersonations).toHaveLength(50);
    expect(impersonations.every((m) => m.name.endsWith('-data-impersonate'))).toBe(true);
  });

  it('Temporal persists to Cloud SQL in its own databases over TLS; OpenBao runs HA raft, auto-unsealed by gcpckms', () => {
    const temporal = synth.named(resources, T.release, 'temporal-release').inputs.values.server.config.persistence;
    expect(temporal.default.sql).toMatchObject({ host: '10.60.0.3', database: 'temporal', user: 'temporal', tls: { enabled: true } });
    expect(temporal.visibility.sql).toMatchObject({ host: '10.60.0.3', database: 'temporal_visibility' });
    const openbao = synth.named(resources, T.release, 'openbao-release').inputs.values.server;
    expect(openbao.ha).toMatchObject({ enabled: true, replicas: 3, raft: { enabled: true } });
    expect(openbao.ha.raft.config).toContain(`seal "gcpckms" {\n  project = "${TEST_PROJECT}"\n  region = "europe-west1"\n  key_ring = "claw-prod-platform"\n  crypto_key = "openbao-unseal"\n}`);
    const openbaoGsa = synth.named(resources, T.account, 'runtime-openbao').state.email;
    expect(openbao.serviceAccount.annotations).toEqual({ 'iam.gke.io/gcp-service-account': openbaoGsa });
    const unsealKey = synth.named(resources, T.key, 'keys-openbao-unseal').state.id;
    const onUnseal = synth.ofType(resources, T.keyMember).filter((b) => b.inputs.cryptoKeyId === unsealKey);
    expect(onUnseal.map((b) => [b.inputs.role, b.inputs.member]).sort()).toEqual([
      ['roles/cloudkms.cryptoKeyEncrypterDecrypter', `serviceAccount:${openbaoGsa}`],
      ['roles/cloudkms.viewer', `serviceAccount:${openbaoGsa}`],
    ]);
  });

  it('the GCLB Ingress serves both hosts over TLS only', () => {
    const ingress = synth.named(resources, 'kubernetes:networking.k8s.io/v1:Ingress', 'claw-prod-gateway').inputs;
    expect(ingress.metadata.annotations).toMatchObject({ 'kubernetes.io/ingress.allow-http': 'false', 'ingress.gcp.kubernetes.io/pre-shared-cert': 'claw-prod-gateway-cert' });
    expect(ingress.spec.rules.map((r: any) => [r.host, r.http.paths[0].backend.service.name])).toEqual([['claw.acme.example', 'gateway'], ['codec.claw.acme.example', 'codec-server']]);
    for (const svc of ['runtime-gateway-svc', 'runtime-codec-server-svc']) {
      expect(synth.named(resources, 'kubernetes:core/v1:Service', svc).inputs.metadata.annotations).toEqual({ 'cloud.google.com/neg': '{"ingress": true}' });
    }
  });

  it('the guardrail pack passes on the stack', async () => {
    const rules = await infra.guardrails('gcp');
    expect(rules.map((r) => r.name)).toEqual(expect.arrayContaining(['gcp-gcs-cmek', 'gcp-tenant-key-isolation', 'k8s-only-sandbox-pods-tolerate-sandbox-taint']));
    const verdicts = await infra.runRules(resources, rules);
    expect(verdicts.filter((v) => v.enforcement === 'mandatory').map(infra.formatVerdict)).toEqual([]);
  });
});

describe('guardrails on a deliberately broken gcp stack', () => {
  it('a public bucket, an unencrypted dataset and an allUsers binding on a key fail, naming the resource and the rule', async () => {
    const { resources } = await synth.synthesize(() => {
      pulumi.runtime.registerStackTransformation((a) => {
        if (a.type === T.bucket && a.name === 't002-bucket') return { props: { ...a.props, publicAccessPrevention: 'inherited' }, opts: a.opts };
        if (a.type === T.dataset && a.name === 't003-lake') return { props: { ...a.props, defaultEncryptionConfiguration: undefined }, opts: a.opts };
        return undefined;
      });
      const out = stack.gcpStack(gcpConfig(3));
      new gcp.kms.CryptoKeyIAMMember('t001-key-public', { cryptoKeyId: out.tenants.t001!.key, role: 'roles/cloudkms.cryptoKeyDecrypter', member: 'allUsers' });
      return out as any;
    });
    const verdicts = await infra.runRules(resources, await infra.guardrails('gcp'));
    const found = verdicts.map((v) => [v.rule, v.name, v.enforcement]);
    expect(found).toEqual(expect.arrayContaining([
      ['gcp-gcs-public-access-prevented', 't002-bucket', 'mandatory'],
      ['gcp-bigquery-cmek', 't003-lake', 'mandatory'],
      ['gcp-no-public-iam', 't001-key-public', 'mandatory'],
    ]));
    expect(verdicts.find((v) => v.name === 't002-bucket')!.tenant).toBe('t002');
    expect(verdicts.find((v) => v.name === 't001-key-public')!.message).toBe('CryptoKeyIAMMember grants roles/cloudkms.cryptoKeyDecrypter to allUsers');
    expect(found).toHaveLength(3);
  });

  it("a tenant's bucket on another tenant's key fails tenant isolation", async () => {
    const { resources } = await synth.synthesize(() => {
      pulumi.runtime.registerStackTransformation((a) =>
        a.type === T.bucket && a.name === 't002-bucket' ? { props: { ...a.props, encryption: { defaultKmsKeyName: `projects/${TEST_PROJECT}/locations/europe-west1/keyRings/claw-prod-tenants/cryptoKeys/tenant-t001` } }, opts: a.opts } : undefined,
      );
      return stack.gcpStack(gcpConfig(2)) as any;
    });
    const verdicts = await infra.runRules(resources, await infra.guardrails('gcp'));
    expect(verdicts.map((v) => [v.rule, v.name, v.message])).toEqual([['gcp-tenant-key-isolation', 't002-bucket', "bucket claw-prod-t002-af562a1c of tenant 't002' uses tenant 't001''s key"]]);
  });
});

describe('gcp with Temporal Cloud', () => {
  it('declares no Temporal release and points the runtime at the cloud namespace', async () => {
    const extra = 'temporal: { mode: cloud, namespace: claw-prod.a1b2c, address: claw-prod.a1b2c.tmprl.cloud:7233, apiKeySecret: temporal-cloud-api-key }';
    const { resources, outputs } = await synth.synthesize(() => stack.gcpStack(gcpConfig(1, { extra })) as any);
    expect(synth.ofType(resources, T.release).map((r) => r.name)).toEqual(['openbao-release']);
    expect(outputs.temporalAddress).toBe('claw-prod.a1b2c.tmprl.cloud:7233');
    const env = synth.named(resources, T.deployment, 'runtime-worker').inputs.spec.template.spec.containers[0].env as { name: string; value?: string; valueFrom?: unknown }[];
    expect(env.find((e) => e.name === 'TEMPORAL_NAMESPACE')!.value).toBe('claw-prod.a1b2c');
    // The key itself comes from the operator's Secret, never a literal in the pod spec.
    expect(env.find((e) => e.name === 'TEMPORAL_API_KEY')).toEqual({ name: 'TEMPORAL_API_KEY', valueFrom: { secretKeyRef: { name: 'temporal-cloud-api-key', key: 'api-key' } } });
  });

  it('a Temporal Cloud apiKeySecret that is not a Kubernetes object name is refused by the loader', () => {
    const extra = 'temporal: { mode: cloud, namespace: claw-prod.a1b2c, address: claw-prod.a1b2c.tmprl.cloud:7233, apiKeySecret: TEMPORAL_API_KEY }';
    expect(() => parseConfig(gcpConfigYaml(1, { extra }), 'claw.yaml')).toThrow(/temporal\.apiKeySecret is the name of a Kubernetes Secret/);
  });
});

describe('invalid claw.yaml for gcp fails before any resource is declared', () => {
  const declared = (rs: RecordedResource[]) => rs.filter((r) => r.type !== 'pulumi:pulumi:Stack');

  it.each([
    ['unknown region', gcpConfigYaml(1, { region: 'europe-middle9' }), /gcp\.region: unknown GCP region/],
    ['duplicate tenant', gcpConfigYaml(2, { ids: ['acme', 'acme'] }), /tenants\[1\]\.id: duplicate tenant id 'acme'/],
    ['an authorized network that is not a CIDR', gcpConfigYaml(1, { authorizedNetworks: ['203.0.113.0'] }), /gcp\.authorizedNetworks\[0\]: authorized networks are IPv4 CIDRs/],
    ['BYOK key in the wrong form', gcpConfigYaml(1, { ids: ['acme'], byok: { acme: 'arn:aws:kms:eu-west-1:444455556666:key/7b0c2d1e-9f3a-4b5c-8d6e-1a2b3c4d5e6f' } }), /tenants\[0\]\.key\.ref: a BYOK key on gcp is projects\//],
  ])('%s: the loader names the field', (_what, yaml, message) => {
    expect(() => parseConfig(yaml, 'claw.yaml')).toThrow(message);
    try {
      parseConfig(yaml, 'claw.yaml');
    } catch (err) {
      expect((err as { code: string }).code).toBe('CONFIG_INVALID');
      expect((err as { hint: string }).hint).toMatch(/^fix '/);
    }
  });

  it.each([
    ['a config object with an unknown region', () => ({ ...gcpConfig(1), gcp: { ...gcpConfig(1).gcp!, region: 'mars-1' as 'europe-west1' } }), /gcp\.region/],
    ['a config object with a BYOK key in the wrong form', () => ({ ...gcpConfig(1), tenants: [{ ...gcpConfig(1).tenants[0]!, key: { type: 'byok' as const, ref: 'projects/x/keys/y' } }] }), /tenants\[0\]\.key\.ref: a BYOK key on gcp/],
    ['a BYOK key in another region', () => gcpConfig(1, { ids: ['acme'], byok: { acme: BYOK_KEY_REF.replace('europe-west1', 'us-central1') } }), /tenants\[0\]\.key\.ref: .*us-central1/],
    ['no domain', () => gcpConfig(1, { domain: null }), /gcp\.domain/],
    ['a domain with a scheme', () => ({ ...gcpConfig(1), gcp: { ...gcpConfig(1).gcp!, domain: 'https://claw.acme.example' } }), /gcp\.domain: 'https:\/\/claw\.acme\.example' is not a DNS name/],
    ['no worker image', () => ({ ...gcpConfig(1), images: {} }), /images\.worker/],
  ])('%s: the stack throws a ClawError and declares nothing', async (_what, build, message) => {
    const recorded: RecordedResource[] = [];
    const attempt = synth.synthesize(() => stack.gcpStack(build()) as any, { state: (a) => (recorded.push({ type: a.type } as RecordedResource), undefined) });
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(declared(recorded)).toEqual([]);
  });
});
