/**
 * The runtime's adapters by target (DESIGN.md invariant 5): one place that turns a
 * process's configuration into its ports, so workflows, activities and the three
 * processes never name an adapter.
 *
 * Inputs:
 *  - claw.yaml (`target`, `name`, `aws.region`, `observability.otlp`, each tenant's `otlpContent`);
 *  - the wiring the cloud Deployments give (components/k8s/runtime.ts; the contract is
 *    contracts/wiring.ts): env `CLAW_TARGET` and `CLAW_TENANTS_FILE`, a JSON array of
 *    `{ id, keyRef, roleArn?, serviceAccount?, bucket?, prefix?, dataset?, database?, workgroup? }`
 *    (buckets, datasets, lake names and tenant roles only in the worker's file).
 *
 *   port            local                      aws                                   gcp
 *   tenantKeyring   <state>/keys/keyring.json  AWS KMS, the tenant's keyRef          Cloud KMS, the tenant's keyRef
 *   blobStore       <state>/blobs/<tenant>/    S3 bucket/prefix, SSE-KMS keyRef      GCS bucket/prefix, CMEK keyRef
 *   lakeWriter      Parquet under <state>/lake S3 + Glue Iceberg + Athena            BigQuery dataset
 *   traceExporters  OTLP/HTTP when observability.otlp.endpoint is set (every target)
 *
 * On cloud targets keys are never created here (`createKeys: false`): the stacks create
 * them (invariant 6). A tenant's identity is used where the wiring names one: the worker
 * assumes the tenant's role (AWS) and every component impersonates the tenant's service
 * account (GCP), since only those identities are granted the tenant's key and data.
 *
 * Cloud SDKs and adapters are imported only when a cloud target asks for them, so the
 * local target (and the CLI) never load them. A wiring that does not fit fails with one
 * ClawError (RUNTIME_WIRING_INVALID) listing what to fix; no secret is ever part of it.
 */
import { readFileSync } from 'node:fs';
import { AWS_KMS_KEY_ARN, GCP_CRYPTO_KEY, ID_PATTERN, TARGETS, type ClawConfig, type Target } from '../core/config/schema.js';
import { ClawError } from '../core/errors.js';
import { cachedAccessToken } from './google-token.js';
import { EnvelopeKeyring, DEFAULT_CACHE } from './crypto/envelope.js';
import { LocalKeyringBackend, keyringPath } from './crypto/local-keyring.js';
import { directoryBlobRoot, openBlobStore, openDirectoryBlobStore } from './blobs/index.js';
import type { BlobStore, TenantKeyring } from './ports.js';
import type { LakeWriter } from './traces/lake.js';
import type { TraceRow } from './traces/model.js';
import type { OtlpTraceExporter, OtlpTraceExporterOptions } from './traces/otlp.js';
import { TenantWiringEntrySchema, WIRING_ENV, type TenantWiringEntry } from '../contracts/wiring.js';

export type RuntimeComponent = 'worker' | 'gateway' | 'codecServer' | 'cli';

/** One entry of tenants.json: the schema is contracts/wiring.ts's, which components/k8s/runtime.ts writes. */
export type { TenantWiringEntry };

export interface AdapterInputs {
  component: RuntimeComponent;
  /** Where local state lives (local keyring and blobs; the trace WAL on every target). */
  stateDir: string;
  /** claw.yaml; the codec-server may run without one. */
  config?: ClawConfig;
  /** The config as it is now (the worker reloads claw.yaml): who opted in to content export. Default `config`. */
  currentConfig?: () => ClawConfig | undefined;
  /** Default process.env (CLAW_TARGET, CLAW_TENANTS_FILE, AWS_REGION). */
  env?: Record<string, string | undefined>;
  /** Tests: reads tenants.json. */
  readFile?: (path: string) => string;
  /** Tests: the span exporter behind the OTLP exporter instead of OTLP/HTTP. */
  otlpSpanExporter?: OtlpTraceExporterOptions['exporter'];
}

/** The resolved wiring: what `openAdapters` builds from, checked. */
export interface RuntimeWiring {
  target: Target;
  component: RuntimeComponent;
  stateDir: string;
  install?: string;
  /** AWS only. */
  region?: string;
  tenants: TenantWiringEntry[];
  otlp?: { endpoint: string; headers: Record<string, string> };
}

/** What was built, for logs and tests: names, buckets, key references; never a header value or credential. */
export interface AdaptersSummary {
  target: Target;
  component: RuntimeComponent;
  tenantKeyring:
    | { kind: 'local'; path: string }
    | { kind: 'aws-kms'; region: string; createKeys: false; install?: string; keys: Record<string, string>; identities: Record<string, string | null> }
    | { kind: 'gcp-kms'; createKeys: false; keys: Record<string, string>; identities: Record<string, string | null> };
  blobStore?:
    | { kind: 'directory'; root: string }
    | { kind: 's3'; region: string; tenants: Record<string, { bucket: string; prefix: string; kmsKeyId: string }> }
    | { kind: 'gcs'; tenants: Record<string, { bucket: string; prefix: string; kmsKeyName: string }> };
  lakeWriter?:
    | { kind: 'local'; dir: string }
    | { kind: 'aws'; region: string; tenants: Record<string, { bucket: string; prefix: string; kmsKeyArn: string; database: string; workgroup: string }> }
    | { kind: 'gcp'; tenants: Record<string, { projectId: string; datasetId: string; kmsKeyName: string }> };
  otlp?: { endpoint: string; headerNames: string[]; contentTenants: string[] };
}

export interface RuntimeAdapters {
  readonly target: Target;
  readonly tenantKeyring: TenantKeyring;
  /** The worker's; undefined for the other components (they never touch blobs). */
  readonly blobStore?: BlobStore;
  /** The worker's trace lake (TraceWriterOptions.lake). */
  readonly lakeWriter?: LakeWriter;
  /** TraceWriterOptions.exporters: an OTLP exporter when observability.otlp is set, else none. */
  readonly traceExporters: OtlpTraceExporter[];
  describe(): AdaptersSummary;
}

// ------------------------------------------------------------------ wiring

const WIRING_HINT =
  "the cloud Deployments set CLAW_TARGET and CLAW_TENANTS_FILE from the stack (components/k8s/runtime.ts); run 'claw upgrade' so they match claw.yaml";

function wiringInvalid(problems: string[], hint = WIRING_HINT): ClawError {
  const message = problems.length === 1 ? problems[0]! : `${problems.length} problems: ${problems.join('; ')}`;
  return new ClawError('RUNTIME_WIRING_INVALID', `runtime wiring: ${message}`, { hint, details: { problems } });
}

const GCP_DATASET = /^([a-z][a-z0-9-]{4,28}[a-z0-9]):([A-Za-z0-9_]{1,1024})$/;

const ARN_REGION = (arn: string) => arn.split(':')[3];

/** Check the process's configuration and wiring; every problem in one ClawError. */
/**
 * CLAW_OTLP_HEADERS (cloud: the Secret the stack made from claw.yaml's header values):
 * a JSON object of header name to value. Errors name the variable, never a value.
 */
function otlpHeadersFrom(env: Record<string, string | undefined>): Record<string, string> {
  const text = env[WIRING_ENV.otlpHeaders]?.trim();
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw wiringInvalid([`${WIRING_ENV.otlpHeaders} is not JSON`], 'it is an object of OTLP header names to values, from the Secret the stack creates; re-apply with claw upgrade');
  }
  const valid = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === 'string');
  if (!valid) throw wiringInvalid([`${WIRING_ENV.otlpHeaders} is not an object of header names to string values`], 're-apply with claw upgrade');
  return parsed as Record<string, string>;
}

export function resolveWiring(inputs: AdapterInputs): RuntimeWiring {
  const env = inputs.env ?? process.env;
  const { config, component } = inputs;
  const declared = env[WIRING_ENV.target]?.trim();
  if (declared && !(TARGETS as readonly string[]).includes(declared)) {
    throw wiringInvalid([`CLAW_TARGET is '${declared}', not one of ${TARGETS.join(', ')}`], "set CLAW_TARGET to 'local', 'aws' or 'gcp' (or leave it unset to use claw.yaml's target)");
  }
  if (declared && config && declared !== config.target) {
    throw wiringInvalid([`CLAW_TARGET is '${declared}' but claw.yaml's target is '${config.target}'`], "deploy the image with the claw.yaml of this install ('claw upgrade'), or fix 'target' in claw.yaml");
  }
  const target = (declared || config?.target || 'local') as Target;
  const otlp = config?.observability?.otlp ? { endpoint: config.observability.otlp.endpoint, headers: { ...config.observability.otlp.headers, ...otlpHeadersFrom(env) } } : undefined;
  const base = { target, component, stateDir: inputs.stateDir, ...(config ? { install: config.name } : {}), ...(otlp ? { otlp } : {}) };
  if (target === 'local') return { ...base, tenants: [] };

  const file = env[WIRING_ENV.tenantsFile]?.trim();
  if (!file) throw wiringInvalid([`target '${target}' needs CLAW_TENANTS_FILE (the tenants.json of the Deployment's ConfigMap)`]);
  let raw: unknown;
  try {
    raw = JSON.parse((inputs.readFile ?? ((p) => readFileSync(p, 'utf8')))(file));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException)?.code === 'ENOENT' ? 'does not exist' : err instanceof SyntaxError ? 'is not JSON' : 'cannot be read';
    throw wiringInvalid([`CLAW_TENANTS_FILE ${file} ${why}`]);
  }
  if (!Array.isArray(raw)) throw wiringInvalid([`CLAW_TENANTS_FILE ${file} is not a JSON array of tenants`]);

  const problems: string[] = [];
  const tenants: TenantWiringEntry[] = [];
  const seen = new Set<string>();
  const worker = component === 'worker';
  raw.forEach((value, i) => {
    const entry = (value ?? {}) as Record<string, unknown>;
    const str = (k: string) => (typeof entry[k] === 'string' && (entry[k] as string).length > 0 ? (entry[k] as string) : undefined);
    const id = str('id');
    const where = id && ID_PATTERN.test(id) ? `tenant '${id}'` : `tenants[${i}]`;
    if (!id || !ID_PATTERN.test(id)) {
      problems.push(`tenants[${i}].id is missing or not a tenant id`);
      return;
    }
    // The shape is contracts/wiring.ts's schema (what the stack writes); id and keyRef get their own messages below.
    const shape = TenantWiringEntrySchema.safeParse(entry);
    if (!shape.success) {
      for (const issue of shape.error.issues.filter((x) => x.path[0] !== 'id' && x.path[0] !== 'keyRef')) problems.push(`${where}: ${issue.path.join('.')}: ${issue.message}`);
    }
    if (seen.has(id)) problems.push(`tenant '${id}' is listed twice`);
    seen.add(id);
    const keyRef = str('keyRef');
    if (!keyRef) problems.push(`${where} has no keyRef (its root key)`);
    else if (target === 'aws' && !AWS_KMS_KEY_ARN.test(keyRef)) problems.push(`${where}: keyRef is not a KMS key or alias ARN`);
    else if (target === 'gcp' && !GCP_CRYPTO_KEY.test(keyRef)) problems.push(`${where}: keyRef is not a Cloud KMS CryptoKey name (projects/.../cryptoKeys/...)`);
    const bucket = str('bucket');
    const dataset = str('dataset');
    if (worker && !bucket) problems.push(`${where} has no bucket (the worker's blobs and lake)`);
    if (worker && target === 'gcp' && !dataset) problems.push(`${where} has no dataset (project:dataset of its trace lake)`);
    if (dataset && !GCP_DATASET.test(dataset)) problems.push(`${where}: dataset is not project:dataset`);
    const prefix = str('prefix');
    if (prefix !== undefined && !/^[A-Za-z0-9._/-]*\/$/.test(prefix)) problems.push(`${where}: prefix must end with '/'`);
    tenants.push({
      id,
      keyRef: keyRef ?? '',
      ...(str('roleArn') ? { roleArn: str('roleArn') } : {}),
      ...(str('serviceAccount') ? { serviceAccount: str('serviceAccount') } : {}),
      ...(bucket ? { bucket } : {}),
      ...(prefix ? { prefix } : {}),
      ...(dataset ? { dataset } : {}),
      ...(str('database') ? { database: str('database') } : {}),
      ...(str('workgroup') ? { workgroup: str('workgroup') } : {}),
    });
  });

  let region: string | undefined;
  if (target === 'aws') {
    region = config?.aws?.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? tenants.map((t) => ARN_REGION(t.keyRef)).find(Boolean);
    if (!region) problems.push("no AWS region: set aws.region in claw.yaml (or AWS_REGION)");
    if (worker) {
      // The stack names them (components/aws/lakehouse.ts) and writes them here; the runtime never re-derives them.
      for (const t of tenants) {
        if (!t.database) problems.push(`tenant '${t.id}' has no database (its Glue database)`);
        if (!t.workgroup) problems.push(`tenant '${t.id}' has no workgroup (its Athena workgroup)`);
      }
    }
  }
  if (problems.length > 0) throw wiringInvalid(problems);
  return { ...base, tenants, ...(region ? { region } : {}) };
}

// ------------------------------------------------------------------ per-tenant routing

function notWired(tenantId: string, target: Target): ClawError {
  return new ClawError('TENANT_NOT_WIRED', `tenant '${tenantId}' is not in this ${target} install's runtime wiring (CLAW_TENANTS_FILE)`, {
    hint: "add the tenant to claw.yaml and run 'claw upgrade': the stack creates its key and storage and rolls the Deployments",
    details: { tenantId },
  });
}

/**
 * One adapter per identity (a tenant role, a tenant service account, or the component's
 * own), each tenant routed to its identity's adapter.
 */
class TenantRouter<T> {
  constructor(
    private readonly target: Target,
    private readonly byTenant: Map<string, T>,
  ) {}

  for(tenantId: string): T {
    const adapter = this.byTenant.get(tenantId);
    if (!adapter) throw notWired(tenantId, this.target);
    return adapter;
  }

  all(): T[] {
    return [...new Set(this.byTenant.values())];
  }
}

/** Builds one adapter per identity key and maps every tenant to its own. */
async function routeByIdentity<T>(tenants: TenantWiringEntry[], identityOf: (t: TenantWiringEntry) => string | undefined, build: (identity: string | undefined) => Promise<T> | T): Promise<Map<string, T>> {
  const built = new Map<string, T>();
  const byTenant = new Map<string, T>();
  for (const t of tenants) {
    const identity = identityOf(t);
    const key = identity ?? '';
    if (!built.has(key)) built.set(key, await build(identity));
    byTenant.set(t.id, built.get(key)!);
  }
  return byTenant;
}

export class RoutedTenantKeyring implements TenantKeyring {
  constructor(readonly router: TenantRouter<EnvelopeKeyring>) {}
  async forTenant(tenantId: string) {
    return this.router.for(tenantId).forTenant(tenantId);
  }
  async createTenantKey(tenantId: string) {
    return this.router.for(tenantId).createTenantKey(tenantId);
  }
  async rotate(tenantId: string) {
    return this.router.for(tenantId).rotate(tenantId);
  }
  async destroy(tenantId: string) {
    return this.router.for(tenantId).destroy(tenantId);
  }
  /** The keyring (and so the root-key backend) serving a tenant. */
  keyringOf(tenantId: string): EnvelopeKeyring {
    return this.router.for(tenantId);
  }
}

export class RoutedBlobStore implements BlobStore {
  constructor(readonly router: TenantRouter<BlobStore>) {}
  async put(tenantId: string, key: string, body: AsyncIterable<Uint8Array> | Uint8Array) {
    return this.router.for(tenantId).put(tenantId, key, body);
  }
  async get(tenantId: string, key: string) {
    return this.router.for(tenantId).get(tenantId, key);
  }
  async delete(tenantId: string, key: string) {
    return this.router.for(tenantId).delete(tenantId, key);
  }
  async list(tenantId: string, prefix?: string) {
    return this.router.for(tenantId).list(tenantId, prefix);
  }
  storeOf(tenantId: string): BlobStore {
    return this.router.for(tenantId);
  }
}

export class RoutedLakeWriter implements LakeWriter {
  constructor(readonly router: TenantRouter<LakeWriter>) {}
  async writeSegment(tenantId: string, segmentId: string, rows: TraceRow[]) {
    return this.router.for(tenantId).writeSegment(tenantId, segmentId, rows);
  }
  async close() {
    await Promise.all(this.router.all().map((lake) => lake.close?.()));
  }
  lakeOf(tenantId: string): LakeWriter {
    return this.router.for(tenantId);
  }
}

// ------------------------------------------------------------------ cloud identities

type AwsCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };

/** Credentials of a tenant role, assumed with the component's own identity, refreshed before they expire. */
export function tenantRoleCredentials(roleArn: string, region: string, sessionName: string): () => Promise<AwsCredentials> {
  let cached: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  let sts: import('@aws-sdk/client-sts').STSClient | undefined;
  return async () => {
    if (cached?.expiration && cached.expiration.getTime() - Date.now() > 5 * 60_000) return cached;
    pending ??= (async () => {
      try {
        const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
        sts ??= new STSClient({ region });
        const { Credentials: c } = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: 3600 }));
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
        cached = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
        return cached;
      } catch (err) {
        throw new ClawError('TENANT_ROLE_UNAVAILABLE', `could not assume ${roleArn}: ${(err as { name?: string })?.name ?? 'error'}`, {
          hint: "the component's role must be trusted by the tenant role (the stack sets this up; run 'claw upgrade')",
          details: { roleArn },
        });
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
}

export const IAM_CREDENTIALS_URL = 'https://iamcredentials.googleapis.com';

/** An access token of `serviceAccount`, minted with `base` (the component's own token) through the IAM Credentials API. */
export function impersonatedToken(serviceAccount: string, base: () => Promise<string>, baseUrl = IAM_CREDENTIALS_URL): () => Promise<string> {
  return cachedAccessToken(async () => {
    const response = await fetch(`${baseUrl.replace(/\/+$/, '')}/v1/projects/-/serviceAccounts/${encodeURIComponent(serviceAccount)}:generateAccessToken`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await base()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '3600s' }),
    });
    if (!response.ok) {
      throw new ClawError('TENANT_IDENTITY_UNAVAILABLE', `could not impersonate ${serviceAccount} (HTTP ${response.status})`, {
        hint: "the component's service account needs roles/iam.serviceAccountTokenCreator on the tenant's (the stack grants it; run 'claw upgrade')",
        details: { serviceAccount, status: response.status },
      });
    }
    const body = (await response.json()) as { accessToken?: string; expireTime?: string };
    if (!body.accessToken) throw new ClawError('TENANT_IDENTITY_UNAVAILABLE', `impersonating ${serviceAccount} returned no token`, { details: { serviceAccount } });
    // Renewed five minutes before it expires.
    const expires = body.expireTime ? Date.parse(body.expireTime) : Date.now() + 3_600_000;
    return { token: body.accessToken, expiresAt: expires - 5 * 60_000 };
  });
}

// ------------------------------------------------------------------ the adapters

/** The local keyring (also what `claw` uses against a local platform). */
export function localTenantKeyring(stateDir: string): EnvelopeKeyring {
  return new EnvelopeKeyring(new LocalKeyringBackend(stateDir), DEFAULT_CACHE);
}

/** The tenant keyring alone (gateway, codec-server, the CLI's local session). */
export async function openTenantKeyring(inputs: AdapterInputs): Promise<TenantKeyring> {
  return (await openAdapters(inputs)).tenantKeyring;
}

/** Build the ports of `inputs.component` from its configuration (see the file comment). */
export async function openAdapters(inputs: AdapterInputs): Promise<RuntimeAdapters> {
  const wiring = resolveWiring(inputs);
  const built = wiring.target === 'local' ? await localAdapters(wiring) : wiring.target === 'aws' ? await awsAdapters(wiring) : await gcpAdapters(wiring);
  const worker = wiring.component === 'worker';
  const summary: AdaptersSummary = { target: wiring.target, component: wiring.component, ...built.summary };
  let traceExporters: OtlpTraceExporter[] = [];
  if (worker && wiring.otlp) {
    const current = inputs.currentConfig ?? (() => inputs.config);
    const optedIn = (tenantId: string) => current()?.tenants.find((t) => t.id === tenantId)?.otlpContent === true;
    const { OtlpTraceExporter } = await import('./traces/otlp.js');
    traceExporters = [
      new OtlpTraceExporter({
        url: wiring.otlp.endpoint,
        ...(Object.keys(wiring.otlp.headers).length > 0 ? { headers: wiring.otlp.headers } : {}),
        contentFor: optedIn,
        resource: { 'claw.target': wiring.target, ...(wiring.install ? { 'claw.install': wiring.install } : {}) },
        ...(inputs.otlpSpanExporter ? { exporter: inputs.otlpSpanExporter } : {}),
      }),
    ];
    summary.otlp = {
      endpoint: wiring.otlp.endpoint,
      headerNames: Object.keys(wiring.otlp.headers).sort(),
      contentTenants: (inputs.config?.tenants ?? []).filter((t) => t.otlpContent).map((t) => t.id),
    };
  }
  return {
    target: wiring.target,
    tenantKeyring: built.tenantKeyring,
    ...(worker ? { blobStore: built.blobStore, lakeWriter: built.lakeWriter } : {}),
    traceExporters,
    describe: () => structuredClone(summary),
  };
}

interface Built {
  tenantKeyring: TenantKeyring;
  blobStore?: BlobStore;
  lakeWriter?: LakeWriter;
  summary: Omit<AdaptersSummary, 'target' | 'component' | 'otlp'>;
}

async function localAdapters(w: RuntimeWiring): Promise<Built> {
  const tenantKeyring = localTenantKeyring(w.stateDir);
  if (w.component !== 'worker') return { tenantKeyring, summary: { tenantKeyring: { kind: 'local', path: keyringPath(w.stateDir) } } };
  const { LocalLake, lakeDir } = await import('./traces/local-lake.js');
  return {
    tenantKeyring,
    blobStore: openDirectoryBlobStore(w.stateDir, tenantKeyring),
    lakeWriter: new LocalLake(w.stateDir),
    summary: {
      tenantKeyring: { kind: 'local', path: keyringPath(w.stateDir) },
      blobStore: { kind: 'directory', root: directoryBlobRoot(w.stateDir) },
      lakeWriter: { kind: 'local', dir: lakeDir(w.stateDir) },
    },
  };
}

const keysOf = (tenants: TenantWiringEntry[]) => Object.fromEntries(tenants.map((t) => [t.id, t.keyRef]));

async function awsAdapters(w: RuntimeWiring): Promise<Built> {
  const region = w.region!;
  const keys = keysOf(w.tenants);
  // Only the worker's wiring names tenant roles; the gateway and codec-server use their own (key grants bound to the tenant).
  const roleOf = (t: TenantWiringEntry) => (w.component === 'worker' ? t.roleArn : undefined);
  const credentialsFor = (roleArn: string | undefined) => (roleArn ? tenantRoleCredentials(roleArn, region, `claw-${w.component}`) : undefined);
  const { AwsKmsBackend } = await import('./crypto/aws-kms.js');
  const keyrings = await routeByIdentity(w.tenants, roleOf, (roleArn) => {
    const credentials = credentialsFor(roleArn);
    return new EnvelopeKeyring(
      new AwsKmsBackend({ region, keys, createKeys: false, ...(w.install ? { install: w.install } : {}), ...(credentials ? { credentials } : {}) }),
      DEFAULT_CACHE,
    );
  });
  const tenantKeyring = new RoutedTenantKeyring(new TenantRouter('aws', keyrings));
  const identities = Object.fromEntries(w.tenants.map((t) => [t.id, roleOf(t) ?? null]));
  const summary: Built['summary'] = { tenantKeyring: { kind: 'aws-kms', region, createKeys: false, ...(w.install ? { install: w.install } : {}), keys, identities } };
  if (w.component !== 'worker') return { tenantKeyring, summary };

  const byId = new Map(w.tenants.map((t) => [t.id, t]));
  const s3Location = (tenantId: string) => {
    const t = byId.get(tenantId);
    if (!t) throw notWired(tenantId, 'aws');
    return { bucket: t.bucket!, prefix: t.prefix ?? '', kmsKeyId: t.keyRef };
  };
  const lakeOf = (tenantId: string) => {
    const t = byId.get(tenantId);
    if (!t) throw notWired(tenantId, 'aws');
    return { bucket: t.bucket!, prefix: t.prefix ?? '', kmsKeyArn: t.keyRef, database: t.database!, workgroup: t.workgroup! };
  };
  const stores = await routeByIdentity(w.tenants, roleOf, (roleArn) => {
    const credentials = credentialsFor(roleArn);
    return openBlobStore({ kind: 's3', keyring: tenantKeyring, location: s3Location, region, ...(credentials ? { credentials } : {}) });
  });
  const [{ AwsLake }, { S3Client }, { AthenaClient }] = await Promise.all([import('./traces/aws-lake.js'), import('@aws-sdk/client-s3'), import('@aws-sdk/client-athena')]);
  const lakes = await routeByIdentity(w.tenants, roleOf, (roleArn) => {
    const credentials = credentialsFor(roleArn);
    const common = { region, ...(credentials ? { credentials } : {}) };
    return new AwsLake({ region, tenant: lakeOf, s3: new S3Client(common), athena: new AthenaClient(common) });
  });
  return {
    tenantKeyring,
    blobStore: new RoutedBlobStore(new TenantRouter('aws', stores)),
    lakeWriter: new RoutedLakeWriter(new TenantRouter('aws', lakes)),
    summary: {
      ...summary,
      blobStore: { kind: 's3', region, tenants: Object.fromEntries(w.tenants.map((t) => [t.id, s3Location(t.id)])) },
      lakeWriter: { kind: 'aws', region, tenants: Object.fromEntries(w.tenants.map((t) => [t.id, lakeOf(t.id)])) },
    },
  };
}

/** `projects/p/locations/l/keyRings/r/cryptoKeys/k` → its parts. */
function cryptoKeyParts(name: string): { project: string; location: string; keyRing: string } {
  const [, project, , location, , keyRing] = name.split('/');
  return { project: project!, location: location!, keyRing: keyRing! };
}

async function gcpAdapters(w: RuntimeWiring): Promise<Built> {
  const keys = keysOf(w.tenants);
  const { GcpKmsBackend, gceMetadataToken } = await import('./crypto/gcp-kms.js');
  // The component's own token (Workload Identity through the metadata server) mints the tenant identities' tokens.
  const own = gceMetadataToken();
  const identityOf = (t: TenantWiringEntry) => t.serviceAccount;
  const tokenFor = (serviceAccount: string | undefined) => (serviceAccount ? impersonatedToken(serviceAccount, own) : own);
  const keyrings = await routeByIdentity(w.tenants, identityOf, (serviceAccount) => {
    // The managed key ring only names keys of tenants outside `keys`, which the router refuses anyway.
    const first = w.tenants.find((t) => identityOf(t) === serviceAccount)!;
    return new EnvelopeKeyring(new GcpKmsBackend({ ...cryptoKeyParts(first.keyRef), keys, createKeys: false, token: tokenFor(serviceAccount) }), DEFAULT_CACHE);
  });
  const tenantKeyring = new RoutedTenantKeyring(new TenantRouter('gcp', keyrings));
  const identities = Object.fromEntries(w.tenants.map((t) => [t.id, t.serviceAccount ?? null]));
  const summary: Built['summary'] = { tenantKeyring: { kind: 'gcp-kms', createKeys: false, keys, identities } };
  if (w.component !== 'worker') return { tenantKeyring, summary };

  const byId = new Map(w.tenants.map((t) => [t.id, t]));
  const gcsLocation = (tenantId: string) => {
    const t = byId.get(tenantId);
    if (!t) throw notWired(tenantId, 'gcp');
    return { bucket: t.bucket!, prefix: t.prefix ?? '', kmsKeyName: t.keyRef };
  };
  const lakeOf = (tenantId: string) => {
    const t = byId.get(tenantId);
    if (!t) throw notWired(tenantId, 'gcp');
    const [projectId, datasetId] = t.dataset!.split(':') as [string, string];
    return { projectId, datasetId, kmsKeyName: t.keyRef };
  };
  const stores = await routeByIdentity(w.tenants, identityOf, (serviceAccount) => openBlobStore({ kind: 'gcs', keyring: tenantKeyring, location: gcsLocation, token: tokenFor(serviceAccount) }));
  const { GcpLake } = await import('./traces/gcp-lake.js');
  const lakes = await routeByIdentity(w.tenants, identityOf, (serviceAccount) => new GcpLake({ tenant: lakeOf, accessToken: tokenFor(serviceAccount) }));
  return {
    tenantKeyring,
    blobStore: new RoutedBlobStore(new TenantRouter('gcp', stores)),
    lakeWriter: new RoutedLakeWriter(new TenantRouter('gcp', lakes)),
    summary: {
      ...summary,
      blobStore: { kind: 'gcs', tenants: Object.fromEntries(w.tenants.map((t) => [t.id, gcsLocation(t.id)])) },
      lakeWriter: { kind: 'gcp', tenants: Object.fromEntries(w.tenants.map((t) => [t.id, lakeOf(t.id)])) },
    },
  };
}
