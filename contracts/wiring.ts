/**
 * The wiring contract between the cloud Deployments (components/k8s/runtime.ts) and the
 * three runtime processes (runtime/{worker,gateway,codec-server}/main.ts through
 * runtime/process-config.ts, and runtime/targets/, which builds each process's ports). One place, imported by both sides,
 * so a renamed variable or a missing file is a type error or a failing contract test
 * (stacks/wiring.test.ts), not a pod that does not start.
 *
 * Pure data and zod only: no runtime or cloud dependency, so Pulumi components import it.
 *
 *   what            env                      cloud Deployment                          local (stacks/local)
 *   target          CLAW_TARGET              'aws' | 'gcp'                             unset (claw.yaml's target)
 *   claw.yaml       CLAW_CONFIG              /etc/claw/claw.yaml (ConfigMap, read-only) the user's file
 *   tenants         CLAW_TENANTS_FILE        /etc/claw/tenants.json (same ConfigMap)   unset
 *   state           CLAW_STATE_DIR           /var/lib/claw (emptyDir)                  the local state dir
 *   listen          CLAW_HOST, CLAW_PORT     0.0.0.0, PORTS[component]                 127.0.0.1, the supervisor's port
 *   Temporal        TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (default 'default')
 *                   TEMPORAL_API_KEY (Temporal Cloud: secretKeyRef to the Secret claw.yaml names)
 *   codec tokens    CLAW_CODEC_TOKENS_FILE   /etc/claw-codec/tokens.json (optional     unset (<state>/codec-server/
 *                                            Secret claw-codec-tokens; none: all 401)  tokens.json)
 *   OTLP headers    CLAW_OTLP_HEADERS        secretKeyRef (worker; the values never enter  unset (claw.yaml has them)
 *                                            the ConfigMap's claw.yaml)
 *   secrets         OPENBAO_ADDR, OPENBAO_AUTH_MOUNT,   worker, gateway (OpenBao      unset (the metadata DB)
 *                   OPENBAO_AUTH_ROLE                    in the cluster)
 *   program tools   CLAW_SANDBOX_NAMESPACE,              worker: the gVisor pool's     unset (bubblewrap)
 *                   CLAW_SANDBOX_IMAGE                   namespace, images.sandbox
 *   metadata DB     CLAW_DB_HOST, CLAW_DB_PORT, CLAW_DB_NAME, CLAW_DB_USER,     DATABASE_URL
 *                   CLAW_DB_PASSWORD (secretKeyRef, never a literal)
 *                   CLAW_DB_SSLMODE, CLAW_DB_CA_FILE         verify-full (RDS) / verify-ca       unset (loopback)
 *                                                            (Cloud SQL), /etc/claw-db/ca.pem
 *
 * The database: the Deployments give the parts and the process builds the URL
 * (`databaseUrlFrom`), so the password comes from a Secret and is URL-encoded by code, not
 * spliced into a string by the kubelet. DATABASE_URL, when set, wins (the local target).
 */
import { z } from 'zod';

export const WIRING_ENV = {
  target: 'CLAW_TARGET',
  component: 'CLAW_COMPONENT',
  config: 'CLAW_CONFIG',
  tenantsFile: 'CLAW_TENANTS_FILE',
  stateDir: 'CLAW_STATE_DIR',
  host: 'CLAW_HOST',
  port: 'CLAW_PORT',
  temporalAddress: 'TEMPORAL_ADDRESS',
  temporalNamespace: 'TEMPORAL_NAMESPACE',
  databaseUrl: 'DATABASE_URL',
  dbHost: 'CLAW_DB_HOST',
  dbPort: 'CLAW_DB_PORT',
  dbName: 'CLAW_DB_NAME',
  dbUser: 'CLAW_DB_USER',
  dbPassword: 'CLAW_DB_PASSWORD',
  dbSslMode: 'CLAW_DB_SSLMODE',
  dbCaFile: 'CLAW_DB_CA_FILE',
  temporalApiKey: 'TEMPORAL_API_KEY',
  otlpHeaders: 'CLAW_OTLP_HEADERS',
  codecTokensFile: 'CLAW_CODEC_TOKENS_FILE',
  openbaoAddr: 'OPENBAO_ADDR',
  openbaoAuthMount: 'OPENBAO_AUTH_MOUNT',
  openbaoAuthRole: 'OPENBAO_AUTH_ROLE',
  sandboxNamespace: 'CLAW_SANDBOX_NAMESPACE',
  sandboxImage: 'CLAW_SANDBOX_IMAGE',
} as const;

/**
 * OpenBao as the stacks set it up (components/k8s/openbao.ts, declarative self-init): the
 * runtime logs in with its ServiceAccount token (Kubernetes auth) and keeps each tenant's
 * secrets under `<kv mount>/data/<tenant>/`, values envelope-encrypted under the tenant's key.
 */
export const OPENBAO = { authMount: 'kubernetes', authRole: 'claw-runtime', kvMount: 'claw' } as const;

/** The ConfigMap mounted read-only at CONFIG_DIR: the install's claw.yaml and this component's tenants.json. */
export const CONFIG_DIR = '/etc/claw';
export const CONFIG_FILE_NAME = 'claw.yaml';
export const TENANTS_FILE_NAME = 'tenants.json';
export const CONFIG_FILE = `${CONFIG_DIR}/${CONFIG_FILE_NAME}`;
export const TENANTS_FILE = `${CONFIG_DIR}/${TENANTS_FILE_NAME}`;

/**
 * The writable state dir (the root filesystem is read-only). The worker keeps its trace
 * WAL (<state>/traces) and the workflow bundle cache (<state>/cache) there.
 *
 * On the cloud targets it is an emptyDir: it survives container restarts (a crash, an OOM
 * kill: the WAL replays on the next start) but not the pod. A graceful stop (rollout,
 * scale-down, node drain: SIGTERM) lands every WAL'd segment in the lake before exit;
 * segments not yet landed when a pod is lost outright (node failure, eviction past the
 * grace period) are lost with it. A PVC would not fix that for a scaled Deployment (one
 * volume per replica means a StatefulSet); the lake itself is the durable copy.
 */
export const STATE_DIR = '/var/lib/claw';

/** Listen on every interface in a pod (kubelet probes and Services come from outside the container). */
export const POD_HOST = '0.0.0.0';
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';
export const DEFAULT_DB_PORT = 5432;
/**
 * TLS to the metadata DB (RDS forces it, Cloud SQL is ENCRYPTED_ONLY), with libpq's sslmode
 * meanings: verify-full checks the CA and the host name (RDS: the RDS CA bundle);
 * verify-ca checks the CA only (Cloud SQL: the instance's own CA, whose server certificate
 * does not name the private IP). The CA bundle is public: a ConfigMap mounted at DB_CA_DIR.
 */
export const DB_SSL_MODES = ['verify-full', 'verify-ca', 'disable'] as const;
export type DbSslMode = (typeof DB_SSL_MODES)[number];
export const DB_CA_DIR = '/etc/claw-db';
export const DB_CA_FILE_NAME = 'ca.pem';
export const DB_CA_FILE = `${DB_CA_DIR}/${DB_CA_FILE_NAME}`;
/** The key of the password in the metadata DB Secret. */
export const DB_PASSWORD_KEY = 'password';
/**
 * Temporal Cloud: the key holding the API key in the Kubernetes Secret that claw.yaml's
 * `temporal.apiKeySecret` names (the operator creates it in the runtime namespace).
 */
export const TEMPORAL_API_KEY_KEY = 'api-key';
/**
 * observability.otlp.headers: the stack moves their values out of the rendered claw.yaml
 * into a Secret (a JSON object under OTLP_HEADERS_KEY), given to the worker as
 * CLAW_OTLP_HEADERS. A ConfigMap is readable by anyone who may read the namespace's config.
 */
export const OTLP_HEADERS_KEY = 'headers.json';
/**
 * The codec-server's token hashes on aws/gcp: an optional Secret the operator fills from a
 * file `claw tenant codec-token --tokens-file` writes. Without it every request is refused.
 */
export const CODEC_TOKENS_SECRET = 'claw-codec-tokens';
export const CODEC_TOKENS_DIR = '/etc/claw-codec';
export const CODEC_TOKENS_FILE_NAME = 'tokens.json';
export const CODEC_TOKENS_FILE = `${CODEC_TOKENS_DIR}/${CODEC_TOKENS_FILE_NAME}`;

export type WiredComponent = 'worker' | 'gateway' | 'codecServer';

/** The port each component listens on (`CLAW_PORT`), serving `GET /healthz`. */
export const PORTS: Record<WiredComponent, number> = { worker: 9090, gateway: 8080, codecServer: 8081 };

// ------------------------------------------------------------------ tenants.json

/**
 * One entry of tenants.json. Buckets, datasets and lake names in the worker's and the
 * gateway's files (the gateway reads runs from the lake); the worker's tenant role only in
 * the worker's; the trace reader (read-only) only in the gateway's.
 */
export const TenantWiringEntrySchema = z.object({
  id: z.string().min(1),
  /** The tenant's root key: KMS key ARN, or Cloud KMS CryptoKey resource name (managed or BYOK). */
  keyRef: z.string().min(1),
  /** AWS, worker: the tenant role it assumes for this tenant. */
  roleArn: z.string().min(1).optional(),
  /** GCP: the tenant service account this component impersonates. */
  serviceAccount: z.string().min(1).optional(),
  /**
   * Gateway: the read-only identity it queries the tenant's lake as (the runs pages): AWS the
   * tenant's trace-reader role it assumes, GCP the tenant's trace-reader service account it
   * impersonates. Its keyring for ingest stays the component's own (encrypt only).
   */
  traceReader: z.string().min(1).optional(),
  /** Worker and gateway. */
  bucket: z.string().min(1).optional(),
  /** Ends with '/'. */
  prefix: z.string().optional(),
  /** GCP, worker and gateway: `project:dataset`. */
  dataset: z.string().min(1).optional(),
  /** AWS, worker and gateway: the tenant's Glue database and Athena workgroup, as components/aws/lakehouse.ts named them. */
  database: z.string().min(1).optional(),
  workgroup: z.string().min(1).optional(),
});
export type TenantWiringEntry = z.infer<typeof TenantWiringEntrySchema>;
export const TenantsFileSchema = z.array(TenantWiringEntrySchema);
