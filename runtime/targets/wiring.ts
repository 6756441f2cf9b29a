/**
 * A process's wiring, resolved and checked once: claw.yaml plus what the Deployment gives
 * (contracts/wiring.ts). Every target builds its ports from this (runtime/targets/index.ts).
 * A wiring that does not fit fails with one ClawError (RUNTIME_WIRING_INVALID) listing
 * what to fix; no secret is ever part of it.
 */
import { readFileSync } from 'node:fs';
import { AWS_KMS_KEY_ARN, GCP_CRYPTO_KEY, ID_PATTERN, TARGETS, type ClawConfig, type Target } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import { OPENBAO, TenantWiringEntrySchema, WIRING_ENV, type TenantWiringEntry } from '../../contracts/wiring.js';
import type { OtlpTraceExporterOptions } from '../traces/otlp.js';

export type RuntimeComponent = 'worker' | 'gateway' | 'codecServer' | 'cli';
export type { TenantWiringEntry };

export interface TargetInputs {
  component: RuntimeComponent;
  /** Where local state lives (local keyring and blobs; the trace WAL on every target). */
  stateDir: string;
  /** claw.yaml; the codec-server may run without one. */
  config?: ClawConfig;
  /** The config as it is now (the worker reloads claw.yaml): who opted in to content export. Default `config`. */
  currentConfig?: () => ClawConfig | undefined;
  /** Default process.env (CLAW_TARGET, CLAW_TENANTS_FILE, AWS_REGION, OPENBAO_*, CLAW_SANDBOX_*). */
  env?: Record<string, string | undefined>;
  /** Tests: reads tenants.json. */
  readFile?: (path: string) => string;
  /** Tests: the span exporter behind the OTLP exporter instead of OTLP/HTTP. */
  otlpSpanExporter?: OtlpTraceExporterOptions['exporter'];
}

export type SecretsWiring =
  | { kind: 'database' }
  | { kind: 'openbao'; address: string; authMount: string; authRole: string; kvMount: string };

/** The resolved wiring: what a target builds its ports from, checked. */
export interface RuntimeWiring {
  target: Target;
  component: RuntimeComponent;
  stateDir: string;
  install?: string;
  /** AWS only. */
  region?: string;
  tenants: TenantWiringEntry[];
  otlp?: { endpoint: string; headers: Record<string, string> };
  secrets: SecretsWiring;
  /** aws/gcp worker: where program tools run. */
  sandbox?: { namespace: string; image: string };
}

export const WIRING_HINT =
  "the cloud Deployments set CLAW_TARGET and CLAW_TENANTS_FILE from the stack (components/k8s/runtime.ts); run 'claw upgrade' so they match claw.yaml";

export function wiringInvalid(problems: string[], hint = WIRING_HINT): ClawError {
  const message = problems.length === 1 ? problems[0]! : `${problems.length} problems: ${problems.join('; ')}`;
  return new ClawError('RUNTIME_WIRING_INVALID', `runtime wiring: ${message}`, { hint, details: { problems } });
}

const GCP_DATASET = /^([a-z][a-z0-9-]{4,28}[a-z0-9]):([A-Za-z0-9_]{1,1024})$/;

const ARN_REGION = (arn: string) => arn.split(':')[3];

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

/** Check the process's configuration and wiring; every problem in one ClawError. */
export function resolveWiring(inputs: TargetInputs): RuntimeWiring {
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
  const secrets = secretsWiring(env, component);
  const base = { target, component, stateDir: inputs.stateDir, secrets, ...(config ? { install: config.name } : {}), ...(otlp ? { otlp } : {}) };
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
    const traceReader = str('traceReader');
    if (traceReader && target === 'aws' && !/^arn:aws[a-z-]*:iam::\d{12}:role\//.test(traceReader)) problems.push(`${where}: traceReader is not an IAM role ARN`);
    if (traceReader && target === 'gcp' && !/^[^@\s]+@[^@\s]+\.iam\.gserviceaccount\.com$/.test(traceReader)) problems.push(`${where}: traceReader is not a service account email`);
    const prefix = str('prefix');
    if (prefix !== undefined && !/^[A-Za-z0-9._/-]*\/$/.test(prefix)) problems.push(`${where}: prefix must end with '/'`);
    tenants.push({
      id,
      keyRef: keyRef ?? '',
      ...(str('roleArn') ? { roleArn: str('roleArn') } : {}),
      ...(str('serviceAccount') ? { serviceAccount: str('serviceAccount') } : {}),
      ...(traceReader ? { traceReader } : {}),
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
  // Program tools on a cloud target run in the gVisor pool, never in the worker's own pod.
  let sandbox: RuntimeWiring['sandbox'];
  if (worker) {
    const namespace = env[WIRING_ENV.sandboxNamespace]?.trim();
    const image = env[WIRING_ENV.sandboxImage]?.trim();
    if (!namespace || !image) problems.push(`the ${target} worker needs ${WIRING_ENV.sandboxNamespace} and ${WIRING_ENV.sandboxImage} (program tools run as pods in the sandbox pool)`);
    else sandbox = { namespace, image };
  }
  if (problems.length > 0) throw wiringInvalid(problems);
  return { ...base, tenants, ...(region ? { region } : {}), ...(sandbox ? { sandbox } : {}) };
}

/** OpenBao when the Deployment names it (worker and gateway on aws/gcp), else the metadata DB. */
function secretsWiring(env: Record<string, string | undefined>, component: RuntimeComponent): SecretsWiring {
  const address = env[WIRING_ENV.openbaoAddr]?.trim();
  if (!address || component === 'codecServer') return { kind: 'database' };
  const mount = env[WIRING_ENV.openbaoAuthMount]?.trim() || OPENBAO.authMount;
  const role = env[WIRING_ENV.openbaoAuthRole]?.trim() || OPENBAO.authRole;
  if (!URL.canParse(address) || !['http:', 'https:'].includes(new URL(address).protocol)) {
    throw wiringInvalid([`${WIRING_ENV.openbaoAddr} is not an http(s) URL`], 'it is the OpenBao service address the stack sets (http://openbao.openbao.svc:8200); re-apply with claw upgrade');
  }
  return { kind: 'openbao', address, authMount: mount, authRole: role, kvMount: OPENBAO.kvMount };
}

