/**
 * runtime/targets: which ports each target's configuration yields. No cloud is
 * contacted: the cloud adapters are constructed (clients are lazy) and their configuration
 * is read back through their public lookups (keyRef, keyName, locate) and `describe()`.
 * The OTLP exporter sends to a loopback collector; tenant impersonation talks to a loopback
 * stand-in of the IAM Credentials API.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../core/config/load.js';
import { isClawError, type ClawError } from '../../core/errors.js';
import { impersonatedToken, openTarget, RoutedBlobStore, RoutedLakeWriter, RoutedRunReader, RoutedTenantKeyring, resolveWiring, type TargetInputs } from './index.js';
import { directoryBlobRoot, DirectoryBlobStore } from '../blobs/index.js';
import { GcsBlobStore } from '../blobs/gcs.js';
import { S3BlobStore } from '../blobs/s3.js';
import { AwsKmsBackend } from '../crypto/aws-kms.js';
import { EnvelopeKeyring } from '../crypto/envelope.js';
import { GcpKmsBackend } from '../crypto/gcp-kms.js';
import { LocalKeyringBackend, keyringPath } from '../crypto/local-keyring.js';
import { AwsLake } from '../traces/aws-lake.js';
import { KubernetesSandbox } from '../sandbox/kubernetes.js';
import { VaultSecretStore } from '../secrets/vault.js';
import { GcpLake } from '../traces/gcp-lake.js';
import { lakeDir, LocalLake } from '../traces/local-lake.js';
import { LakeRunReader } from '../traces/lake-runs.js';
import { CANARY, mustShowRun, tempStateDir, writeRunsFixture } from '../traces/testing/support.js';

const ACME_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1b4f2c8e-4d7a-4f0e-9c1a-2b3c4d5e6f70';
const GLOBEX_KEY = 'arn:aws:kms:eu-west-1:210987654321:key/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const ACME_ROLE = 'arn:aws:iam::123456789012:role/claw-prod-acme';
const GLOBEX_ROLE = 'arn:aws:iam::123456789012:role/claw-prod-globex';
const ACME_READER = 'arn:aws:iam::123456789012:role/claw/prod/trace-readers/claw-prod-r-acme';
const GLOBEX_READER = 'arn:aws:iam::123456789012:role/claw/prod/trace-readers/claw-prod-r-globex';
const INITRODE_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/33333333-4444-5555-6666-777777777777';
const TENANTS_FILE = '/etc/claw/tenants.json';
const SANDBOX_IMAGE = `registry.example.com/claw/tools@sha256:${'a'.repeat(64)}`;

const AWS_YAML = `
name: prod
target: aws
aws: { region: eu-west-1, certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc' }
tenants:
  - { id: acme, name: Acme }
  - id: globex
    name: Globex
    key: { type: byok, ref: '${GLOBEX_KEY}' }
    bucket: { type: byob, name: globex-own-bucket, prefix: claw/ }
`;

const GCP_ACME_KEY = 'projects/claw-prod-1/locations/europe-west1/keyRings/claw-prod-tenants/cryptoKeys/tenant-acme';
const GCP_GLOBEX_KEY = 'projects/globex-sec-1/locations/europe-west1/keyRings/theirs/cryptoKeys/claw';
const GCP_YAML = `
name: prod
target: gcp
gcp: { project: claw-prod-1, region: europe-west1, domain: claw.example.com }
tenants:
  - { id: acme, name: Acme }
  - id: globex
    name: Globex
    key: { type: byok, ref: '${GCP_GLOBEX_KEY}' }
    bucket: { type: byob, name: globex-own-bucket, prefix: claw/ }
`;

/** Expect `run` to fail with exactly one ClawError; return it. */
async function clawError(run: () => Promise<unknown>): Promise<ClawError> {
  try {
    await run();
  } catch (err) {
    expect(isClawError(err)).toBe(true);
    return err as ClawError;
  }
  throw new Error('expected a ClawError');
}

function cloudInputs(yaml: string, target: string, tenants: unknown, extra: Partial<TargetInputs> = {}): TargetInputs {
  return {
    component: 'worker',
    stateDir: '/nonexistent/claw-state',
    config: parseConfig(yaml, '/tmp/claw.yaml'),
    env: { CLAW_TARGET: target, CLAW_TENANTS_FILE: TENANTS_FILE, CLAW_SANDBOX_NAMESPACE: 'claw-sandbox', CLAW_SANDBOX_IMAGE: SANDBOX_IMAGE },
    readFile: (path) => {
      if (path !== TENANTS_FILE) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return JSON.stringify(tenants);
    },
    ...extra,
  };
}

describe('local target', () => {
  const { stateDir, cleanup } = tempStateDir();
  afterAll(cleanup);
  const config = parseConfig('tenants: [{ id: acme, name: Acme }]\n', '/tmp/claw.yaml');

  it('the worker gets the keyring file, the blob directory and the Parquet lake under the state dir, and no exporter', async () => {
    const adapters = await openTarget({ component: 'worker', stateDir, config, env: {} });
    expect(adapters.target).toBe('local');
    expect(adapters.tenantKeyring).toBeInstanceOf(EnvelopeKeyring);
    expect((adapters.tenantKeyring as EnvelopeKeyring).backend).toBeInstanceOf(LocalKeyringBackend);
    expect(adapters.blobStore).toBeInstanceOf(DirectoryBlobStore);
    expect(adapters.lakeWriter).toBeInstanceOf(LocalLake);
    expect((adapters.lakeWriter as LocalLake).stateDir).toBe(stateDir);
    expect(adapters.traceExporters).toEqual([]);
    expect(adapters.describe()).toEqual({
      target: 'local',
      component: 'worker',
      tenantKeyring: { kind: 'local', path: keyringPath(stateDir) },
      blobStore: { kind: 'directory', root: directoryBlobRoot(stateDir) },
      lakeWriter: { kind: 'local', dir: lakeDir(stateDir) },
      secretStore: { kind: 'database' },
      programSandbox: { kind: 'bubblewrap' },
    });
    expect(adapters.programSandbox).toBeUndefined();

    // The same key file as before: a key made through one keyring opens through another.
    await adapters.tenantKeyring.createTenantKey('acme');
    const sealed = await (await adapters.tenantKeyring.forTenant('acme')).encrypt(new TextEncoder().encode('hello'), 'blob');
    const again = await openTarget({ component: 'codecServer', stateDir, env: {} });
    expect(new TextDecoder().decode(await (await again.tenantKeyring.forTenant('acme')).decrypt(sealed, 'blob'))).toBe('hello');
    await adapters.lakeWriter!.close?.();
  });

  it('the codec-server gets only the keyring; the gateway the keyring and the run reader over the lake', async () => {
    for (const component of ['gateway', 'codecServer'] as const) {
      const adapters = await openTarget({ component, stateDir, config, env: {} });
      expect(adapters.blobStore).toBeUndefined();
      expect(adapters.lakeWriter).toBeUndefined();
      expect(adapters.describe()).toEqual({
        target: 'local',
        component,
        tenantKeyring: { kind: 'local', path: keyringPath(stateDir) },
        ...(component === 'gateway' ? { runReader: { kind: 'local', dir: lakeDir(stateDir) } } : {}),
        secretStore: { kind: 'database' },
      });
      expect(adapters.runReader === undefined).toBe(component === 'codecServer');
    }
  });

  it("the gateway's run reader reads what the worker landed, content opened with the tenant key only when asked", async () => {
    const own = tempStateDir();
    try {
      await writeRunsFixture(own.stateDir);
      const { runReader } = await openTarget({ component: 'gateway', stateDir: own.stateDir, config, env: {} });
      expect((await runReader!.list('acme', {})).map((r) => [r.runId, r.status])).toEqual([['run-2', 'running'], ['run-1', 'completed']]);
      expect((await runReader!.list('acme', { agentId: 'helper' })).map((r) => r.runId)).toEqual(['run-1']);
      expect((await runReader!.show('acme', 'run-1', false)).steps.find((s) => s.kind === 'ask')!.content).toBeUndefined();
      expect((await runReader!.show('acme', 'run-1', true)).steps.find((s) => s.kind === 'ask')!.content).toEqual({ text: CANARY.ask });
    } finally {
      own.cleanup();
    }
  });
});

describe('aws target (CLAW_TARGET=aws + tenants.json from components/k8s/runtime.ts)', () => {
  const workerTenants = [
    { id: 'acme', keyRef: ACME_KEY, roleArn: ACME_ROLE, bucket: 'claw-prod-acme', database: 'claw_prod_acme', workgroup: 'claw-prod-acme' },
    { id: 'globex', keyRef: GLOBEX_KEY, roleArn: GLOBEX_ROLE, bucket: 'globex-own-bucket', prefix: 'claw/', database: 'claw_prod_globex', workgroup: 'claw-prod-globex' },
  ];

  it("the worker: AWS KMS with each tenant's key ARN and createKeys false, S3 with its bucket/prefix and SSE-KMS key, the AWS lake, each under the tenant role", async () => {
    const adapters = await openTarget(cloudInputs(AWS_YAML, 'aws', workerTenants));
    expect(adapters.target).toBe('aws');

    const keyring = adapters.tenantKeyring as RoutedTenantKeyring;
    expect(keyring).toBeInstanceOf(RoutedTenantKeyring);
    for (const [id, key] of [['acme', ACME_KEY], ['globex', GLOBEX_KEY]] as const) {
      const backend = keyring.keyringOf(id).backend as AwsKmsBackend;
      expect(backend).toBeInstanceOf(AwsKmsBackend);
      expect(backend.keyRef(id)).toBe(key);
      expect(await backend.client.config.region()).toBe('eu-west-1');
    }
    // One identity per tenant role: the two tenants never share credentials.
    expect(keyring.keyringOf('acme')).not.toBe(keyring.keyringOf('globex'));

    const blobs = adapters.blobStore as RoutedBlobStore;
    expect(blobs.storeOf('acme')).toBeInstanceOf(S3BlobStore);
    expect((blobs.storeOf('acme') as S3BlobStore).locate('acme', 'files/a.txt')).toMatchObject({ bucket: 'claw-prod-acme', objectKey: 'blobs/files/a.txt', kmsKeyId: ACME_KEY });
    expect((blobs.storeOf('globex') as S3BlobStore).locate('globex', 'files/a.txt')).toMatchObject({ bucket: 'globex-own-bucket', objectKey: 'claw/blobs/files/a.txt', kmsKeyId: GLOBEX_KEY });

    const lake = adapters.lakeWriter as RoutedLakeWriter;
    expect(lake.lakeOf('acme')).toBeInstanceOf(AwsLake);

    expect(adapters.describe()).toEqual({
      target: 'aws',
      component: 'worker',
      tenantKeyring: { kind: 'aws-kms', region: 'eu-west-1', createKeys: false, install: 'prod', keys: { acme: ACME_KEY, globex: GLOBEX_KEY }, identities: { acme: ACME_ROLE, globex: GLOBEX_ROLE } },
      blobStore: {
        kind: 's3',
        region: 'eu-west-1',
        tenants: { acme: { bucket: 'claw-prod-acme', prefix: '', kmsKeyId: ACME_KEY }, globex: { bucket: 'globex-own-bucket', prefix: 'claw/', kmsKeyId: GLOBEX_KEY } },
      },
      lakeWriter: {
        kind: 'aws',
        region: 'eu-west-1',
        tenants: {
          acme: { bucket: 'claw-prod-acme', prefix: '', kmsKeyArn: ACME_KEY, database: 'claw_prod_acme', workgroup: 'claw-prod-acme' },
          globex: { bucket: 'globex-own-bucket', prefix: 'claw/', kmsKeyArn: GLOBEX_KEY, database: 'claw_prod_globex', workgroup: 'claw-prod-globex' },
        },
      },
      secretStore: { kind: 'database' },
      programSandbox: { kind: 'kubernetes', namespace: 'claw-sandbox', image: SANDBOX_IMAGE },
    });
    // Program tools never run in the worker's own pod on a cloud target.
    expect(adapters.programSandbox?.sandbox).toBeInstanceOf(KubernetesSandbox);
    expect(adapters.programSandbox?.image).toBe(SANDBOX_IMAGE);
    expect(adapters.traceExporters).toEqual([]);
  });

  // Every wired tenant's key is named by its keyRef, so the backend never takes the create path;
  // createKeys: false (in the summary above) is the second guard. The KMS calls are answered here.
  it('a cloud process never creates a key: createTenantKey only checks that the wired key exists', async () => {
    const adapters = await openTarget(cloudInputs(AWS_YAML, 'aws', workerTenants.map(({ roleArn: _, ...t }) => t), { component: 'gateway' }));
    const backend = (adapters.tenantKeyring as RoutedTenantKeyring).keyringOf('acme').backend as AwsKmsBackend;
    const sent: string[] = [];
    backend.client.middlewareStack.add((next, context) => async (args) => {
      sent.push(context.commandName ?? '');
      throw Object.assign(new Error('NotFoundException'), { name: 'NotFoundException' });
    }, { step: 'initialize' });
    await expect(adapters.tenantKeyring.createTenantKey('acme')).rejects.toMatchObject({ code: 'TENANT_KEY_MISSING' });
    expect(sent.length).toBeGreaterThan(0);
    expect(sent).not.toContain('CreateKeyCommand');
  });

  it('the gateway and codec-server: the keyring only, under their own identity (one backend for every tenant)', async () => {
    const tenants = workerTenants.map(({ id, keyRef }) => ({ id, keyRef }));
    const adapters = await openTarget(cloudInputs(AWS_YAML, 'aws', tenants, { component: 'codecServer' }));
    const keyring = adapters.tenantKeyring as RoutedTenantKeyring;
    expect(keyring.keyringOf('acme')).toBe(keyring.keyringOf('globex'));
    expect(adapters.blobStore).toBeUndefined();
    expect(adapters.describe().tenantKeyring).toEqual({ kind: 'aws-kms', region: 'eu-west-1', createKeys: false, install: 'prod', keys: { acme: ACME_KEY, globex: GLOBEX_KEY }, identities: { acme: null, globex: null } });
  });

  it("the gateway: runs from Athena as each tenant's trace reader, for the tenants whose lake its tenants.json names; its ingest keyring stays its own", async () => {
    const tenants = [
      { id: 'acme', keyRef: ACME_KEY, traceReader: ACME_READER, bucket: 'claw-prod-acme', database: 'claw_prod_acme', workgroup: 'claw-prod-acme' },
      { id: 'globex', keyRef: GLOBEX_KEY, traceReader: GLOBEX_READER, bucket: 'globex-own-bucket', prefix: 'claw/', database: 'claw_prod_globex', workgroup: 'claw-prod-globex' },
      { id: 'initrode', keyRef: INITRODE_KEY },
    ];
    const adapters = await openTarget(cloudInputs(AWS_YAML, 'aws', tenants, { component: 'gateway' }));
    expect(adapters.blobStore).toBeUndefined();
    expect(adapters.lakeWriter).toBeUndefined();
    expect(adapters.describe().runReader).toEqual({
      kind: 'aws',
      region: 'eu-west-1',
      tenants: { acme: { database: 'claw_prod_acme', workgroup: 'claw-prod-acme', identity: ACME_READER }, globex: { database: 'claw_prod_globex', workgroup: 'claw-prod-globex', identity: GLOBEX_READER } },
    });
    const reader = adapters.runReader as RoutedRunReader;
    expect(reader).toBeInstanceOf(RoutedRunReader);
    expect((reader.router.for('acme') as LakeRunReader).engine).toBeInstanceOf(AwsLake);
    // One reader per trace-reader role: two tenants never share the credentials their runs are read with.
    expect(reader.router.for('acme')).not.toBe(reader.router.for('globex'));
    // Sealed content opens with the reader's keyring (the reader role's KMS rights), not the gateway's encrypt-only one.
    const keyring = adapters.tenantKeyring as RoutedTenantKeyring;
    const readerKeyring = (r: unknown) => (r as { keyring: unknown }).keyring;
    expect(readerKeyring(reader.router.for('acme'))).not.toBe(keyring.keyringOf('acme'));
    expect(readerKeyring(reader.router.for('acme'))).not.toBe(readerKeyring(reader.router.for('globex')));
    // The ingest keyring: the gateway's own identity for every tenant, whatever tenants.json names for runs.
    expect(adapters.describe().tenantKeyring).toMatchObject({ identities: { acme: null, globex: null, initrode: null } });
    expect(keyring.keyringOf('acme')).toBe(keyring.keyringOf('globex'));
    // Refused before any AWS call: a tenant whose lake is not named, a tenant not wired at all.
    await expect(reader.list('initrode', {})).rejects.toMatchObject({ code: 'NOT_AVAILABLE', message: expect.stringContaining("names no trace lake for tenant 'initrode'") });
    await expect(reader.show('initech', 'r-1', false)).rejects.toMatchObject({ code: 'TENANT_NOT_WIRED' });
    expect((await openTarget(cloudInputs(AWS_YAML, 'aws', tenants, { component: 'codecServer' }))).runReader).toBeUndefined();
  });

  it('the gateway assumes the trace reader (session claw-gateway-runs) for queries and content keys, never the worker tenant role it may be given', async () => {
    const tenants = [{ id: 'acme', keyRef: ACME_KEY, roleArn: ACME_ROLE, traceReader: ACME_READER, bucket: 'claw-prod-acme', database: 'claw_prod_acme', workgroup: 'claw-prod-acme' }];
    const adapters = await openTarget(cloudInputs(AWS_YAML, 'aws', tenants, { component: 'gateway' }));
    const { STSClient } = await import('@aws-sdk/client-sts');
    const assumed: { RoleArn?: string; RoleSessionName?: string }[] = [];
    const send = vi.spyOn(STSClient.prototype, 'send').mockImplementation(async (command: any) => {
      assumed.push(command.input);
      return { Credentials: { AccessKeyId: 'AKIA', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + 3_600_000) } };
    });
    try {
      const lake = (adapters.runReader as RoutedRunReader).router.for('acme') as LakeRunReader;
      const athena = (lake.engine as unknown as { athena: { config: { credentials: () => Promise<{ accessKeyId: string }> } } }).athena;
      expect((await athena.config.credentials()).accessKeyId).toBe('AKIA');
      expect(assumed).toEqual([expect.objectContaining({ RoleArn: ACME_READER, RoleSessionName: 'claw-gateway-runs' })]);
      expect(adapters.describe().tenantKeyring).toMatchObject({ identities: { acme: null } });
    } finally {
      send.mockRestore();
    }
  });

  it('a tenant missing from the wiring is refused by name, not served with a guessed key', async () => {
    const adapters = await openTarget(cloudInputs(AWS_YAML, 'aws', workerTenants));
    await expect(adapters.tenantKeyring.forTenant('initech')).rejects.toMatchObject({ code: 'TENANT_NOT_WIRED', message: expect.stringContaining("'initech'") });
    await expect(adapters.blobStore!.list('initech')).rejects.toMatchObject({ code: 'TENANT_NOT_WIRED' });
  });
});

describe('gcp target', () => {
  const workerTenants = [
    { id: 'acme', keyRef: GCP_ACME_KEY, bucket: 'claw-prod-acme-1a2b3c4d', dataset: 'claw-prod-1:claw_prod_acme', serviceAccount: 'ct-acme-abc123-d@claw-prod-1.iam.gserviceaccount.com' },
    { id: 'globex', keyRef: GCP_GLOBEX_KEY, bucket: 'globex-own-bucket', prefix: 'claw/', dataset: 'claw-prod-1:claw_prod_globex', serviceAccount: 'ct-globex-def456-d@claw-prod-1.iam.gserviceaccount.com' },
  ];

  it("the worker: Cloud KMS with each tenant's CryptoKey and createKeys false, GCS with its bucket/prefix and key, the BigQuery lake", async () => {
    const adapters = await openTarget(cloudInputs(GCP_YAML, 'gcp', workerTenants));
    const keyring = adapters.tenantKeyring as RoutedTenantKeyring;
    for (const t of workerTenants) {
      const backend = keyring.keyringOf(t.id).backend as GcpKmsBackend;
      expect(backend).toBeInstanceOf(GcpKmsBackend);
      expect(backend.keyName(t.id)).toBe(t.keyRef);
    }
    expect(keyring.keyringOf('acme')).not.toBe(keyring.keyringOf('globex'));
    const blobs = adapters.blobStore as RoutedBlobStore;
    expect(blobs.storeOf('acme')).toBeInstanceOf(GcsBlobStore);
    expect((blobs.storeOf('globex') as GcsBlobStore).locate('globex', 'a.txt')).toEqual({ bucket: 'globex-own-bucket', base: 'claw/blobs/', objectName: 'claw/blobs/a.txt', kmsKeyName: GCP_GLOBEX_KEY });
    expect((adapters.lakeWriter as RoutedLakeWriter).lakeOf('acme')).toBeInstanceOf(GcpLake);
    expect(adapters.describe()).toEqual({
      target: 'gcp',
      component: 'worker',
      tenantKeyring: {
        kind: 'gcp-kms',
        createKeys: false,
        keys: { acme: GCP_ACME_KEY, globex: GCP_GLOBEX_KEY },
        identities: { acme: workerTenants[0]!.serviceAccount, globex: workerTenants[1]!.serviceAccount },
      },
      blobStore: { kind: 'gcs', tenants: { acme: { bucket: 'claw-prod-acme-1a2b3c4d', prefix: '', kmsKeyName: GCP_ACME_KEY }, globex: { bucket: 'globex-own-bucket', prefix: 'claw/', kmsKeyName: GCP_GLOBEX_KEY } } },
      lakeWriter: {
        kind: 'gcp',
        tenants: { acme: { projectId: 'claw-prod-1', datasetId: 'claw_prod_acme', kmsKeyName: GCP_ACME_KEY }, globex: { projectId: 'claw-prod-1', datasetId: 'claw_prod_globex', kmsKeyName: GCP_GLOBEX_KEY } },
      },
      secretStore: { kind: 'database' },
      programSandbox: { kind: 'kubernetes', namespace: 'claw-sandbox', image: SANDBOX_IMAGE },
    });
    expect(adapters.programSandbox?.sandbox).toBeInstanceOf(KubernetesSandbox);
  });

  it("the gateway: runs from BigQuery, each tenant as its trace reader, where its tenants.json names the dataset; its ingest keyring stays the ingest identity", async () => {
    const acmeReader = 'ct-acme-abc123-r@claw-prod-1.iam.gserviceaccount.com';
    const tenants = [
      { id: 'acme', keyRef: GCP_ACME_KEY, dataset: 'claw-prod-1:claw_prod_acme', serviceAccount: 'ct-acme-abc123-i@claw-prod-1.iam.gserviceaccount.com', traceReader: acmeReader },
      { id: 'globex', keyRef: GCP_GLOBEX_KEY, serviceAccount: 'ct-globex-def456-i@claw-prod-1.iam.gserviceaccount.com' },
    ];
    const adapters = await openTarget(cloudInputs(GCP_YAML, 'gcp', tenants, { component: 'gateway' }));
    expect(adapters.blobStore).toBeUndefined();
    expect(adapters.describe().runReader).toEqual({ kind: 'gcp', tenants: { acme: { projectId: 'claw-prod-1', datasetId: 'claw_prod_acme', identity: acmeReader } } });
    expect(adapters.describe().tenantKeyring).toMatchObject({ identities: { acme: tenants[0]!.serviceAccount, globex: tenants[1]!.serviceAccount } });
    const reader = adapters.runReader as RoutedRunReader;
    expect((reader.router.for('acme') as LakeRunReader).engine).toBeInstanceOf(GcpLake);
    expect(reader.router.for('acme')).not.toBe(reader.router.for('globex'));
    // Content keys open under the reader's key binding (decrypt), not the ingest identity's (encrypt only).
    const keyringOf = (r: unknown) => (r as { keyring: unknown }).keyring;
    expect(keyringOf(reader.router.for('acme'))).not.toBe((adapters.tenantKeyring as RoutedTenantKeyring).keyringOf('acme'));
    await expect(reader.list('globex', {})).rejects.toMatchObject({ code: 'NOT_AVAILABLE' });
    await expect(reader.list('initech', {})).rejects.toMatchObject({ code: 'TENANT_NOT_WIRED' });
  });

  it('the codec-server: the keyring only, each tenant under its decode identity', async () => {
    const tenants = workerTenants.map(({ id, keyRef }, i) => ({ id, keyRef, serviceAccount: `ct-${id}-00000${i}-c@claw-prod-1.iam.gserviceaccount.com` }));
    const adapters = await openTarget(cloudInputs(GCP_YAML, 'gcp', tenants, { component: 'codecServer' }));
    expect(adapters.blobStore).toBeUndefined();
    expect(adapters.lakeWriter).toBeUndefined();
    expect(adapters.describe().tenantKeyring).toMatchObject({ kind: 'gcp-kms', createKeys: false, identities: { acme: tenants[0]!.serviceAccount, globex: tenants[1]!.serviceAccount } });
  });

  describe('tenant impersonation (IAM Credentials generateAccessToken, loopback stand-in)', () => {
    let server: Server;
    let baseUrl = '';
    const calls: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          calls.push({ url: req.url ?? '', headers: req.headers, body });
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ accessToken: 'tenant-token-1', expireTime: new Date(Date.now() + 3_600_000).toISOString() }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it("mints the tenant identity's token with the component's own, and caches it", async () => {
      const token = impersonatedToken('ct-acme-abc123-d@claw-prod-1.iam.gserviceaccount.com', async () => 'own-token', baseUrl);
      expect(await token()).toBe('tenant-token-1');
      expect(await token()).toBe('tenant-token-1');
      expect(calls).toHaveLength(1);
      expect(calls[0]!.url).toBe(`/v1/projects/-/serviceAccounts/${encodeURIComponent('ct-acme-abc123-d@claw-prod-1.iam.gserviceaccount.com')}:generateAccessToken`);
      expect(calls[0]!.headers.authorization).toBe('Bearer own-token');
      expect(JSON.parse(calls[0]!.body)).toMatchObject({ scope: ['https://www.googleapis.com/auth/cloud-platform'] });
    });
  });
});

describe('OTLP export (observability.otlp in claw.yaml; loopback collector)', () => {
  let server: Server;
  let endpoint = '';
  const received: { headers: IncomingHttpHeaders; raw: string }[] = [];
  const { stateDir, cleanup } = tempStateDir();
  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, raw });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    cleanup();
  });

  const COLLECTOR_KEY = 'collector-key-DO-NOT-LOG-7731';
  const yaml = (endpointUrl: string) => `
observability:
  otlp: { endpoint: '${endpointUrl}', headers: { x-api-key: ${COLLECTOR_KEY} } }
tenants:
  - { id: acme, name: Acme, otlpContent: true }
  - { id: globex, name: Globex }
`;

  it("yields one exporter to the endpoint with the headers; content only for the tenant that opted in; the summary names headers, not values", async () => {
    let config = parseConfig(yaml(endpoint), '/tmp/claw.yaml');
    const adapters = await openTarget({ component: 'worker', stateDir, config, currentConfig: () => config, env: {} });
    expect(adapters.traceExporters).toHaveLength(1);
    const summary = adapters.describe();
    expect(summary.otlp).toEqual({ endpoint, headerNames: ['x-api-key'], contentTenants: ['acme'] });
    expect(JSON.stringify(summary)).not.toContain(COLLECTOR_KEY);

    const [otlp] = adapters.traceExporters;
    otlp!.export([...mustShowRun('acme', 'run-a'), ...mustShowRun('globex', 'run-g')]);
    await otlp!.forceFlush();
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((r) => r.headers['x-api-key'] === COLLECTOR_KEY)).toBe(true);
    const spans = received.flatMap((r) => (JSON.parse(r.raw) as { resourceSpans: { scopeSpans: { spans: { attributes: { key: string; value: { stringValue?: string } }[] }[] }[] }[] }).resourceSpans)
      .flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans));
    const tenantOf = (s: (typeof spans)[number]) => s.attributes.find((a) => a.key === 'claw.tenant.id')?.value.stringValue;
    const acme = JSON.stringify(spans.filter((s) => tenantOf(s) === 'acme'));
    const globex = JSON.stringify(spans.filter((s) => tenantOf(s) === 'globex'));
    expect(acme).toContain(CANARY.ask);
    expect(acme).toContain('gen_ai.input.messages');
    expect(globex.length).toBeGreaterThan(2);
    for (const canary of Object.values(CANARY)) expect(globex).not.toContain(canary);
    expect(globex).not.toContain('gen_ai.input.messages');

    // An opt-out in a reloaded claw.yaml takes effect without a restart.
    received.length = 0;
    config = parseConfig(yaml(endpoint).replace('otlpContent: true', 'otlpContent: false'), '/tmp/claw.yaml');
    otlp!.export(mustShowRun('acme', 'run-b'));
    await otlp!.shutdown();
    for (const canary of Object.values(CANARY)) expect(received.map((r) => r.raw).join('\n')).not.toContain(canary);
    await adapters.lakeWriter!.close?.();
  });

  it('is not built for the gateway or codec-server, and claw.yaml refuses an endpoint that is not a URL', async () => {
    const config = parseConfig(yaml(endpoint), '/tmp/claw.yaml');
    expect((await openTarget({ component: 'gateway', stateDir, config, env: {} })).traceExporters).toEqual([]);
    expect(() => parseConfig(yaml('not a url'), '/tmp/claw.yaml')).toThrow(/observability\.otlp\.endpoint/);
  });
});

describe('malformed wiring: one ClawError naming what to fix', () => {
  const good = { id: 'acme', keyRef: ACME_KEY, roleArn: ACME_ROLE, bucket: 'claw-prod-acme', database: 'claw_prod_acme', workgroup: 'claw-prod-acme' };

  it('a tenant without a key ref', async () => {
    const err = await clawError(() => openTarget(cloudInputs(AWS_YAML, 'aws', [good, { id: 'globex', bucket: 'globex-own-bucket' }])));
    expect(err.code).toBe('RUNTIME_WIRING_INVALID');
    expect(err.message).toContain("tenant 'globex' has no keyRef");
    expect(err.hint).toMatch(/claw upgrade/);
  });

  it('a cloud worker without the sandbox pool wiring is refused: program tools never fall back to the worker pod', async () => {
    const inputs = cloudInputs(AWS_YAML, 'aws', [good]);
    const { CLAW_SANDBOX_NAMESPACE: _, ...env } = inputs.env!;
    const err = await clawError(() => openTarget({ ...inputs, env }));
    expect(err.code).toBe('RUNTIME_WIRING_INVALID');
    expect(err.message).toContain('CLAW_SANDBOX_NAMESPACE');
    // The gateway runs no tools: it needs none.
    expect((await openTarget({ ...inputs, env, component: 'gateway' })).describe().programSandbox).toBeUndefined();
  });

  it('OPENBAO_ADDR wires the secret store to OpenBao (Kubernetes auth, a path per tenant); a bad address is named', async () => {
    const inputs = cloudInputs(AWS_YAML, 'aws', [good]);
    const env = { ...inputs.env, OPENBAO_ADDR: 'http://openbao.openbao.svc:8200', OPENBAO_AUTH_MOUNT: 'kubernetes', OPENBAO_AUTH_ROLE: 'claw-runtime' };
    const ports = await openTarget({ ...inputs, env });
    expect(ports.describe().secretStore).toEqual({ kind: 'openbao', address: 'http://openbao.openbao.svc:8200', authRole: 'claw-runtime', kvMount: 'claw' });
    const store = await ports.openSecretStore('postgres://unused');
    expect(store).toBeInstanceOf(VaultSecretStore);
    expect((store as VaultSecretStore).location('acme')).toEqual({ mount: 'claw', prefix: 'acme/' });
    const err = await clawError(() => openTarget({ ...inputs, env: { ...env, OPENBAO_ADDR: 'openbao:8200 ' } }));
    expect(err.message).toContain('OPENBAO_ADDR is not an http(s) URL');
  });

  it('an unknown target', async () => {
    const err = await clawError(() => openTarget(cloudInputs(AWS_YAML, 'azure', [good])));
    expect(err.code).toBe('RUNTIME_WIRING_INVALID');
    expect(err.message).toContain("CLAW_TARGET is 'azure'");
    expect(err.hint).toMatch(/'local', 'aws' or 'gcp'/);
  });

  it("a CLAW_TARGET that contradicts claw.yaml, a missing CLAW_TENANTS_FILE, a file that is not there", async () => {
    expect((await clawError(() => openTarget(cloudInputs(AWS_YAML, 'gcp', [good])))).message).toContain("CLAW_TARGET is 'gcp' but claw.yaml's target is 'aws'");
    expect((await clawError(() => openTarget({ ...cloudInputs(AWS_YAML, 'aws', [good]), env: { CLAW_TARGET: 'aws' } }))).message).toContain('needs CLAW_TENANTS_FILE');
    expect((await clawError(() => openTarget({ ...cloudInputs(AWS_YAML, 'aws', [good]), env: { CLAW_TARGET: 'aws', CLAW_TENANTS_FILE: '/etc/claw/other.json' } }))).message).toContain('/etc/claw/other.json does not exist');
  });

  it('every problem of the file in the one error: a GCP key on aws, a worker tenant without bucket or lake names, a duplicate', () => {
    let err: ClawError | undefined;
    try {
      resolveWiring(cloudInputs(AWS_YAML, 'aws', [good, good, { id: 'globex', keyRef: GCP_GLOBEX_KEY }]));
    } catch (e) {
      err = e as ClawError;
    }
    expect(err?.code).toBe('RUNTIME_WIRING_INVALID');
    expect(err!.details!.problems).toEqual([
      "tenant 'acme' is listed twice",
      "tenant 'globex': keyRef is not a KMS key or alias ARN",
      "tenant 'globex' has no bucket (the worker's blobs and lake)",
      "tenant 'globex' has no database (its Glue database)",
      "tenant 'globex' has no workgroup (its Athena workgroup)",
    ]);
  });

  it('a traceReader that is not an identity of the target is named', async () => {
    const aws = await clawError(() => openTarget(cloudInputs(AWS_YAML, 'aws', [{ id: 'acme', keyRef: ACME_KEY, traceReader: 'claw-prod-r-acme' }], { component: 'gateway' })));
    expect(aws.message).toContain("tenant 'acme': traceReader is not an IAM role ARN");
    const gcp = await clawError(() => openTarget(cloudInputs(GCP_YAML, 'gcp', [{ id: 'acme', keyRef: GCP_ACME_KEY, traceReader: ACME_READER }], { component: 'gateway' })));
    expect(gcp.message).toContain("tenant 'acme': traceReader is not a service account email");
  });

  it('a field of the wrong type is named by the schema (contracts/wiring.ts)', async () => {
    const err = await clawError(() => openTarget(cloudInputs(AWS_YAML, 'aws', [{ ...good, bucket: 42 }])));
    expect(err.message).toMatch(/tenant 'acme': bucket: /);
  });

  it('gcp: a worker tenant without its dataset', async () => {
    const err = await clawError(() => openTarget(cloudInputs(GCP_YAML, 'gcp', [{ id: 'acme', keyRef: GCP_ACME_KEY, bucket: 'b-acme' }])));
    expect(err.message).toContain("tenant 'acme' has no dataset");
  });
});
