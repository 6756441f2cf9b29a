/**
 * The AWS stack synthesized under mocks for 1 and 50 tenants: the properties that matter
 * for tenant isolation, the sandbox, the runtime's wiring, BYOK/BYOB, and bad configs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type * as Synth from '../policies/infra/synth.js';
import type { RecordedResource } from '../policies/infra/synth.js';
import { parseConfig } from '../core/config/load.js';
import { BYOK_KEY_ARN, awsConfig, awsConfigYaml } from './aws.fixture.js';

let synth: typeof Synth;
let stack: typeof import('./aws.js');
beforeAll(async () => {
  synth = await import('../policies/infra/synth.js');
  await synth.synthesize(() => {});
  stack = await import('./aws.js');
});

const T = {
  key: 'aws:kms/key:Key',
  grant: 'aws:kms/grant:Grant',
  bucket: 'aws:s3/bucket:Bucket',
  sse: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  workgroup: 'aws:athena/workgroup:Workgroup',
  table: 'aws:glue/catalogTable:CatalogTable',
  role: 'aws:iam/role:Role',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
};

interface TenantView {
  keyArns: string[];
  bucketNames: string[];
  roleArn: string;
  /** The tenant's trace reader (the role the gateway assumes for its runs). */
  readerArn: string;
}

/** What each tenant owns, read from the recorded resources (not from the stack's own bookkeeping). */
function tenantsOf(resources: RecordedResource[]): Map<string, TenantView> {
  const view = new Map<string, TenantView>();
  const rolesOf = (path: string) => synth.ofType(resources, T.role).filter((r) => r.tenant && r.inputs.path.endsWith(path));
  for (const role of rolesOf('/tenants/')) view.set(role.tenant!, { keyArns: [], bucketNames: [], roleArn: role.state.arn, readerArn: '' });
  for (const role of rolesOf('/trace-readers/')) view.get(role.tenant!)!.readerArn = role.state.arn;
  for (const key of synth.ofType(resources, T.key).filter((r) => r.tenant)) view.get(key.tenant!)!.keyArns.push(key.state.arn);
  for (const b of synth.ofType(resources, T.bucket).filter((r) => r.tenant)) view.get(b.tenant!)!.bucketNames.push(b.state.bucket);
  return view;
}

function assertIsolation(resources: RecordedResource[]) {
  const view = tenantsOf(resources);
  const allRoles = new Map([...view].flatMap(([id, v]) => [[v.roleArn, id], [v.readerArn, id]]));
  for (const [tenant, own] of view) {
    const expectedKey = own.keyArns[0] ?? BYOK_KEY_ARN;
    // Bucket: encrypted with the tenant's key.
    for (const sse of synth.ofType(resources, T.sse, tenant)) {
      expect(sse.inputs.rules.map((r: any) => r.applyServerSideEncryptionByDefault.kmsMasterKeyId)).toEqual([expectedKey]);
      expect(own.bucketNames).toContain(sse.inputs.bucket);
    }
    // Workgroup and lake table: the tenant's key and bucket.
    const [wg] = synth.ofType(resources, T.workgroup, tenant);
    expect(wg!.inputs.configuration.resultConfiguration.encryptionConfiguration).toEqual({ encryptionOption: 'SSE_KMS', kmsKeyArn: expectedKey });
    const [table] = synth.ofType(resources, T.table, tenant);
    expect(table!.inputs.openTableFormatInput.icebergInput.icebergTableInput.properties['s3.sse.key']).toBe(expectedKey);
    for (const bucket of own.bucketNames) {
      expect(wg!.inputs.configuration.resultConfiguration.outputLocation.startsWith(`s3://${bucket}/`)).toBe(true);
    }
    // Key policy: no other tenant's role anywhere; the use statement names exactly this tenant's role.
    for (const key of synth.ofType(resources, T.key, tenant)) {
      const statements = JSON.parse(key.inputs.policy).Statement as Array<{ Sid: string; Principal: { AWS: string } }>;
      for (const s of statements) {
        const other = allRoles.get(s.Principal.AWS);
        expect(other === undefined || other === tenant, `key of ${tenant} grants ${other}'s role`).toBe(true);
      }
      expect(statements.find((s) => s.Sid === 'TenantWorkloadUse')!.Principal.AWS).toBe(own.roleArn);
    }
    // Role policies (the tenant role's and its trace reader's): only the tenant's key and bucket.
    for (const name of [`${tenant}-role-policy`, `${tenant}-trace-reader-policy`]) {
      const text = synth.named(resources, T.rolePolicy, name).inputs.policy as string;
      for (const [otherId, other] of view) {
        if (otherId === tenant) continue;
        for (const k of other.keyArns) expect(text).not.toContain(k);
        for (const b of other.bucketNames) expect(text).not.toContain(`:::${b}`);
      }
      expect(text).toContain(expectedKey);
    }
    // The gateway may assume this tenant's reader, never its tenant role.
    const assume = synth.named(resources, T.rolePolicy, `${tenant}-gateway-assume-reader`).inputs.policy as string;
    expect(JSON.parse(assume).Statement.map((s: { Resource: string }) => s.Resource)).toEqual([own.readerArn]);
    expect(JSON.parse(synth.named(resources, T.role, `${tenant}-trace-reader`).inputs.assumeRolePolicy).Statement).toHaveLength(1);
  }
}

describe('aws stack, 1 tenant', () => {
  it('synthesizes; outputs name the gateway, codec server, Temporal and the tenant key and bucket', async () => {
    const { resources, outputs } = await synth.synthesize(() => stack.awsStack(awsConfig(1, { ids: ['acme'] })) as any);
    assertIsolation(resources);
    const key = synth.ofType(resources, T.key, 'acme')[0]!;
    const bucket = synth.ofType(resources, T.bucket, 'acme')[0]!;
    expect(outputs).toMatchObject({
      gatewayUrl: expect.stringMatching(/^https:\/\/claw-prod-.*\.eu-west-1\.elb\.amazonaws\.com$/),
      codecServerUrl: expect.stringMatching(/^https:\/\/.*\/codec$/),
      temporalAddress: 'temporal-frontend.temporal.svc.cluster.local:7233',
      runtimeNamespace: 'claw',
      tenants: { acme: { key: key.state.arn, bucket: bucket.state.bucket, managedKey: true, managedBucket: true } },
    });
  });
});

describe('aws stack: claw.yaml aws.authorizedNetworks', () => {
  const eksOf = async (cfg: ReturnType<typeof awsConfig>) =>
    synth.named((await synth.synthesize(() => stack.awsStack(cfg) as any)).resources, 'aws:eks/cluster:Cluster', 'cluster-eks').inputs;

  it('by default the EKS API has no public endpoint; named networks open it to them alone', async () => {
    expect((await eksOf(awsConfig(1))).vpcConfig).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: false });
    const open = await eksOf(awsConfig(1, { authorizedNetworks: ['203.0.113.0/24', '198.51.100.7/32'] }));
    expect(open.vpcConfig).toMatchObject({ endpointPublicAccess: true, publicAccessCidrs: ['203.0.113.0/24', '198.51.100.7/32'] });
  });
});

describe('aws stack: what removing a tenant from the stack deletes', () => {
  it("keeps every tenant's bucket, and its key unless the tenant is marked onRemove: shred", async () => {
    const { resources } = await synth.synthesize(() => stack.awsStack(awsConfig(2, { ids: ['acme', 'globex'], shred: ['globex'] })) as any);
    const retained = (type: string, tenant: string) => synth.ofType(resources, type, tenant).map((r) => r.retainOnDelete === true);
    expect(retained(T.key, 'acme')).toEqual([true]);
    expect(retained(T.key, 'globex')).toEqual([false]);
    // The mark shows on the key (and makes marking it a visible update in the preview).
    expect(synth.ofType(resources, T.key, 'globex')[0]!.inputs.tags['claw:on-remove']).toBe('shred');
    expect(synth.ofType(resources, T.key, 'acme')[0]!.inputs.tags['claw:on-remove']).toBeUndefined();
    expect(retained(T.bucket, 'acme')).toEqual([true]);
    expect(retained(T.bucket, 'globex')).toEqual([true]);
  });
});

describe('aws stack, 50 tenants (two bring their own key, two their own bucket)', () => {
  const byok = { t007: BYOK_KEY_ARN, t042: BYOK_KEY_ARN };
  const byob = { t013: { name: 'customer-lake', prefix: 'claw/t013' }, t042: { name: 'other-lake' } };
  let resources: RecordedResource[];
  let outputs: Record<string, any>;
  beforeAll(async () => {
    ({ resources, outputs } = (await synth.synthesize(() => stack.awsStack(awsConfig(50, { byok, byob })) as any)) as { resources: RecordedResource[]; outputs: Record<string, any> });
  }, 120_000);

  it("each tenant's bucket, lake table and workgroup use that tenant's key and no other; no key or role policy reaches another tenant", () => {
    expect(new Set(resources.filter((r) => r.tenant).map((r) => r.tenant)).size).toBe(50);
    assertIsolation(resources);
  });

  it('BYOK tenants get grants on their key and no key of ours; BYOB tenants get no bucket of ours, but the policy to apply', () => {
    for (const id of Object.keys(byok)) {
      expect(synth.ofType(resources, T.key, id)).toEqual([]);
      const grants = synth.ofType(resources, T.grant, id);
      // The tenant role, the gateway (encrypt), the codec-server (payloads), the trace reader (S3, trace content, key state).
      expect(grants.map((g) => g.inputs.keyId)).toEqual(Array(6).fill(BYOK_KEY_ARN));
      expect(grants.filter((g) => g.inputs.granteePrincipal === outputs.tenants[id].traceReaderRoleArn)).toHaveLength(3);
      expect(outputs.tenants[id].managedKey).toBe(false);
    }
    for (const [id, b] of Object.entries(byob)) {
      expect(resources.filter((r) => r.tenant === id && r.type.startsWith('aws:s3/'))).toEqual([]);
      expect(outputs.tenants[id].bucket).toBe(b.name);
      const policy = JSON.parse(outputs.tenants[id].requiredBucketPolicy);
      expect(policy.Statement[0].Principal.AWS).toBe(outputs.tenants[id].roleArn);
      const wg = synth.ofType(resources, T.workgroup, id)[0]!;
      expect(wg.inputs.configuration.resultConfiguration.outputLocation).toBe(`s3://${b.name}/${'prefix' in b && b.prefix ? `${b.prefix}/` : ''}athena-results/`);
    }
    // Everyone else: exactly one key and one bucket of ours.
    expect(synth.ofType(resources, T.key).filter((k) => k.tenant)).toHaveLength(48);
    expect(synth.ofType(resources, T.bucket).filter((b) => b.tenant)).toHaveLength(48);
  });

  it('at most 30 resources per tenant, and the shared part does not grow with tenants', async () => {
    const perTenant = new Map<string, number>();
    for (const r of resources.filter((x) => x.tenant && x.custom)) perTenant.set(r.tenant!, (perTenant.get(r.tenant!) ?? 0) + 1);
    expect(Math.max(...perTenant.values())).toBeLessThanOrEqual(30);
    const one = await synth.synthesize(() => stack.awsStack(awsConfig(1)) as any);
    const shared = (rs: RecordedResource[]) => rs.filter((r) => !r.tenant && r.custom).length;
    expect(shared(resources)).toBe(shared(one.resources));
  });

  it('the sandbox pool is tainted and only sandbox pods tolerate it', () => {
    const groups = synth.ofType(resources, 'aws:eks/nodeGroup:NodeGroup');
    const sandbox = groups.filter((g) => g.inputs.labels['claw.dev/pool'] === 'sandbox');
    expect(sandbox).toHaveLength(1);
    expect(sandbox[0]!.inputs.taints).toEqual([{ key: 'claw.dev/sandbox', value: 'gvisor', effect: 'NO_SCHEDULE' }]);
    const runtimeClass = synth.ofType(resources, 'kubernetes:node.k8s.io/v1:RuntimeClass')[0]!;
    expect(runtimeClass.inputs).toMatchObject({ handler: 'runsc', scheduling: { tolerations: [{ key: 'claw.dev/sandbox', value: 'gvisor', effect: 'NoSchedule' }] } });
    const workloads = resources.filter((r) => r.type === 'kubernetes:apps/v1:Deployment');
    expect(workloads.length).toBeGreaterThanOrEqual(3);
    for (const w of workloads) {
      const spec = w.inputs.spec.template.spec;
      expect((spec.tolerations ?? []).some((t: { key: string }) => t.key === 'claw.dev/sandbox'), `${w.name} tolerates the sandbox taint`).toBe(false);
      expect(spec.nodeSelector?.['claw.dev/pool']).not.toBe('sandbox');
    }
    // Helm releases (Temporal, OpenBao) do not ask for the sandbox pool either.
    for (const release of synth.ofType(resources, 'kubernetes:helm.sh/v3:Release')) expect(JSON.stringify(release.inputs.values ?? {})).not.toContain('claw.dev/sandbox');
  });

  it("the worker's config names the Temporal address and every tenant's key, bucket and role; the gateway's the lake and the trace reader, never the tenant role", () => {
    const worker = synth.named(resources, 'kubernetes:apps/v1:Deployment', 'runtime-worker');
    const env = Object.fromEntries(worker.inputs.spec.template.spec.containers[0].env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env.TEMPORAL_ADDRESS).toBe(outputs.temporalAddress);
    expect(env.CLAW_TARGET).toBe('aws');
    expect(worker.inputs.spec.template.spec.containers[0].image).toMatch(/claw\/worker@sha256:a{64}$/);
    const workerTenants = JSON.parse(synth.named(resources, 'kubernetes:core/v1:ConfigMap', 'runtime-worker-config').inputs.data['tenants.json']) as Array<Record<string, string>>;
    expect(workerTenants).toHaveLength(50);
    for (const t of workerTenants) {
      // The lake names are the ones the tenant's lakehouse created (TenantRuntimeRef), not re-derived by the runtime.
      expect(t).toMatchObject({
        keyRef: outputs.tenants[t.id!].key, bucket: outputs.tenants[t.id!].bucket, roleArn: outputs.tenants[t.id!].roleArn,
        database: outputs.tenants[t.id!].database, workgroup: outputs.tenants[t.id!].workgroup,
      });
      expect(t).not.toHaveProperty('key');
    }
    expect(workerTenants.find((t) => t.id === 't013')!.prefix).toBe('claw/t013/');
    const gatewayTenants = JSON.parse(synth.named(resources, 'kubernetes:core/v1:ConfigMap', 'runtime-gateway-config').inputs.data['tenants.json']) as Array<Record<string, string>>;
    expect(gatewayTenants).toHaveLength(50);
    for (const t of gatewayTenants) {
      const out = outputs.tenants[t.id!];
      expect(t).toEqual({
        id: t.id, keyRef: out.key, traceReader: out.traceReaderRoleArn, bucket: out.bucket, database: out.database, workgroup: out.workgroup,
        ...(out.prefix ? { prefix: out.prefix } : {}),
      });
      expect(t.traceReader).toMatch(/:role\/claw\/prod\/trace-readers\//);
      expect(JSON.stringify(gatewayTenants)).not.toContain(out.roleArn);
    }
  });
});

describe('invalid claw.yaml for aws fails before any resource is declared', () => {
  const declared = (rs: RecordedResource[]) => rs.filter((r) => r.type !== 'pulumi:pulumi:Stack');

  it.each([
    ['unknown region', awsConfigYaml(1, { region: 'eu-middle-9' }), /aws\.region: unknown AWS region/],
    ['an authorized network that is not a CIDR', awsConfigYaml(1, { authorizedNetworks: ['203.0.113.0'] }), /aws\.authorizedNetworks\[0\]: authorized networks are IPv4 CIDRs/],
    ['the whole internet as an authorized network', awsConfigYaml(1, { authorizedNetworks: ['0.0.0.0/0'] }), /aws\.authorizedNetworks: 0\.0\.0\.0\/0 opens the Kubernetes API/],
    ['duplicate tenant', awsConfigYaml(2, { ids: ['acme', 'acme'] }), /tenants\[1\]\.id: duplicate tenant id 'acme'/],
    ['BYOK ARN in the wrong form', awsConfigYaml(1, { ids: ['acme'], byok: { acme: 'arn:aws:kms:eu-west-1:1234:key/not-a-uuid' } }), /tenants\[0\]\.key\.ref: a BYOK key on aws is a KMS key ARN/],
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
    ['a config object with an unknown region', () => ({ ...awsConfig(1), aws: { ...awsConfig(1).aws!, region: 'mars-1' as 'eu-west-1' } }), /aws\.region/],
    ['a BYOK key in another region', () => awsConfig(1, { ids: ['acme'], byok: { acme: 'arn:aws:kms:us-east-1:444455556666:key/7b0c2d1e-9f3a-4b5c-8d6e-1a2b3c4d5e6f' } }), /tenants\[0\]\.key\.ref: .*us-east-1/],
    ['no certificate', () => ({ ...awsConfig(1), aws: { ...awsConfig(1).aws!, certificateArn: undefined } }), /aws\.certificateArn/],
    ['no worker image', () => ({ ...awsConfig(1), images: {} }), /images\.worker/],
  ])('%s: the stack throws a ClawError and declares nothing', async (_what, build, message) => {
    const recorded: RecordedResource[] = [];
    const attempt = synth.synthesize(() => stack.awsStack(build()) as any, { state: (a) => (recorded.push({ type: a.type } as RecordedResource), undefined) });
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(declared(recorded)).toEqual([]);
  });
});
