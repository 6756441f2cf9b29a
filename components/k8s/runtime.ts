/**
 * The runtime on Kubernetes: Deployments for the worker, the gateway and the
 * codec-server from images pinned by digest in claw.yaml, each with its own
 * ServiceAccount (cloud identity via annotations the caller supplies), config wiring
 * every endpoint, an HPA, a PDB and (gateway, codec-server) a Service.
 *
 * Least privilege shows in the config too: only the worker's config names tenants'
 * buckets and datasets; the gateway and codec-server learn each tenant's key and the
 * identity they may use for it, nothing else.
 */
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import type { ClawConfig } from '../../core/config/schema.js';
import {
  K8S_NAMES, POOL_LABEL, POOLS, PORTS, RUNTIME_COMPONENTS, RUNTIME_NAMESPACE, RUNTIME_UID, SERVICE_ACCOUNTS,
  type RuntimeComponentName,
} from './constants.js';
import { podSecurityNamespace } from './namespace.js';

export const CONFIG_DIR = '/etc/claw';
export const TENANTS_FILE = `${CONFIG_DIR}/tenants.json`;
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
  target: 'aws' | 'gcp';
  images: ClawConfig['images'];
  namespace?: string;
  temporal: { address: pulumi.Input<string>; namespace: pulumi.Input<string>; apiKeySecret?: string };
  openbao?: { address: pulumi.Input<string>; authMount: string; authRole: string };
  database: { host: pulumi.Input<string>; port?: number; name: string; user: pulumi.Input<string>; password?: pulumi.Input<string>; passwordSecretName?: string };
  tenants: TenantWiring[];
  serviceAccountAnnotations?: Partial<Record<RuntimeComponentName, Record<string, pulumi.Input<string>>>>;
  serviceAnnotations?: Partial<Record<'gateway' | 'codecServer', Record<string, pulumi.Input<string>>>>;
  /** ClusterIP (GKE, NEG-backed) by default; NodePort with fixed ports for an ALB on EKS. */
  serviceType?: 'ClusterIP' | 'NodePort';
  nodePorts?: { gateway: number; codecServer: number };
  scaling?: Partial<Record<RuntimeComponentName, ComponentScaling>>;
  /** If set, the worker may manage sandbox pods (and only pods) in this namespace. */
  sandboxNamespace?: pulumi.Input<string>;
}

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
  if (args.target !== 'aws' && args.target !== 'gcp') fail('target', "target is 'aws' or 'gcp'");
  for (const component of RUNTIME_COMPONENTS) {
    if (!args.images?.[component]) fail(`images.${component}`, `set claw.yaml images.${component} to an image by digest (registry/name@sha256:...) for a cloud install`);
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

/** What one component's config says about each tenant; only the worker sees buckets and datasets. */
export function tenantsFor(component: RuntimeComponentName, tenants: TenantWiring[]): pulumi.Output<Record<string, unknown>[]> {
  return pulumi.output(tenants.map((t) => {
    const identity = t.serviceAccounts?.[component];
    const base = {
      id: t.id,
      keyRef: t.keyRef,
      ...(t.roleArn !== undefined && component === 'worker' ? { roleArn: t.roleArn } : {}),
      ...(identity !== undefined ? { serviceAccount: identity } : {}),
    };
    if (component !== 'worker') return base;
    return { ...base, bucket: t.bucket, ...(t.prefix ? { prefix: t.prefix } : {}), ...(t.dataset !== undefined ? { dataset: t.dataset } : {}) };
  })) as unknown as pulumi.Output<Record<string, unknown>[]>;
}

/** Environment of one component's container (the contract with runtime/*'s main.ts). */
export function componentEnv(component: RuntimeComponentName, args: RuntimeArgs): k8s.types.input.core.v1.EnvVar[] {
  const env: k8s.types.input.core.v1.EnvVar[] = [
    { name: 'CLAW_TARGET', value: args.target },
    { name: 'CLAW_COMPONENT', value: K8S_NAMES[component] },
    { name: 'CLAW_PORT', value: String(PORTS[component]) },
    { name: 'TEMPORAL_ADDRESS', value: args.temporal.address },
    { name: 'TEMPORAL_NAMESPACE', value: args.temporal.namespace },
    { name: 'CLAW_TENANTS_FILE', value: TENANTS_FILE },
    { name: 'CLAW_DB_HOST', value: args.database.host },
    { name: 'CLAW_DB_PORT', value: String(args.database.port ?? 5432) },
    { name: 'CLAW_DB_NAME', value: args.database.name },
    { name: 'CLAW_DB_USER', value: args.database.user },
    { name: 'CLAW_DB_PASSWORD', valueFrom: { secretKeyRef: { name: args.database.passwordSecretName ?? DB_SECRET, key: 'password' } } },
  ];
  if (args.temporal.apiKeySecret) env.push({ name: 'TEMPORAL_API_KEY_SECRET', value: args.temporal.apiKeySecret });
  if (args.openbao && component !== 'codecServer') {
    env.push(
      { name: 'OPENBAO_ADDR', value: args.openbao.address },
      { name: 'OPENBAO_AUTH_MOUNT', value: args.openbao.authMount },
      { name: 'OPENBAO_AUTH_ROLE', value: args.openbao.authRole },
    );
  }
  return env;
}

const labelsOf = (component: RuntimeComponentName) => ({
  'app.kubernetes.io/name': K8S_NAMES[component],
  'app.kubernetes.io/part-of': 'claw',
});

/** Pod spec of one component: non-root, read-only root fs, no privilege, system pool only. */
export function podSpec(component: RuntimeComponentName, args: RuntimeArgs, configMapName: pulumi.Input<string>): k8s.types.input.core.v1.PodSpec {
  const scaling = { ...DEFAULT_SCALING[component], ...args.scaling?.[component] };
  const port = PORTS[component];
  const probe = { httpGet: { path: '/healthz', port }, periodSeconds: 10, timeoutSeconds: 3 };
  return {
    serviceAccountName: SERVICE_ACCOUNTS[component],
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
      image: args.images[component]!,
      ports: [{ name: 'http', containerPort: port }],
      env: componentEnv(component, args),
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
        { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      ],
    }],
    volumes: [
      { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
      { name: 'config', configMap: { name: configMapName } },
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
      const config = new k8s.core.v1.ConfigMap(`${name}-${k8sName}-config`, {
        metadata: { name: `claw-${k8sName}-config`, namespace },
        data: { 'tenants.json': tenantsJson },
      }, child);

      deployments[component] = new k8s.apps.v1.Deployment(`${name}-${k8sName}`, {
        metadata: { name: k8sName, namespace, labels },
        spec: {
          replicas: scaling.min,
          selector: { matchLabels: labels },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            // A new tenant list rolls the pods: the hash is part of the template.
            metadata: { labels, annotations: { 'claw.dev/config-hash': tenantsJson.apply((j) => createHash('sha256').update(j).digest('hex').slice(0, 16)) } },
            spec: podSpec(component, args, config.metadata.name),
          },
        },
      }, child);

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
      // The worker's sandbox executor creates tool pods in the sandbox namespace: pods only.
      const role = new k8s.rbac.v1.Role(`${name}-sandbox-role`, {
        metadata: { name: 'claw-sandbox-executor', namespace: args.sandboxNamespace },
        rules: [
          { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
          { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        ],
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
