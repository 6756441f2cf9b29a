/**
 * The contract test between the cloud Deployments and the processes (contracts/wiring.ts).
 *
 * Synthesize the aws and the gcp stack under mocks; for the worker, gateway and
 * codec-server Deployments, do what the kubelet does: write each ConfigMap volume's files
 * at its mount path (under a temp root), create each emptyDir, resolve env values and
 * secretKeyRefs (from the synthesized Secret). Then run the processes' own start-up code
 * on that: readProcessConfig (runtime/process-config.ts, what each main.ts calls first)
 * and openTarget (construction only: no cloud call), and check that each component gets
 * the keys, buckets, lake names and identities the stack created for each tenant.
 * A negative control drops one piece of the wiring and expects the process's own error.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Synth from '../policies/infra/synth.js';
import type { RecordedResource } from '../policies/infra/synth.js';
import { isClawError, type ClawError } from '../core/errors.js';
import { openTarget, resolveWiring } from '../runtime/targets/index.js';
import { readProcessConfig } from '../runtime/process-config.js';
import { TokenStore, issueToken, tokensPath } from '../runtime/codec-server/tokens.js';
import { PORTS, type WiredComponent } from '../contracts/wiring.js';
import { awsConfig } from './aws.fixture.js';
import { gcpConfig } from './gcp.fixture.js';

let synth: typeof Synth;
let awsStack: typeof import('./aws.js');
let gcpStack: typeof import('./gcp.js');
beforeAll(async () => {
  synth = await import('../policies/infra/synth.js');
  await synth.synthesize(() => {});
  awsStack = await import('./aws.js');
  gcpStack = await import('./gcp.js');
});

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) {
    chmodTree(root);
    rmSync(root, { recursive: true, force: true });
  }
});
/** Read-only mounts are made read-only; give them back to the owner so they can be removed. */
function chmodTree(path: string) {
  const dir = statSync(path).isDirectory();
  chmodSync(path, dir ? 0o755 : 0o644);
  if (dir) for (const entry of readdirSync(path)) chmodTree(join(path, entry));
}

const DEPLOYMENT = 'kubernetes:apps/v1:Deployment';
const CONFIG_MAP = 'kubernetes:core/v1:ConfigMap';
const SECRET = 'kubernetes:core/v1:Secret';
const COMPONENTS: Record<WiredComponent, string> = { worker: 'runtime-worker', gateway: 'runtime-gateway', codecServer: 'runtime-codec-server' };

interface Pod {
  env: Record<string, string>;
  root: string;
}

/** The Kubernetes object `kind` named `name` in `namespace`, as declared. */
function object(resources: RecordedResource[], type: string, namespace: string, name: string): RecordedResource {
  // state: an auto-named object's name is the provider's (metadata.name is not in its inputs).
  const found = resources.filter((r) => r.type === type && (r.state.metadata?.name ?? r.inputs.metadata?.name) === name && (r.inputs.metadata?.namespace ?? 'default') === namespace);
  if (found.length !== 1) throw new Error(`kubelet: ${type} ${namespace}/${name} not found (${found.length})`);
  return found[0]!;
}

/**
 * What the kubelet makes of one Deployment's pod template: files at their mount paths
 * (rooted at a temp dir; absolute paths in env values are re-rooted the same way) and the
 * container's environment with secretKeyRefs resolved. It fails where a pod would not start
 * (CreateContainerConfigError: a missing ConfigMap, Secret or key).
 */
function materialize(resources: RecordedResource[], deployment: RecordedResource, edit?: (spec: any) => void): Pod {
  const template = structuredClone(deployment.inputs.spec.template);
  edit?.(template.spec);
  const namespace = deployment.inputs.metadata.namespace ?? 'default';
  const container = template.spec.containers[0];
  const root = mkdtempSync(join(tmpdir(), 'claw-pod-'));
  roots.push(root);
  const volumes = new Map<string, any>((template.spec.volumes ?? []).map((v: any) => [v.name, v]));
  const mountPaths: string[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name);
    if (!volume) throw new Error(`kubelet: volume ${mount.name} is mounted but not declared`);
    const dir = join(root, mount.mountPath);
    mkdirSync(dir, { recursive: true });
    mountPaths.push(mount.mountPath);
    if (volume.configMap) {
      const data = object(resources, CONFIG_MAP, namespace, volume.configMap.name).inputs.data as Record<string, string>;
      const items: { key: string; path: string }[] = volume.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const { key, path } of items) {
        if (data[key] === undefined) throw new Error(`kubelet: ConfigMap ${volume.configMap.name} has no key ${key}`);
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), data[key]!);
        if (mount.readOnly) chmodSync(join(dir, path), 0o444);
      }
    } else if (volume.secret) {
      const found = resources.filter((r) => r.type === SECRET && (r.state.metadata?.name ?? r.inputs.metadata?.name) === volume.secret.secretName && (r.inputs.metadata?.namespace ?? 'default') === namespace);
      if (found.length === 0 && !volume.secret.optional) throw new Error(`kubelet: Secret ${namespace}/${volume.secret.secretName} not found`);
      const secret = found[0] ? unsecret(found[0].inputs) : { stringData: {} };
      const data: Record<string, string> = { ...secret.stringData, ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')])) };
      for (const { key, path } of volume.secret.items ?? Object.keys(data).map((key: string) => ({ key, path: key }))) {
        if (data[key] === undefined) {
          if (volume.secret.optional) continue;
          throw new Error(`kubelet: Secret ${volume.secret.secretName} has no key ${key}`);
        }
        writeFileSync(join(dir, path), data[key]!);
      }
    } else if (!volume.emptyDir) {
      throw new Error(`kubelet (test): volume ${mount.name} is neither a ConfigMap, a Secret nor an emptyDir`);
    }
    if (mount.readOnly) chmodSync(dir, 0o555);
  }
  const reroot = (value: string) => {
    const mount = mountPaths.find((m) => value === m || value.startsWith(`${m}/`));
    return mount ? join(root, value) : value;
  };
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = reroot(String(e.value));
    else if (e.valueFrom?.secretKeyRef) {
      const { name, key } = e.valueFrom.secretKeyRef;
      const secret = unsecret(object(resources, SECRET, namespace, name).inputs);
      const value = secret.stringData?.[key] ?? (secret.data?.[key] !== undefined ? Buffer.from(secret.data[key], 'base64').toString('utf8') : undefined);
      if (value === undefined) throw new Error(`kubelet: Secret ${name} has no key ${key}`);
      env[e.name] = String(value);
    } else throw new Error(`kubelet (test): env ${e.name} has a source this test does not resolve`);
  }
  return { env, root };
}

/**
 * What the process's real start-up code reads of its pod: readProcessConfig and openTarget
 * run over a recording env. Every variable the Deployment sets must be among the reads, and
 * every mount must hold a path that a read variable names (the state dir, claw.yaml and
 * tenants.json, CA and token files); /tmp is for the OS (the root filesystem is read-only).
 */
async function startUpReads(component: WiredComponent, pod: Pod, dep: RecordedResource) {
  const read = new Set<string>();
  const env = new Proxy(pod.env, {
    get: (target, name) => {
      if (typeof name === 'string') read.add(name);
      return Reflect.get(target, name);
    },
  });
  const config = readProcessConfig(component, env);
  const ports = await openTarget({ component, stateDir: config.stateDir, ...(config.config ? { config: config.config } : {}), env });
  const values = [...read].map((name) => pod.env[name]).filter((v): v is string => typeof v === 'string');
  const mounts: string[] = (dep.inputs.spec.template.spec.containers[0].volumeMounts ?? []).map((m: { mountPath: string }) => m.mountPath);
  return {
    ports,
    unreadEnv: Object.keys(pod.env).filter((name) => !read.has(name)),
    unreadMounts: mounts.filter((m) => m !== '/tmp' && !values.some((v) => v === join(pod.root, m) || v.startsWith(`${join(pod.root, m)}/`))),
  };
}

/** The mocks record secret inputs in Pulumi's wire form; the API server would hold the plain value. */
const SECRET_SIG = { key: '4dabf18193072939515e22adb298388d', value: '1b47061264138c4ac30d75fd1eb44270' };
function unsecret(value: any): any {
  if (Array.isArray(value)) return value.map(unsecret);
  if (value && typeof value === 'object') {
    if (value[SECRET_SIG.key] === SECRET_SIG.value) return unsecret(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unsecret(v)]));
  }
  return value;
}

function clawError(run: () => unknown): ClawError {
  try {
    run();
  } catch (err) {
    expect(isClawError(err), String(err)).toBe(true);
    return err as ClawError;
  }
  throw new Error('expected a ClawError');
}

const tenantIds = ['acme', 'globex'];

describe('aws: the synthesized Deployments start the processes', () => {
  let resources: RecordedResource[];
  let outputs: Record<string, any>;
  beforeAll(async () => {
    ({ resources, outputs } = (await synth.synthesize(
      () => awsStack.awsStack(awsConfig(2, { ids: tenantIds, byob: { globex: { name: 'globex-own-lake', prefix: 'claw/globex' } } })) as any,
    )) as { resources: RecordedResource[]; outputs: Record<string, any> });
  }, 120_000);
  const deployment = (c: WiredComponent) => synth.named(resources, DEPLOYMENT, COMPONENTS[c]);

  it.each(['worker', 'gateway', 'codecServer'] as const)('%s: readProcessConfig and openTarget succeed on what the pod gets', async (component) => {
    const dep = deployment(component);
    const pod = materialize(resources, dep);
    const config = readProcessConfig(component, pod.env);
    const container = dep.inputs.spec.template.spec.containers[0];

    // Listens where the Service and the probes look.
    expect(config.port).toBe(PORTS[component]);
    expect(container.ports[0].containerPort).toBe(config.port);
    expect(container.readinessProbe.httpGet.port).toBe(config.port);
    expect(config.host).toBe('0.0.0.0');
    // claw.yaml is the install's, as the stack got it; the state dir is writable.
    expect(config.config?.name).toBe('prod');
    expect(config.config?.target).toBe('aws');
    expect(config.config?.tenants.map((t) => t.id)).toEqual(tenantIds);
    writeFileSync(join(config.stateDir, 'probe'), 'ok');
    if (component === 'codecServer') {
      expect(config.temporal).toBeUndefined();
      expect(config.databaseUrl).toBeUndefined();
    } else {
      expect(config.temporal).toEqual({ address: outputs.temporalAddress, namespace: 'default' });
      const db = synth.ofType(resources, 'aws:rds/instance:Instance')[0]!;
      const url = new URL(config.databaseUrl!);
      expect(url.protocol).toBe('postgres:');
      expect(url.hostname).toBe(db.state.address);
      expect(url.port).toBe('5432');
      expect(url.pathname).toBe(`/${db.inputs.dbName}`);
      expect(decodeURIComponent(url.username)).toBe(db.inputs.username);
      expect(url.password.length).toBeGreaterThan(0);
      // TLS with the host name checked (rds.force_ssl=1 refuses anything else), against the
      // RDS CAs: the bundle in the pod has the root of the instance's CA in this region.
      expect(url.searchParams.get('sslmode')).toBe('verify-full');
      expect(db.inputs.caCertIdentifier).toBe('rds-ca-rsa2048-g1');
      const bundle = readFileSync(url.searchParams.get('sslrootcert')!, 'utf8');
      const subjects = bundle.split(/(?<=-----END CERTIFICATE-----)\n/).filter((pem) => pem.includes('BEGIN')).map((pem) => new X509Certificate(pem).subject);
      expect(subjects.some((subject) => subject.split('\n').includes('CN=Amazon RDS eu-west-1 Root CA RSA2048 G1')), 'the region root CA is in the bundle').toBe(true);
    }

    const adapters = await openTarget({ component, stateDir: config.stateDir, ...(config.config ? { config: config.config } : {}), env: pod.env });
    const d = adapters.describe();
    expect(d.target).toBe('aws');
    expect(d.tenantKeyring).toMatchObject({ kind: 'aws-kms', region: 'eu-west-1', createKeys: false, keys: Object.fromEntries(tenantIds.map((id) => [id, outputs.tenants[id].key])) });
    if (component === 'worker') {
      expect((d.tenantKeyring as { identities: Record<string, string> }).identities).toEqual(Object.fromEntries(tenantIds.map((id) => [id, outputs.tenants[id].roleArn])));
      expect(d.blobStore).toEqual({
        kind: 's3',
        region: 'eu-west-1',
        tenants: Object.fromEntries(tenantIds.map((id) => [id, { bucket: outputs.tenants[id].bucket, prefix: outputs.tenants[id].prefix, kmsKeyId: outputs.tenants[id].key }])),
      });
      // The lake names the tenant's lakehouse created, carried by tenants.json (not re-derived).
      const glue = (id: string) => synth.ofType(resources, 'aws:glue/catalogDatabase:CatalogDatabase', id)[0]!.inputs.name;
      const workgroup = (id: string) => synth.ofType(resources, 'aws:athena/workgroup:Workgroup', id)[0]!.inputs.name;
      for (const id of tenantIds) {
        const lake = (d.lakeWriter as { tenants: Record<string, any> }).tenants[id];
        expect(lake).toEqual({ bucket: outputs.tenants[id].bucket, prefix: outputs.tenants[id].prefix, kmsKeyArn: outputs.tenants[id].key, database: glue(id), workgroup: workgroup(id) });
        expect(lake.database).toBe(outputs.tenants[id].database);
        expect(lake.workgroup).toBe(outputs.tenants[id].workgroup);
      }
      expect(outputs.tenants.globex.prefix).toBe('claw/globex/');
    } else {
      expect(d.blobStore).toBeUndefined();
      expect(d.lakeWriter).toBeUndefined();
      expect(Object.values((d.tenantKeyring as { identities: Record<string, string | null> }).identities)).toEqual([null, null]);
    }
    if (component === 'gateway') {
      // The runs pages: every tenant's lake, read as its trace reader (not NOT_AVAILABLE, not the tenant role).
      const glue = (id: string) => synth.ofType(resources, 'aws:glue/catalogDatabase:CatalogDatabase', id)[0]!.inputs.name;
      expect(d.runReader).toEqual({
        kind: 'aws',
        region: 'eu-west-1',
        tenants: Object.fromEntries(tenantIds.map((id) => [id, { database: glue(id), workgroup: outputs.tenants[id].workgroup, identity: outputs.tenants[id].traceReaderRoleArn }])),
      });
    }
    await adapters.lakeWriter?.close?.();
  });

  it('the DB password reaches the process only through the Secret, URL-encoded', () => {
    const dep = deployment('worker');
    expect(JSON.stringify(dep.inputs)).not.toMatch(/postgres:\/\//);
    const pod = materialize(resources, dep);
    const password = pod.env.CLAW_DB_PASSWORD!;
    expect(password.length).toBeGreaterThan(0);
    expect(JSON.stringify(dep.inputs)).not.toContain(password);
    expect(decodeURIComponent(new URL(readProcessConfig('worker', pod.env).databaseUrl!).password)).toBe(password);
  });

  it.each(['worker', 'gateway', 'codecServer'] as const)('%s: every env var and mount the pod gets is read at start-up, and the ports are the ones the stack set up', async (component) => {
    const dep = deployment(component);
    const pod = materialize(resources, dep);
    const { ports, unreadEnv, unreadMounts } = await startUpReads(component, pod, dep);
    expect(unreadEnv).toEqual([]);
    expect(unreadMounts).toEqual([]);
    const d = ports.describe();
    // The stack runs OpenBao: the worker and gateway keep secrets there, the codec-server reads none.
    expect(d.secretStore).toEqual(component === 'codecServer' ? { kind: 'database' } : { kind: 'openbao', address: pod.env.OPENBAO_ADDR, authRole: 'claw-runtime', kvMount: 'claw' });
    // Program tools run as pods in the gVisor pool's namespace, never in the worker's own pod.
    if (component === 'worker') expect(d.programSandbox).toEqual({ kind: 'kubernetes', namespace: 'claw-sandbox', image: pod.env.CLAW_SANDBOX_IMAGE });
    else expect(d.programSandbox).toBeUndefined();
    await ports.lakeWriter?.close?.();
  });

  describe('negative controls: a Deployment missing one piece fails with the process own error', () => {
    const dropEnv = (name: string) => (spec: any) => {
      spec.containers[0].env = spec.containers[0].env.filter((e: { name: string }) => e.name !== name);
    };

    it.each([
      ['worker', 'CLAW_CONFIG', 'WORKER_ENV_MISSING'],
      ['worker', 'CLAW_STATE_DIR', 'WORKER_ENV_MISSING'],
      ['worker', 'TEMPORAL_ADDRESS', 'WORKER_ENV_MISSING'],
      ['worker', 'CLAW_DB_PASSWORD', 'WORKER_ENV_MISSING'],
      ['gateway', 'CLAW_DB_HOST', 'GATEWAY_ENV_MISSING'],
      ['codecServer', 'CLAW_PORT', 'CODEC_ENV_MISSING'],
    ] as const)('%s without %s: %s naming it', (component, name, code) => {
      const pod = materialize(resources, deployment(component), dropEnv(name));
      const err = clawError(() => readProcessConfig(component, pod.env));
      expect(err.code).toBe(code);
      expect(err.message).toContain(name);
    });

    it('the worker without the claw.yaml item in its config volume: the loader says the file is not there', () => {
      const pod = materialize(resources, deployment('worker'), (spec) => {
        const config = spec.volumes.find((v: any) => v.name === 'config');
        config.configMap.items = config.configMap.items.filter((i: { key: string }) => i.key !== 'claw.yaml');
      });
      const err = clawError(() => readProcessConfig('worker', pod.env));
      expect(err.message).toContain('claw.yaml');
    });

    it('the worker without CLAW_TENANTS_FILE: openTarget fails with RUNTIME_WIRING_INVALID naming it', async () => {
      const pod = materialize(resources, deployment('worker'), dropEnv('CLAW_TENANTS_FILE'));
      const config = readProcessConfig('worker', pod.env);
      await expect(openTarget({ component: 'worker', stateDir: config.stateDir, config: config.config!, env: pod.env })).rejects.toMatchObject({
        code: 'RUNTIME_WIRING_INVALID',
        message: expect.stringContaining('CLAW_TENANTS_FILE'),
      });
    });
  });
});

describe('gcp: the synthesized Deployments start the processes', () => {
  let resources: RecordedResource[];
  let outputs: Record<string, any>;
  beforeAll(async () => {
    ({ resources, outputs } = (await synth.synthesize(() => gcpStack.gcpStack(gcpConfig(2, { ids: tenantIds })) as any)) as {
      resources: RecordedResource[];
      outputs: Record<string, any>;
    });
  }, 120_000);

  it.each(['worker', 'gateway', 'codecServer'] as const)('%s: readProcessConfig and openTarget succeed on what the pod gets', async (component) => {
    const dep = synth.named(resources, DEPLOYMENT, COMPONENTS[component]);
    const pod = materialize(resources, dep);
    const config = readProcessConfig(component, pod.env);
    expect(config.port).toBe(PORTS[component]);
    expect(dep.inputs.spec.template.spec.containers[0].readinessProbe.httpGet.port).toBe(config.port);
    expect(config.config?.target).toBe('gcp');
    writeFileSync(join(config.stateDir, 'probe'), 'ok');
    if (component !== 'codecServer') {
      expect(config.temporal?.address).toBe(outputs.temporalAddress);
      const url = new URL(config.databaseUrl!);
      expect(url.port).toBe('5432');
      // Cloud SQL (ENCRYPTED_ONLY): TLS checked against the instance's own server CA.
      expect(url.searchParams.get('sslmode')).toBe('verify-ca');
      const instance = synth.ofType(resources, 'gcp:sql/databaseInstance:DatabaseInstance')[0]!;
      expect(readFileSync(url.searchParams.get('sslrootcert')!, 'utf8')).toBe(instance.state.serverCaCerts[0].cert);
    } else {
      expect(dep.inputs.spec.template.spec.volumes.map((v: { name: string }) => v.name)).not.toContain('db-ca');
    }

    const adapters = await openTarget({ component, stateDir: config.stateDir, ...(config.config ? { config: config.config } : {}), env: pod.env });
    const d = adapters.describe();
    expect(d.tenantKeyring).toMatchObject({ kind: 'gcp-kms', createKeys: false, keys: Object.fromEntries(tenantIds.map((id) => [id, outputs.tenants[id].key])) });
    // Each component impersonates its own per-tenant identity.
    expect((d.tenantKeyring as { identities: Record<string, string> }).identities).toEqual(Object.fromEntries(tenantIds.map((id) => [id, outputs.tenants[id].serviceAccounts[component]])));
    if (component === 'worker') {
      for (const id of tenantIds) {
        const [projectId, datasetId] = (outputs.tenants[id].dataset as string).split(':');
        expect((d.blobStore as { tenants: Record<string, any> }).tenants[id]).toEqual({ bucket: outputs.tenants[id].bucket, prefix: outputs.tenants[id].prefix, kmsKeyName: outputs.tenants[id].key });
        expect((d.lakeWriter as { tenants: Record<string, any> }).tenants[id]).toEqual({ projectId, datasetId, kmsKeyName: outputs.tenants[id].key });
      }
    } else {
      expect(d.blobStore).toBeUndefined();
    }
    if (component === 'gateway') {
      // The runs pages: every tenant's dataset, as its trace reader.
      expect(d.runReader).toEqual({
        kind: 'gcp',
        tenants: Object.fromEntries(tenantIds.map((id) => {
          const [projectId, datasetId] = (outputs.tenants[id].dataset as string).split(':');
          return [id, { projectId, datasetId, identity: outputs.tenants[id].traceReader }];
        })),
      });
    }
    await adapters.lakeWriter?.close?.();
  });

  it.each(['worker', 'gateway', 'codecServer'] as const)('%s: every env var and mount the pod gets is read at start-up, and the ports are the ones the stack set up', async (component) => {
    const dep = synth.named(resources, DEPLOYMENT, COMPONENTS[component]);
    const pod = materialize(resources, dep);
    const { ports, unreadEnv, unreadMounts } = await startUpReads(component, pod, dep);
    expect(unreadEnv).toEqual([]);
    expect(unreadMounts).toEqual([]);
    const d = ports.describe();
    expect(d.secretStore.kind).toBe(component === 'codecServer' ? 'database' : 'openbao');
    if (component === 'worker') expect(d.programSandbox).toMatchObject({ kind: 'kubernetes', namespace: 'claw-sandbox' });
    await ports.lakeWriter?.close?.();
  });
});

describe('secrets in the wiring: Temporal Cloud API key and OTLP headers never enter a ConfigMap', () => {
  const OTLP_TOKEN = 'otlp-token-never-in-a-configmap-7f3e';
  const API_KEY = 'tc-api-key-from-the-operators-secret-51ab';
  const extra = [
    'temporal: { mode: cloud, namespace: prod.a1b2c, address: prod.a1b2c.tmprl.cloud:7233, apiKeySecret: temporal-cloud-api-key }',
    `observability: { otlp: { endpoint: 'https://otel.example.com/v1/traces', headers: { x-otlp-token: ${OTLP_TOKEN} } } }`,
  ].join('\n');
  let resources: RecordedResource[];
  beforeAll(async () => {
    ({ resources } = (await synth.synthesize(() => awsStack.awsStack(awsConfig(1, { ids: ['acme'], extra })) as any)) as { resources: RecordedResource[] });
  }, 120_000);
  /** What the operator creates before the pods can start (the stack never holds the key). */
  const operatorSecret = (namespace: string): RecordedResource => ({
    type: SECRET, name: 'operator', urn: 'urn:operator', custom: true,
    inputs: { metadata: { name: 'temporal-cloud-api-key', namespace }, stringData: { 'api-key': API_KEY } }, state: {},
  } as unknown as RecordedResource);
  const pod = (component: WiredComponent, withOperatorSecret = true) => {
    const dep = synth.named(resources, DEPLOYMENT, COMPONENTS[component]);
    return materialize(withOperatorSecret ? [...resources, operatorSecret(dep.inputs.metadata.namespace)] : resources, dep);
  };

  it('no ConfigMap or Deployment holds the header value; the declared Secret does, as a Pulumi secret', () => {
    for (const r of resources.filter((r) => r.type === CONFIG_MAP || r.type === DEPLOYMENT)) expect(JSON.stringify(r.inputs), r.name).not.toContain(OTLP_TOKEN);
    const holders = resources.filter((r) => JSON.stringify(r.inputs).includes(OTLP_TOKEN));
    expect(holders.map((r) => r.type)).toEqual([SECRET]);
    // Marked secret: Pulumi encrypts it in the state with the install's secrets provider.
    expect(JSON.stringify(holders[0]!.inputs.stringData)).toContain(SECRET_SIG.value);
    // The rendered claw.yaml keeps the endpoint, so the worker still knows where to export.
    const workerConfig = synth.named(resources, CONFIG_MAP, 'runtime-worker-config');
    expect(workerConfig.inputs.data['claw.yaml']).toContain('https://otel.example.com/v1/traces');
  });

  it('the worker gets the API key and the header value from Secrets; the exporter sends the header', () => {
    const worker = pod('worker');
    const config = readProcessConfig('worker', worker.env);
    expect(config.temporal).toEqual({ address: 'prod.a1b2c.tmprl.cloud:7233', namespace: 'prod.a1b2c', apiKey: API_KEY });
    const wiring = resolveWiring({ component: 'worker', stateDir: config.stateDir, config: config.config!, env: worker.env });
    expect(wiring.otlp).toEqual({ endpoint: 'https://otel.example.com/v1/traces', headers: { 'x-otlp-token': OTLP_TOKEN } });
  });

  it('the gateway gets the API key but not the OTLP headers; the codec-server neither', () => {
    const gateway = pod('gateway');
    expect(readProcessConfig('gateway', gateway.env).temporal?.apiKey).toBe(API_KEY);
    expect(gateway.env.CLAW_OTLP_HEADERS).toBeUndefined();
    const codec = pod('codecServer');
    expect(Object.values(codec.env).join('\n')).not.toContain(API_KEY);
    expect(codec.env.CLAW_OTLP_HEADERS).toBeUndefined();
  });

  it("the codec-server starts without the operator's token Secret and refuses every caller; with it, the issued token works", () => {
    const dep = synth.named(resources, DEPLOYMENT, COMPONENTS.codecServer);
    const namespace = dep.inputs.metadata.namespace;
    const without = materialize([...resources, operatorSecret(namespace)], dep);
    const config = readProcessConfig('codecServer', without.env);
    const path = tokensPath(config.stateDir, without.env);
    expect(path.startsWith(without.root)).toBe(true);
    expect(new TokenStore(path).authenticate('Bearer claw_codec_anything')).toBeUndefined();

    // What the operator does: issue into a file, put the file in the Secret.
    const file = join(mkdtempSync(join(tmpdir(), 'claw-codec-tokens-')), 'tokens.json');
    roots.push(dirname(file));
    const token = issueToken(file, 'alice', ['acme']);
    const tokensSecret = {
      type: SECRET, name: 'operator-codec', urn: 'urn:operator-codec', custom: true,
      inputs: { metadata: { name: 'claw-codec-tokens', namespace }, stringData: { 'tokens.json': readFileSync(file, 'utf8') } }, state: {},
    } as unknown as RecordedResource;
    const pod = materialize([...resources, operatorSecret(namespace), tokensSecret], dep);
    const caller = new TokenStore(tokensPath(readProcessConfig('codecServer', pod.env).stateDir, pod.env)).authenticate(`Bearer ${token}`);
    expect(caller?.name).toBe('alice');
    expect([...caller!.tenants]).toEqual(['acme']);
  });

  it('without the operator\'s Secret the worker pod does not start (CreateContainerConfigError)', () => {
    expect(() => pod('worker', false)).toThrow(/Secret .*temporal-cloud-api-key not found/);
  });

  it('a malformed CLAW_OTLP_HEADERS fails with RUNTIME_WIRING_INVALID naming the variable, not the value', () => {
    const worker = pod('worker');
    const config = readProcessConfig('worker', worker.env);
    const env = { ...worker.env, CLAW_OTLP_HEADERS: `["${OTLP_TOKEN}"]` };
    const err = clawError(() => resolveWiring({ component: 'worker', stateDir: config.stateDir, config: config.config!, env }));
    expect(err.code).toBe('RUNTIME_WIRING_INVALID');
    expect(err.message).toContain('CLAW_OTLP_HEADERS');
    expect(JSON.stringify({ message: err.message, hint: err.hint, details: err.details })).not.toContain(OTLP_TOKEN);
  });
});
