import { beforeEach, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { parseConfig } from '../../core/config/load.js';
import { installRecorder, resolve, settle } from '../testing/mocks.js';
import { RELEASE_VERSION_LABEL } from '../../contracts/kubernetes.js';

const recorder = await installRecorder();
const k8s = await import('@pulumi/kubernetes');
const { Runtime } = await import('./runtime.js');

const digest = (n: string) => `europe-docker.pkg.dev/acme/claw/${n}@sha256:${'a'.repeat(64)}`;
const images = { worker: digest('worker'), gateway: digest('gateway'), codecServer: digest('codec-server') };
// The install's claw.yaml as the stack passes it (parsed); the pods get it rendered.
const config = parseConfig([
  'name: prod',
  'target: gcp',
  'gcp: { project: acme-claw-prod, region: europe-west1, domain: claw.acme.example }',
  'images:',
  ...Object.entries(images).map(([k, v]) => `  ${k}: ${v}`),
  'tenants:',
  '  - { id: acme, name: Acme }',
  '  - { id: globex, name: Globex }',
  '',
].join('\n'), '/tmp/claw.yaml');
const tenants = [
  { id: 'acme', keyRef: 'projects/p/locations/l/keyRings/r/cryptoKeys/acme', bucket: 'claw-acme', dataset: 'p:claw_acme', traceReader: 'acme-traces@p.iam.gserviceaccount.com',
    serviceAccounts: { worker: 'acme-data@p.iam.gserviceaccount.com', gateway: 'acme-ingest@p.iam.gserviceaccount.com', codecServer: 'acme-decode@p.iam.gserviceaccount.com' } },
  { id: 'globex', keyRef: 'projects/cust/locations/l/keyRings/r/cryptoKeys/theirs', bucket: 'globex-own-bucket', prefix: 'claw/' },
];

function baseArgs() {
  return {
    provider: new k8s.Provider('k8s', { kubeconfig: 'mock' }),
    config,
    temporal: { address: 'temporal-frontend.temporal.svc.cluster.local:7233', namespace: 'default' },
    openbao: { address: 'http://openbao.openbao.svc.cluster.local:8200', authMount: 'kubernetes', authRole: 'claw-runtime' },
    database: { host: '10.60.0.3', name: 'claw', user: 'claw', password: 'db-pw-secret' },
    tenants,
    serviceAccountAnnotations: { worker: { 'iam.gke.io/gcp-service-account': 'claw-worker@p.iam.gserviceaccount.com' } },
    sandboxNamespace: 'claw-sandbox',
  };
}

const envOf = (dep: { inputs: any }) => Object.fromEntries(dep.inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
const configOf = (name: string) => JSON.parse(recorder.get('kubernetes:core/v1:ConfigMap', `rt-${name}-config`).inputs.data['tenants.json']);

describe('Runtime', () => {
  beforeEach(() => recorder.reset());

  it('deploys worker, gateway and codec-server by digest, non-root, read-only, off the sandbox pool', async () => {
    const rt = new Runtime('rt', baseArgs());
    await settle(recorder);
    const deployments = recorder.ofType('kubernetes:apps/v1:Deployment');
    expect(deployments.map((d) => d.name).sort()).toEqual(['rt-codec-server', 'rt-gateway', 'rt-worker']);
    for (const d of deployments) {
      const pod = d.inputs.spec.template.spec;
      const c = pod.containers[0];
      expect(c.image).toMatch(/@sha256:[0-9a-f]{64}$/);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
      expect(c.securityContext).toEqual({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(pod.tolerations).toBeUndefined();
      expect(pod.runtimeClassName).toBeUndefined();
      expect(pod.nodeSelector).toEqual({ 'claw.dev/pool': 'system' });
      expect(c.readinessProbe.httpGet.path).toBe('/healthz');
      expect(d.inputs.metadata.namespace).toBe('claw');
    }
    const sas = recorder.ofType('kubernetes:core/v1:ServiceAccount');
    expect(sas.map((s) => s.inputs.metadata.name).sort()).toEqual(['claw-codec-server', 'claw-gateway', 'claw-worker']);
    expect(recorder.get('kubernetes:core/v1:ServiceAccount', 'rt-worker-sa').inputs.metadata.annotations).toEqual({ 'iam.gke.io/gcp-service-account': 'claw-worker@p.iam.gserviceaccount.com' });
    expect(recorder.get('kubernetes:core/v1:Namespace', 'rt-ns').inputs.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(await resolve(rt.gatewayService)).toBe('gateway');
    expect(await resolve(rt.codecServerService)).toBe('codec-server');
  });

  it("wires the worker with the Temporal address, each tenant's key, bucket and identity", async () => {
    new Runtime('rt', baseArgs());
    await settle(recorder);
    const env = envOf(recorder.get('kubernetes:apps/v1:Deployment', 'rt-worker'));
    expect(env.TEMPORAL_ADDRESS).toBe('temporal-frontend.temporal.svc.cluster.local:7233');
    expect(env.TEMPORAL_NAMESPACE).toBe('default');
    expect(env.OPENBAO_ADDR).toBe('http://openbao.openbao.svc.cluster.local:8200');
    expect(env.CLAW_TENANTS_FILE).toBe('/etc/claw/tenants.json');
    expect(env.CLAW_CONFIG).toBe('/etc/claw/claw.yaml');
    expect(env.CLAW_STATE_DIR).toBe('/var/lib/claw');
    expect(env.CLAW_HOST).toBe('0.0.0.0');
    expect(env.CLAW_PORT).toBe('9090');
    expect(env).toMatchObject({ CLAW_DB_HOST: '10.60.0.3', CLAW_DB_PORT: '5432', CLAW_DB_NAME: 'claw', CLAW_DB_USER: 'claw' });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.CLAW_DB_PASSWORD).toEqual({ secretKeyRef: { name: 'claw-db', key: 'password' } });
    // The DB password is in the Secret only, not in any env value or ConfigMap.
    expect(JSON.stringify(recorder.ofType('kubernetes:apps/v1:Deployment').map((d) => d.inputs))).not.toContain('db-pw-secret');
    expect(JSON.stringify(recorder.ofType('kubernetes:core/v1:ConfigMap').map((d) => d.inputs))).not.toContain('db-pw-secret');
    expect(configOf('worker')).toEqual([
      { id: 'acme', keyRef: tenants[0]!.keyRef, bucket: 'claw-acme', dataset: 'p:claw_acme', serviceAccount: 'acme-data@p.iam.gserviceaccount.com' },
      { id: 'globex', keyRef: tenants[1]!.keyRef, bucket: 'globex-own-bucket', prefix: 'claw/' },
    ]);
  });

  it("mounts the install's claw.yaml (as the stack got it) and tenants.json read-only, and a writable state dir", async () => {
    new Runtime('rt', baseArgs());
    await settle(recorder);
    for (const name of ['worker', 'gateway', 'codec-server']) {
      const data = recorder.get('kubernetes:core/v1:ConfigMap', `rt-${name}-config`).inputs.data;
      expect(Object.keys(data).sort()).toEqual(['claw.yaml', 'tenants.json']);
      expect(parseConfig(data['claw.yaml'], '/etc/claw/claw.yaml')).toEqual(config);
      const pod = recorder.get('kubernetes:apps/v1:Deployment', `rt-${name}`).inputs.spec.template.spec;
      const mounts = Object.fromEntries(pod.containers[0].volumeMounts.map((m: any) => [m.mountPath, m]));
      expect(mounts['/etc/claw']).toMatchObject({ name: 'config', readOnly: true });
      expect(mounts['/var/lib/claw']).toMatchObject({ name: 'state' });
      expect(mounts['/var/lib/claw'].readOnly).toBeUndefined();
      expect(pod.volumes.find((v: any) => v.name === 'state').emptyDir).toBeDefined();
    }
  });

  it("gives the gateway each tenant's lake and trace reader (never the worker's identity), the codec-server keys and its own identities only", async () => {
    new Runtime('rt', baseArgs());
    await settle(recorder);
    // gcp: the dataset and the reader; no bucket (the BigQuery lake does not live in it).
    expect(configOf('gateway')).toEqual([
      { id: 'acme', keyRef: tenants[0]!.keyRef, serviceAccount: 'acme-ingest@p.iam.gserviceaccount.com', traceReader: 'acme-traces@p.iam.gserviceaccount.com', dataset: 'p:claw_acme' },
      { id: 'globex', keyRef: tenants[1]!.keyRef },
    ]);
    expect(JSON.stringify(configOf('worker'))).not.toContain('acme-traces');
    expect(JSON.stringify(configOf('codec-server'))).not.toContain('acme-traces');
    expect(configOf('codec-server')[0]).toEqual({ id: 'acme', keyRef: tenants[0]!.keyRef, serviceAccount: 'acme-decode@p.iam.gserviceaccount.com' });
    const codecEnv = envOf(recorder.get('kubernetes:apps/v1:Deployment', 'rt-codec-server'));
    expect(codecEnv.OPENBAO_ADDR).toBeUndefined();
    // The codec-server only decodes: no database credentials, no Temporal.
    expect(codecEnv.CLAW_DB_PASSWORD).toBeUndefined();
    expect(codecEnv.TEMPORAL_ADDRESS).toBeUndefined();
    expect(recorder.get('kubernetes:apps/v1:Deployment', 'rt-codec-server').inputs.spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it("aws: the gateway's tenants.json names the lake (bucket, prefix, database, workgroup) and the trace reader, never the worker's tenant role", async () => {
    const { tenantsFor } = await import('./runtime.js');
    const aws = [{
      id: 'acme', keyRef: 'arn:aws:kms:eu-west-1:111122223333:key/k', bucket: 'acme-own', prefix: 'claw/',
      roleArn: 'arn:aws:iam::111122223333:role/claw/prod/tenants/claw-prod-t-acme',
      traceReader: 'arn:aws:iam::111122223333:role/claw/prod/trace-readers/claw-prod-r-acme',
      database: 'claw_prod_acme', workgroup: 'claw-prod-acme',
    }];
    const lake = { bucket: 'acme-own', prefix: 'claw/', database: 'claw_prod_acme', workgroup: 'claw-prod-acme' };
    expect(await resolve(tenantsFor('gateway', aws))).toEqual([{ id: 'acme', keyRef: aws[0]!.keyRef, traceReader: aws[0]!.traceReader, ...lake }]);
    expect(await resolve(tenantsFor('worker', aws))).toEqual([{ id: 'acme', keyRef: aws[0]!.keyRef, roleArn: aws[0]!.roleArn, ...lake }]);
    expect(await resolve(tenantsFor('codecServer', aws))).toEqual([{ id: 'acme', keyRef: aws[0]!.keyRef }]);
  });

  it('scales each component with an HPA and protects it with a PDB; services only for gateway and codec-server', async () => {
    new Runtime('rt', { ...baseArgs(), scaling: { worker: { min: 3, max: 30 } } });
    await settle(recorder);
    const hpas = recorder.ofType('kubernetes:autoscaling/v2:HorizontalPodAutoscaler');
    expect(hpas.map((h) => [h.inputs.spec.scaleTargetRef.name, h.inputs.spec.minReplicas, h.inputs.spec.maxReplicas]).sort()).toEqual([
      ['codec-server', 2, 4], ['gateway', 2, 10], ['worker', 3, 30],
    ]);
    const pdbs = recorder.ofType('kubernetes:policy/v1:PodDisruptionBudget');
    expect(pdbs.map((p) => p.inputs.spec.minAvailable)).toEqual([1, 1, 1]);
    const services = recorder.ofType('kubernetes:core/v1:Service');
    expect(services.map((s) => [s.inputs.metadata.name, s.inputs.spec.type, s.inputs.spec.ports[0].targetPort]).sort()).toEqual([['codec-server', 'ClusterIP', 8081], ['gateway', 'ClusterIP', 8080]]);
  });

  it('exposes NodePort services on fixed ports when asked (EKS behind an ALB), and checks the ports', async () => {
    new Runtime('rt', { ...baseArgs(), serviceType: 'NodePort', nodePorts: { gateway: 30080, codecServer: 30081 } });
    await settle(recorder);
    const services = recorder.ofType('kubernetes:core/v1:Service');
    expect(services.map((s) => [s.inputs.metadata.name, s.inputs.spec.type, s.inputs.spec.ports[0].nodePort]).sort()).toEqual([['codec-server', 'NodePort', 30081], ['gateway', 'NodePort', 30080]]);
    let thrown: unknown;
    try {
      new Runtime('bad', { ...baseArgs(), serviceType: 'NodePort', nodePorts: { gateway: 80, codecServer: 30081 } });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(pulumi.InputPropertyError);
    expect(thrown).toMatchObject({ propertyPath: 'nodePorts.gateway', message: expect.stringMatching(/30000-32767/) });
  });

  it('labels every Deployment and its pods with the runtime release the upgrade health gate waits for', async () => {
    new Runtime('rv', baseArgs());
    await settle(recorder);
    const deployments = recorder.resources.filter((r) => r.type === 'kubernetes:apps/v1:Deployment');
    expect(deployments).toHaveLength(3);
    for (const d of deployments) {
      expect(d.inputs.metadata.labels[RELEASE_VERSION_LABEL]).toBe(config.versions.runtime);
      expect(d.inputs.spec.template.metadata.labels[RELEASE_VERSION_LABEL]).toBe(config.versions.runtime);
      // Not in the selector: a selector cannot change, a release does.
      expect(d.inputs.spec.selector.matchLabels[RELEASE_VERSION_LABEL]).toBeUndefined();
    }
  });

  it("gives the worker what the sandbox executor does in the sandbox namespace: a call's pod, its Secret and NetworkPolicy, no list or watch", async () => {
    new Runtime('rt', baseArgs());
    await settle(recorder);
    const role = recorder.get('kubernetes:rbac.authorization.k8s.io/v1:Role', 'rt-sandbox-role');
    expect(role.inputs.metadata.namespace).toBe('claw-sandbox');
    expect(role.inputs.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'delete'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete'] },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create', 'delete'] },
    ]);
    const binding = recorder.get('kubernetes:rbac.authorization.k8s.io/v1:RoleBinding', 'rt-sandbox-binding');
    expect(binding.inputs.subjects).toEqual([{ kind: 'ServiceAccount', name: 'claw-worker', namespace: 'claw' }]);
  });

  it('fails before declaring anything on a missing image, duplicate tenant or ambiguous password', async () => {
    expect(() => new Runtime('a', { ...baseArgs(), config: { ...config, images: { worker: images.worker, gateway: images.gateway } } })).toThrow(pulumi.InputPropertyError);
    expect(() => new Runtime('b', { ...baseArgs(), config: { ...config, images: { ...images, codecServer: undefined } } })).toThrow(/images.codecServer|codecServer/);
    expect(() => new Runtime('e', { ...baseArgs(), config: { ...config, target: 'local' } })).toThrow(/'aws' or 'gcp'/);
    expect(() => new Runtime('c', { ...baseArgs(), tenants: [tenants[0]!, tenants[0]!] })).toThrow(/duplicate tenant/);
    expect(() => new Runtime('d', { ...baseArgs(), database: { host: 'h', name: 'claw', user: 'u' } })).toThrow(/exactly one/);
    await settle(recorder);
    expect(recorder.resources.filter((r) => r.custom && !r.type.startsWith('pulumi:providers:'))).toEqual([]);
  });
});
