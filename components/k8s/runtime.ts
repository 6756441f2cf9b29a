/**
 * The runtime on Kubernetes: Deployments for the worker, the gateway and the
 * codec-server from images pinned by digest in claw.yaml, each with its own
 * ServiceAccount (cloud identity via annotations the caller supplies), config wiring
 * every endpoint, an HPA, a PDB and (gateway, codec-server) a Service.
 *
 * Least privilege shows in the config too: the worker's config names tenants' buckets,
 * datasets, lakes and tenant roles; the gateway's names each tenant's lake and its
 * read-only trace reader (the runs pages), never the worker's tenant role; the
 * codec-server learns each tenant's key and the identity it may use for it, nothing else.
 *
 * What the pods get is contracts/wiring.ts's contract, which the processes read
 * (runtime/process-config.ts, runtime/targets): a ConfigMap per component mounted
 * read-only at /etc/claw with the install's claw.yaml (rendered from the config the stack
 * was given: the stack stays a pure function of it) and that component's tenants.json; a
 * writable emptyDir state dir; the DB as parts with the password from a Secret
 * (secretKeyRef); Temporal address and namespace (and, for Temporal Cloud, the API key from
 * the operator's Secret); host and port. Secret values never enter a ConfigMap: the OTLP
 * headers' values move from the rendered claw.yaml into a Secret. stacks/wiring.test.ts
 * materializes the synthesized pods and runs the processes' start-up code on them.
 */
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { stringify as toYaml } from 'yaml';
import type { ClawConfig } from '../../core/config/schema.js';
import {
  CODEC_TOKENS_DIR, CODEC_TOKENS_FILE, CODEC_TOKENS_FILE_NAME, CODEC_TOKENS_SECRET, CONFIG_DIR, CONFIG_FILE, CONFIG_FILE_NAME, DB_CA_DIR, DB_CA_FILE, DB_CA_FILE_NAME, DB_PASSWORD_KEY, DEFAULT_DB_PORT, OTLP_HEADERS_KEY, POD_HOST, STATE_DIR,
  TEMPORAL_API_KEY_KEY, TENANTS_FILE, TENANTS_FILE_NAME, WIRING_ENV as E, type TenantWiringEntry,
} from '../../contracts/wiring.js';
import {
  K8S_NAMES, POOL_LABEL, POOLS, PORTS, RUNTIME_COMPONENTS, RUNTIME_NAMESPACE, RUNTIME_UID, SERVICE_ACCOUNTS,
  RELEASE_VERSION_LABEL, type RuntimeComponentName,
} from '../../contracts/kubernetes.js';
import { podSecurityNamespace } from './namespace.js';

export { CONFIG_DIR, CONFIG_FILE, STATE_DIR, TENANTS_FILE };
export const DB_SECRET = 'claw-db';

export interface TenantWiring {
  id: string;
  /** The tenant's root key: KMS key ARN, or Cloud KMS CryptoKey resource name (managed or BYOK). */
  keyRef: pulumi.Input<string>;
  bucket: pulumi.Input<string>;
  prefix?: string;
  /** GCP: the tenant's BigQuery dataset (project:dataset). */
  dataset?: pulumi.Input<string>;
  /** AWS: the tenant role the worker assumes for this tenant. */
  roleArn?: pulumi.Input<string>;
  /** The tenant's read-only trace reader the gateway uses for runs (AWS: role ARN; GCP: service account). */
  traceReader?: pulumi.Input<string>;
  /** AWS: the tenant's Glue database and Athena workgroup (components/aws/lakehouse.ts names them). */
  database?: pulumi.Input<string>;
  workgroup?: pulumi.Input<string>;
  /** GCP: per-component tenant service accounts the component impersonates for this tenant. */
  serviceAccounts?: Partial<Record<RuntimeComponentName, pulumi.Input<string>>>;
}

export interface ComponentScaling {
  min: number;
  max: number;
  cpu?: string;
  memory?: string;
}

export interface RuntimeArgs {
  provider: k8s.Provider;
  /** The install's claw.yaml as the stack got it (parsed): its target and images, and the file the pods read. */
  config: ClawConfig;
  namespace?: string;
  /** apiKeySecret (Temporal Cloud): the operator's Secret holding the API key under TEMPORAL_API_KEY_KEY. */
  temporal: { address: pulumi.Input<string>; namespace: pulumi.Input<string>; apiKeySecret?: string };
  openbao?: { address: pulumi.Input<string>; authMount: string; authRole: string };
  database: {
    host: pulumi.Input<string>;
    port?: number;
    name: string;
    user: pulumi.Input<string>;
    password?: pulumi.Input<string>;
    passwordSecretName?: string;
    /** TLS to the DB: libpq's sslmode and the CA bundle (PEM) the server is checked against. */
    tls?: { mode: 'verify-full' | 'verify-ca'; caPem: pulumi.Input<string> };
  };
  tenants: TenantWiring[];
  serviceAccountAnnotations?: Partial<Record<RuntimeComponentName, Record<string, pulumi.Input<string>>>>;
  serviceAnnotations?: Partial<Record<'gateway' | 'codecServer', Record<string, pulumi.Input<string>>>>;
  /** ClusterIP (GKE, NEG-backed) by default; NodePort with fixed ports for an ALB on EKS. */
  serviceType?: 'ClusterIP' | 'NodePort';
  nodePorts?: { gateway: number; codecServer: number };
  scaling?: Partial<Record<RuntimeComponentName, ComponentScaling>>;
  /** If set, the worker runs program tools as pods in this namespace (its Role: SANDBOX_EXECUTOR_RULES). */
  sandboxNamespace?: pulumi.Input<string>;
}

/** The worker's Role in the sandbox namespace (the calls runtime/sandbox/kubernetes.ts makes). */
export const SANDBOX_EXECUTOR_RULES = [
  { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'delete'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create', 'delete'] },
];

export const DEFAULT_SCALING: Record<RuntimeComponentName, ComponentScaling> = {
  worker: { min: 2, max: 20, cpu: '500m', memory: '1Gi' },
  gateway: { min: 2, max: 10, cpu: '250m', memory: '512Mi' },
  codecServer: { min: 2, max: 4, cpu: '100m', memory: '256Mi' },
};

export function validateRuntimeArgs(args: RuntimeArgs): void {
  const fail = (propertyPath: string, reason: string) => {
    throw new pulumi.InputPropertyError({ propertyPath, reason });
  };
  if (!args?.provider) fail('provider', 'a Kubernetes provider is required');
  if (!args.config) fail('config', "the runtime needs the install's claw.yaml");
  if (args.config.target !== 'aws' && args.config.target !== 'gcp') fail('config.target', "the runtime on Kubernetes is for target 'aws' or 'gcp'");
  for (const component of RUNTIME_COMPONENTS) {
    if (!args.config.images?.[component]) fail(`images.${component}`, `set claw.yaml images.${component} to an image by digest (registry/name@sha256:...) for a cloud install`);
  }
  if (!args.temporal?.address) fail('temporal.address', 'the runtime needs the Temporal frontend address');
  if (!args.database?.host || !args.database.name) fail('database', 'the runtime needs the metadata DB host and name');
  if ((args.database.password !== undefined) === (args.database.passwordSecretName !== undefined)) {
    fail('database.password', 'give exactly one of database.password or database.passwordSecretName');
  }
  if (args.serviceType === 'NodePort') {
    for (const c of ['gateway', 'codecServer'] as const) {
      const port = args.nodePorts?.[c];
      if (!Number.isInteger(port) || port! < 30000 || port! > 32767) fail(`nodePorts.${c}`, 'NodePort services need a fixed nodePort in 30000-32767');
    }
  }
  const seen = new Set<string>();
  for (const [i, tenant] of (args.tenants ?? []).entries()) {
    if (seen.has(tenant.id)) fail(`tenants[${i}].id`, `duplicate tenant '${tenant.id}'`);
    seen.add(tenant.id);
  }
  for (const [component, s] of Object.entries(args.scaling ?? {})) {
    if (s && (s.min < 1 || s.max < s.min)) fail(`scaling.${component}`, 'scaling needs 1 <= min <= max');
  }
}

/**
 * One component's tenants.json (contracts/wiring.ts TenantsFileSchema). The worker: buckets,
 * datasets, lake names and tenant roles. The gateway: the lake names (it reads runs) and the
 * tenant's trace reader, never the worker's tenant role. The codec-server: keys and identities.
 */
export function tenantsFor(component: RuntimeComponentName, tenants: TenantWiring[]): pulumi.Output<TenantWiringEntry[]> {
  return pulumi.output(tenants.map((t) => {
    const identity = t.serviceAccounts?.[component];
    const base = {
      id: t.id,
      keyRef: t.keyRef,
      ...(t.roleArn !== undefined && component === 'worker' ? { roleArn: t.roleArn } : {}),
      ...(t.traceReader !== undefined && component === 'gateway' ? { traceReader: t.traceReader } : {}),
      ...(identity !== undefined ? { serviceAccount: identity } : {}),
    };
    if (component === 'codecServer') return base;
    // The gateway needs the bucket only where the lake lives in it (Athena: aws), not on gcp (BigQuery).
    const bucket = component === 'worker' || t.workgroup !== undefined;
    return {
      ...base,
      ...(bucket ? { bucket: t.bucket, ...(t.prefix ? { prefix: t.prefix } : {}) } : {}),
      ...(t.dataset !== undefined ? { dataset: t.dataset } : {}),
      ...(t.database !== undefined ? { database: t.database } : {}),
      ...(t.workgroup !== undefined ? { workgroup: t.workgroup } : {}),
    };
  })) as unknown as pulumi.Output<TenantWiringEntry[]>;
}

/** observability.otlp.headers of claw.yaml, if any: their values go to a Secret, not the ConfigMap. */
export function otlpHeaders(config: ClawConfig): Record<string, string> | undefined {
  const headers = config.observability?.otlp?.headers;
  return headers && Object.keys(headers).length > 0 ? headers : undefined;
}

/**
 * The claw.yaml the pods read (CLAW_CONFIG): the parsed config the stack got, agents inline,
 * without the OTLP header values (the worker gets them from a Secret: CLAW_OTLP_HEADERS).
 */
export function renderConfig(config: ClawConfig): string {
  const otlp = config.observability?.otlp;
  const rendered = otlp?.headers ? { ...config, observability: { ...config.observability, otlp: { endpoint: otlp.endpoint } } } : config;
  return `# Rendered by the stack from this install's claw.yaml; edit the source and run 'claw upgrade'.\n${toYaml(rendered)}`;
}

/** The image program tools run in: claw.yaml images.sandbox, else the worker's own image. */
export function sandboxImage(config: ClawConfig): string {
  return config.images.sandbox ?? config.images.worker!;
}

/** Environment of one component's container (the contract with runtime/*'s main.ts). */
export function componentEnv(component: RuntimeComponentName, args: RuntimeArgs, refs: PodRefs): k8s.types.input.core.v1.EnvVar[] {
  const env: k8s.types.input.core.v1.EnvVar[] = [
    { name: E.target, value: args.config.target },
    { name: E.component, value: K8S_NAMES[component] },
    { name: E.config, value: CONFIG_FILE },
    { name: E.tenantsFile, value: TENANTS_FILE },
    { name: E.stateDir, value: STATE_DIR },
    { name: E.host, value: POD_HOST },
    { name: E.port, value: String(PORTS[component]) },
  ];
  // The codec-server only decodes with tenant keys: no Temporal, no database.
  if (component !== 'codecServer') {
    env.push(
      { name: E.temporalAddress, value: args.temporal.address },
      { name: E.temporalNamespace, value: args.temporal.namespace },
      { name: E.dbHost, value: args.database.host },
      { name: E.dbPort, value: String(args.database.port ?? DEFAULT_DB_PORT) },
      { name: E.dbName, value: args.database.name },
      { name: E.dbUser, value: args.database.user },
      // The password only ever comes from the Secret; the process builds DATABASE_URL (runtime/process-config.ts).
      { name: E.dbPassword, valueFrom: { secretKeyRef: { name: args.database.passwordSecretName ?? DB_SECRET, key: DB_PASSWORD_KEY } } },
    );
    if (refs.dbCa) env.push({ name: E.dbSslMode, value: refs.dbCa.mode }, { name: E.dbCaFile, value: DB_CA_FILE });
    if (args.temporal.apiKeySecret) {
      env.push({ name: E.temporalApiKey, valueFrom: { secretKeyRef: { name: args.temporal.apiKeySecret, key: TEMPORAL_API_KEY_KEY } } });
    }
  } else {
    // The codec-server's token hashes: the operator's optional Secret (none: every request is refused).
    env.push({ name: E.codecTokensFile, value: CODEC_TOKENS_FILE });
  }
  // The Runtime gives it to the worker only: it alone exports traces (runtime/targets traceExporters).
  if (refs.otlpHeadersSecret !== undefined) {
    env.push({ name: E.otlpHeaders, valueFrom: { secretKeyRef: { name: refs.otlpHeadersSecret, key: OTLP_HEADERS_KEY } } });
  }
  // The secret store (runtime/targets): OpenBao for the two components that read secrets.
  if (args.openbao && component !== 'codecServer') {
    env.push(
      { name: E.openbaoAddr, value: args.openbao.address },
      { name: E.openbaoAuthMount, value: args.openbao.authMount },
      { name: E.openbaoAuthRole, value: args.openbao.authRole },
    );
  }
  // Program tools run in pods of the gVisor pool's namespace (runtime/sandbox/kubernetes.ts).
  if (args.sandboxNamespace !== undefined && component === 'worker') {
    env.push(
      { name: E.sandboxNamespace, value: args.sandboxNamespace },
      { name: E.sandboxImage, value: sandboxImage(args.config) },
    );
  }
  return env;
}

const labelsOf = (component: RuntimeComponentName) => ({
  'app.kubernetes.io/name': K8S_NAMES[component],
  'app.kubernetes.io/part-of': 'claw',
});

/**
 * Names of the objects the Runtime declared that a pod refers to. The optional ones are
 * auto-named: a changed value is a new object under a new name, and the pods roll.
 */
export interface PodRefs {
  configMap: pulumi.Input<string>;
  /** The OTLP headers Secret (the worker's). */
  otlpHeadersSecret?: pulumi.Input<string>;
  /** The metadata DB's CA bundle and the sslmode to check it with (the worker's and the gateway's). */
  dbCa?: { configMap: pulumi.Input<string>; mode: 'verify-full' | 'verify-ca' };
}

/** Pod spec of one component: non-root, read-only root fs, no privilege, system pool only. */
export function podSpec(component: RuntimeComponentName, args: RuntimeArgs, refs: PodRefs): k8s.types.input.core.v1.PodSpec {
  const scaling = { ...DEFAULT_SCALING[component], ...args.scaling?.[component] };
  const port = PORTS[component];
  const probe = { httpGet: { path: '/healthz', port }, periodSeconds: 10, timeoutSeconds: 3 };
  return {
    serviceAccountName: SERVICE_ACCOUNTS[component],
    // The worker drains on SIGTERM: Workers finish their tasks and the trace WAL lands in the lake.
    ...(component === 'worker' ? { terminationGracePeriodSeconds: 120 } : {}),
    // The worker and gateway log in to OpenBao with their ServiceAccount token; the codec-server needs none.
    automountServiceAccountToken: component !== 'codecServer',
    nodeSelector: { [POOL_LABEL]: POOLS.system },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUNTIME_UID,
      runAsGroup: RUNTIME_UID,
      fsGroup: RUNTIME_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    topologySpreadConstraints: [{
      maxSkew: 1,
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: labelsOf(component) },
    }],
    containers: [{
      name: K8S_NAMES[component],
      image: args.config.images[component]!,
      ports: [{ name: 'http', containerPort: port }],
      env: componentEnv(component, args, refs),
      resources: {
        requests: { cpu: scaling.cpu!, memory: scaling.memory! },
        limits: { memory: scaling.memory! },
      },
      readinessProbe: probe,
      livenessProbe: { ...probe, initialDelaySeconds: 10, failureThreshold: 6 },
      securityContext: {
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      },
      volumeMounts: [
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'state', mountPath: STATE_DIR },
        { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
        ...(refs.dbCa ? [{ name: 'db-ca', mountPath: DB_CA_DIR, readOnly: true }] : []),
        ...(component === 'codecServer' ? [{ name: 'codec-tokens', mountPath: CODEC_TOKENS_DIR, readOnly: true }] : []),
      ],
    }],
    volumes: [
      { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
      // CLAW_STATE_DIR: the worker's trace WAL and workflow bundle cache. An emptyDir lives as
      // long as the pod (container restarts replay the WAL); a pod lost without SIGTERM loses
      // the segments not yet landed in the lake (contracts/wiring.ts STATE_DIR says more).
      { name: 'state', emptyDir: { sizeLimit: component === 'worker' ? '2Gi' : '256Mi' } },
      { name: 'config', configMap: { name: refs.configMap, items: [{ key: CONFIG_FILE_NAME, path: CONFIG_FILE_NAME }, { key: TENANTS_FILE_NAME, path: TENANTS_FILE_NAME }] } },
      // Optional: the pod starts without it (and refuses every caller); a new file reaches it within a minute.
      ...(component === 'codecServer'
        ? [{ name: 'codec-tokens', secret: { secretName: CODEC_TOKENS_SECRET, optional: true, defaultMode: 0o440, items: [{ key: CODEC_TOKENS_FILE_NAME, path: CODEC_TOKENS_FILE_NAME }] } }]
        : []),
      ...(refs.dbCa ? [{ name: 'db-ca', configMap: { name: refs.dbCa.configMap, items: [{ key: DB_CA_FILE_NAME, path: DB_CA_FILE_NAME }] } }] : []),
    ],
  };
}

export class Runtime extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly gatewayService: pulumi.Output<string>;
  readonly codecServerService: pulumi.Output<string>;
  readonly serviceAccounts = SERVICE_ACCOUNTS;
  readonly deployments: Record<RuntimeComponentName, k8s.apps.v1.Deployment>;

  constructor(name: string, args: RuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:k8s:Runtime', name, {}, opts);
    validateRuntimeArgs(args);
    const child = { parent: this, provider: args.provider };
    const ns = podSecurityNamespace(`${name}-ns`, args.namespace ?? RUNTIME_NAMESPACE, 'restricted', child);
    const namespace = ns.metadata.name;

    if (args.database.password !== undefined) {
      new k8s.core.v1.Secret(`${name}-db`, {
        metadata: { name: DB_SECRET, namespace },
        type: 'Opaque',
        stringData: { password: pulumi.secret(args.database.password) },
      }, child);
    }

    // No fixed names for these two: Pulumi replaces a Secret or ConfigMap whose data changed
    // under a new name, so a rotated collector key or DB CA rolls the pods that use it.
    const dbCa = args.database.tls
      ? {
        mode: args.database.tls.mode,
        configMap: new k8s.core.v1.ConfigMap(`${name}-db-ca`, {
          metadata: { namespace, labels: { 'app.kubernetes.io/part-of': 'claw' } },
          data: { [DB_CA_FILE_NAME]: args.database.tls.caPem },
        }, child).metadata.name,
      }
      : undefined;
    const headers = otlpHeaders(args.config);
    const otlpHeadersSecret = headers
      ? new k8s.core.v1.Secret(`${name}-otlp-headers`, {
        metadata: { namespace, labels: { 'app.kubernetes.io/part-of': 'claw' } },
        type: 'Opaque',
        stringData: { [OTLP_HEADERS_KEY]: pulumi.secret(JSON.stringify(headers)) },
      }, child).metadata.name
      : undefined;

    // One rendering for the three components' ConfigMaps.
    const clawYaml = renderConfig(args.config);
    const deployments = {} as Record<RuntimeComponentName, k8s.apps.v1.Deployment>;
    const services: Partial<Record<RuntimeComponentName, k8s.core.v1.Service>> = {};
    for (const component of RUNTIME_COMPONENTS) {
      const k8sName = K8S_NAMES[component];
      const labels = labelsOf(component);
      const scaling = { ...DEFAULT_SCALING[component], ...args.scaling?.[component] };

      new k8s.core.v1.ServiceAccount(`${name}-${k8sName}-sa`, {
        metadata: { name: SERVICE_ACCOUNTS[component], namespace, annotations: args.serviceAccountAnnotations?.[component] ?? {} },
        automountServiceAccountToken: false,
      }, child);

      const tenantsJson = tenantsFor(component, args.tenants).apply((t) => JSON.stringify(t));
      const configHash = tenantsJson.apply((j) => createHash('sha256').update(clawYaml).update('\0').update(j).digest('hex').slice(0, 16));
      // Named by its content and immutable: a new claw.yaml or tenant list is a new ConfigMap,
      // made before the Deployment rolls over to it, so an upgrade updates the Deployment in
      // place. (A fixed name made the provider replace the ConfigMap, and with it the
      // Deployment, and a real API server refused the replacement: a server-side apply conflict.)
      const config = new k8s.core.v1.ConfigMap(`${name}-${k8sName}-config`, {
        metadata: { name: pulumi.interpolate`claw-${k8sName}-config-${configHash.apply((h) => h.slice(0, 10))}`, namespace },
        immutable: true,
        data: { [CONFIG_FILE_NAME]: clawYaml, [TENANTS_FILE_NAME]: tenantsJson },
      }, child);

      deployments[component] = new k8s.apps.v1.Deployment(`${name}-${k8sName}`, {
        metadata: { name: k8sName, namespace, labels: { ...labels, [RELEASE_VERSION_LABEL]: args.config.versions.runtime } },
        spec: {
          replicas: scaling.min,
          selector: { matchLabels: labels },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            // A new claw.yaml or tenant list rolls the pods: the hash is part of the template.
            metadata: { labels: { ...labels, [RELEASE_VERSION_LABEL]: args.config.versions.runtime }, annotations: { 'claw.dev/config-hash': configHash } },
            spec: podSpec(component, args, {
              configMap: config.metadata.name,
              ...(otlpHeadersSecret && component === 'worker' ? { otlpHeadersSecret } : {}),
              ...(dbCa && component !== 'codecServer' ? { dbCa } : {}),
            }),
          },
        },
        // The HorizontalPodAutoscaler below owns spec.replicas once it scales: an upgrade that set
        // it again would reset the scale (or meet a server-side apply conflict). The stack sets it
        // at creation only. (The API-server test cannot show this: it runs no metrics server.)
      }, { ...child, ignoreChanges: ['spec.replicas'] });

      new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-${k8sName}-hpa`, {
        metadata: { name: k8sName, namespace },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deployments[component].metadata.name },
          minReplicas: scaling.min,
          maxReplicas: scaling.max,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
        },
      }, child);

      new k8s.policy.v1.PodDisruptionBudget(`${name}-${k8sName}-pdb`, {
        metadata: { name: k8sName, namespace },
        spec: { minAvailable: 1, selector: { matchLabels: labels } },
      }, child);

      if (component !== 'worker') {
        services[component] = new k8s.core.v1.Service(`${name}-${k8sName}-svc`, {
          metadata: { name: k8sName, namespace, labels, annotations: args.serviceAnnotations?.[component] ?? {} },
          spec: {
            type: args.serviceType ?? 'ClusterIP',
            selector: labels,
            ports: [{
              name: 'http', port: 80, targetPort: PORTS[component],
              ...(args.serviceType === 'NodePort' ? { nodePort: args.nodePorts![component] } : {}),
            }],
          },
        }, child);
      }
    }

    if (args.sandboxNamespace !== undefined) {
      // What the worker's sandbox executor does in the sandbox namespace and no more
      // (runtime/sandbox/kubernetes.ts): a pod per call, read its phase and log, and the
      // call's Secret (its credentials) and NetworkPolicy (its egress), all deleted after.
      const role = new k8s.rbac.v1.Role(`${name}-sandbox-role`, {
        metadata: { name: 'claw-sandbox-executor', namespace: args.sandboxNamespace },
        rules: SANDBOX_EXECUTOR_RULES,
      }, child);
      new k8s.rbac.v1.RoleBinding(`${name}-sandbox-binding`, {
        metadata: { name: 'claw-sandbox-executor', namespace: args.sandboxNamespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
        subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNTS.worker, namespace }],
      }, child);
    }

    this.namespace = namespace;
    this.deployments = deployments;
    this.gatewayService = services.gateway!.metadata.name;
    this.codecServerService = services.codecServer!.metadata.name;
    this.registerOutputs({ namespace, gatewayService: this.gatewayService, codecServerService: this.codecServerService });
  }
}
