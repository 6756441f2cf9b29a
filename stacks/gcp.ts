/**
 * The GCP program: a pure function of the loaded claw.yaml (DESIGN.md invariant 6), the
 * counterpart of stacks/aws.ts. `claw install` runs it as a Pulumi inline program;
 * `claw plan --offline`, the tests and bench/synth.bench.ts run it under mocks
 * (policies/infra/synth.ts).
 *
 *   network (VPC, subnet with Private Google Access, Cloud NAT, private services peering)
 *   platform keys (GKE secrets, metadata DB, OpenBao unseal) · tenants key ring
 *   GKE (private, Workload Identity, system + tainted GKE Sandbox pool) · component identities
 *   metadata DB (Cloud SQL Postgres, CMEK; Temporal's databases on it)
 *   per tenant: identities (data/ingest/decode) · key (or BYOK bindings) · bucket (or BYOB
 *     reference) · BigQuery dataset, all under one `claw:gcp:Tenant` component
 *   Kubernetes: sandbox namespace · Temporal · OpenBao (gcpckms) · runtime Deployments · GCLB with TLS
 *
 * The config is checked again here, and every problem is one ClawError naming the field,
 * *before* any resource is declared.
 */
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { ClawError } from '../core/errors.js';
import { formatPath } from '../core/config/load.js';
import { ClawConfigSchema, type ClawConfig, type Tenant } from '../core/config/schema.js';
import { GkeCluster } from '../components/gcp/cluster.js';
import { DATABASES, DB_USERS, MetadataDb } from '../components/gcp/database.js';
import { ComponentIdentities, TenantIdentities } from '../components/gcp/iam.js';
import { GatewayIngress, NEG_ANNOTATION } from '../components/gcp/ingress.js';
import { PlatformKeys, TenantKey } from '../components/gcp/keys.js';
import { TenantDataset } from '../components/gcp/lakehouse.js';
import { componentServiceAccountId, tenantBucketName, tenantDatasetId } from '../contracts/gcp.js';
import { Network } from '../components/gcp/network.js';
import { TenantBucket, type RequiredBinding } from '../components/gcp/storage.js';
import type { RuntimeComponentName } from '../contracts/kubernetes.js';
import { kubernetesLayer } from './kubernetes-layer.js';

export type GcpConfig = ClawConfig & { target: 'gcp'; gcp: NonNullable<ClawConfig['gcp']> & { domain: string } };

function invalid(field: string, message: string, hint: string): ClawError {
  return new ClawError('CONFIG_INVALID', `${field}: ${message}`, { hint, details: { field } });
}

/** `projects/p/locations/<l>/keyRings/r/cryptoKeys/k` → `<l>`. */
const keyLocation = (ref: string) => ref.split('/')[3];
const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Everything a GCP install needs from claw.yaml, checked up front. */
export function validateGcpConfig(config: ClawConfig): GcpConfig {
  // A config built in code (not by loadConfig) gets the same schema check.
  const parsed = ClawConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = formatPath(issue.path) || '(top level)';
    throw invalid(field, issue.message, `fix '${field}' in claw.yaml and run 'claw config validate'`);
  }
  if (config.target !== 'gcp' || !config.gcp) {
    throw new ClawError('CONFIG_TARGET_MISMATCH', `the gcp stack needs target 'gcp' with a 'gcp:' section (target is '${config.target}')`, {
      hint: "set 'target: gcp' and 'gcp: { project: ..., region: ... }' in claw.yaml",
    });
  }
  const region = config.gcp.region;
  if (!config.gcp.domain) {
    throw invalid('gcp.domain', 'the gateway serves HTTPS only and needs a domain for its Google-managed certificate', 'set gcp.domain to the DNS name the gateway will answer on (codec.<domain> serves the codec server)');
  }
  if (!DOMAIN.test(config.gcp.domain)) {
    throw invalid('gcp.domain', `'${config.gcp.domain}' is not a DNS name like claw.example.com`, 'give a bare host name: no scheme, no path, lowercase');
  }
  for (const component of ['worker', 'gateway', 'codecServer'] as const) {
    if (!config.images[component]) {
      throw invalid(`images.${component}`, 'a cloud install runs images pinned by digest and this one is missing', `set images.${component}: <registry>/<name>@sha256:<digest> (see 'claw images')`);
    }
  }
  config.tenants.forEach((tenant, i) => {
    if (tenant.key.type === 'byok' && keyLocation(tenant.key.ref) !== region) {
      throw invalid(
        `tenants[${i}].key.ref`,
        `tenant '${tenant.id}' brings a key in ${keyLocation(tenant.key.ref)}, but a GCS bucket and a BigQuery dataset in ${region} can only use a key in ${region}`,
        `create the key in a key ring in ${region} and use its resource name`,
      );
    }
  });
  return config as GcpConfig;
}

// ------------------------------------------------------------------ one tenant

export interface GcpTenantArgs {
  install: string;
  project: string;
  region: string;
  tenant: Tenant;
  tenantKeyRingId: pulumi.Input<string>;
  /** Component GSAs that may impersonate the tenant's matching identity. */
  impersonators: Record<RuntimeComponentName, pulumi.Input<string>>;
  provider: gcp.Provider;
}

/**
 * Everything one tenant owns on GCP, under one component whose name is the tenant id
 * (`claw:gcp:Tenant`; the offline planner and the guardrails group resources by it): its
 * four identities, its key (or BYOK bindings), its bucket (or BYOB reference), its dataset.
 */
export class GcpTenant extends pulumi.ComponentResource {
  readonly tenantId: string;
  readonly identities: TenantIdentities;
  readonly key: TenantKey;
  readonly storage: TenantBucket;
  readonly lake: TenantDataset;

  /** `name` must be the tenant id. */
  constructor(name: string, args: GcpTenantArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('claw:gcp:Tenant', name, {}, opts);
    if (name !== args.tenant.id) {
      throw new pulumi.InputPropertyError({ propertyPath: 'tenant.id', reason: `the component name '${name}' must be the tenant id '${args.tenant.id}'` });
    }
    const { provider, project, region, install, tenant } = args;
    this.tenantId = tenant.id;
    const child = { parent: this };
    this.identities = new TenantIdentities(name, { provider, project, install, tenantId: tenant.id, impersonators: args.impersonators }, child);
    this.key = new TenantKey(`${name}-key`, { provider, tenant, keyRingId: args.tenantKeyRingId, identities: this.identities.emails, traceReader: this.identities.traceReaderEmail }, child);
    this.storage = new TenantBucket(`${name}-bucket`, {
      provider, project, region, tenant,
      bucketName: tenantBucketName(project, install, tenant.id),
      keyRef: this.key.keyRef,
      dataIdentity: this.identities.emails.worker,
    }, child);
    this.lake = new TenantDataset(`${name}-lake`, {
      provider, project, region,
      tenantId: tenant.id,
      datasetId: tenantDatasetId(install, tenant.id),
      keyRef: this.key.keyRef,
      dataIdentity: this.identities.emails.worker,
      readerIdentity: this.identities.traceReaderEmail,
    }, child);
    this.registerOutputs({ keyRef: this.key.keyRef, bucket: this.storage.bucket, dataset: this.lake.datasetRef });
  }
}

// ------------------------------------------------------------------ the stack

export interface GcpTenantOutputs {
  key: pulumi.Output<string>;
  managedKey: boolean;
  bucket: pulumi.Output<string>;
  prefix: string;
  managedBucket: boolean;
  /** `project:dataset` of the tenant's trace lake. */
  dataset: pulumi.Output<string>;
  serviceAccounts: Record<RuntimeComponentName, pulumi.Output<string>>;
  /** The read-only identity the gateway impersonates to query this tenant's dataset (the runs pages). */
  traceReader: pulumi.Output<string>;
  /** BYOB: the binding the customer grants on their bucket. */
  requiredBindings?: RequiredBinding[];
}

export interface GcpStackOutputs {
  gatewayUrl: string;
  codecServerUrl: string;
  /** Point the domain's A record (and codec.<domain>'s) here. */
  ingressIp: pulumi.Output<string>;
  temporalAddress: pulumi.Output<string>;
  runtimeNamespace: pulumi.Output<string>;
  kubeconfig: pulumi.Output<string>;
  clusterName: pulumi.Output<string>;
  tenants: Record<string, GcpTenantOutputs>;
}

/** Roles the GKE node service account needs (logs, metrics, image pulls) and nothing more. */
export const NODE_ROLES = [
  'roles/logging.logWriter',
  'roles/monitoring.metricWriter',
  'roles/monitoring.viewer',
  'roles/stackdriver.resourceMetadata.writer',
  'roles/artifactregistry.reader',
] as const;

const WORKLOAD_IDENTITY_ANNOTATION = 'iam.gke.io/gcp-service-account';

export function gcpStack(config: ClawConfig): GcpStackOutputs {
  const cfg = validateGcpConfig(config);
  const install = cfg.name;
  const { project, region, domain } = cfg.gcp;
  const base = `claw-${install}`;

  const provider = new gcp.Provider('gcp', { project, region, defaultLabels: { 'claw-install': install } });
  const onGcp = { provider };
  const projectInfo = gcp.organizations.getProjectOutput({ projectId: project }, onGcp);

  const network = new Network(base, { provider, region });
  const keys = new PlatformKeys('keys', { provider, install, region });

  // GKE's service agent encrypts Secrets in etcd with the platform key; the cluster waits for that grant.
  const gkeAgentGrant = new gcp.kms.CryptoKeyIAMMember('gke-agent-secrets-key', {
    cryptoKeyId: keys.keys['gke-secrets'].id,
    role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
    member: pulumi.interpolate`serviceAccount:service-${projectInfo.number}@container-engine-robot.iam.gserviceaccount.com`,
  }, onGcp);
  const nodes = new gcp.serviceaccount.Account('nodes', {
    accountId: componentServiceAccountId(install, 'nodes'),
    displayName: `claw ${install} GKE nodes`,
    project,
  }, onGcp);
  const nodeRoles = NODE_ROLES.map((role) => new gcp.projects.IAMMember(`nodes-${role.split('/')[1]!.replace(/\./g, '-')}`, {
    project,
    role,
    member: pulumi.interpolate`serviceAccount:${nodes.email}`,
  }, onGcp));

  const cluster = new GkeCluster(base, {
    provider,
    project,
    region,
    install,
    networkId: network.networkId,
    subnetworkId: network.subnetworkId,
    secretsKeyId: keys.keys['gke-secrets'].id,
    nodeServiceAccount: nodes.email,
    authorizedNetworks: cfg.gcp.authorizedNetworks?.map((cidrBlock, i) => ({ cidrBlock, displayName: `claw-yaml-${i}` })),
  }, { dependsOn: [gkeAgentGrant, ...nodeRoles] });

  // Workload Identity bindings need the cluster's pool to exist: wait on the cluster.
  const identities = new ComponentIdentities('runtime', {
    provider,
    project,
    install,
    workloadPool: cluster.clusterName.apply(() => cluster.workloadPool),
  });

  // OpenBao's seal: use of the unseal key (and reading its metadata), by OpenBao's identity only.
  const unsealKey = keys.keys['openbao-unseal'];
  const unsealGrants = [
    ['openbao-unseal-use', 'roles/cloudkms.cryptoKeyEncrypterDecrypter'],
    ['openbao-unseal-viewer', 'roles/cloudkms.viewer'],
  ].map(([name, role]) => new gcp.kms.CryptoKeyIAMMember(name!, {
    cryptoKeyId: unsealKey.id,
    role: role!,
    member: pulumi.interpolate`serviceAccount:${identities.emails.openbao}`,
  }, onGcp));

  const db = new MetadataDb(`${base}-db`, {
    provider,
    project,
    region,
    networkId: network.networkId,
    privateServicesConnection: network.privateServicesConnection,
    kmsKeyId: keys.keys['metadata-db'].id,
  });

  const tenants = cfg.tenants.map(
    (tenant) =>
      new GcpTenant(tenant.id, {
        install,
        project,
        region,
        tenant,
        tenantKeyRingId: keys.tenantKeyRingId,
        impersonators: { worker: identities.emails.worker, gateway: identities.emails.gateway, codecServer: identities.emails.codecServer },
        provider,
      }),
  );

  // ------------------------------------------------------------- Kubernetes
  // In-cluster objects wait for both node pools (the Helm charts need nodes to become ready).
  const k8sProvider = new k8s.Provider('gke', { kubeconfig: cluster.kubeconfig, enableServerSideApply: true }, { dependsOn: cluster.pools });
  const { temporal, runtime } = kubernetesLayer({
    config: cfg,
    provider: k8sProvider,
    sandboxHandler: 'gvisor',
    temporalPostgres: { host: db.host, port: 5432, user: DB_USERS.temporal, password: db.passwords.temporal, database: DATABASES.temporal, visibilityDatabase: DATABASES.temporalVisibility, tls: true },
    openbao: {
      seal: { type: 'gcpckms', project, region, keyRing: keys.keyRingName, cryptoKey: unsealKey.name },
      serviceAccountAnnotations: { [WORKLOAD_IDENTITY_ANNOTATION]: identities.emails.openbao },
      opts: { dependsOn: unsealGrants },
    },
    runtime: {
      database: { host: db.host, port: 5432, name: DATABASES.runtime, user: DB_USERS.runtime, password: db.passwords.runtime, tls: { mode: 'verify-ca', caPem: db.serverCaPem } },
      tenants: tenants.map((t) => ({
        id: t.tenantId,
        keyRef: t.key.keyRef,
        bucket: t.storage.bucket,
        prefix: t.storage.prefix,
        dataset: t.lake.datasetRef,
        serviceAccounts: t.identities.emails,
        traceReader: t.identities.traceReaderEmail,
      })),
      serviceAccountAnnotations: {
        worker: { [WORKLOAD_IDENTITY_ANNOTATION]: identities.emails.worker },
        gateway: { [WORKLOAD_IDENTITY_ANNOTATION]: identities.emails.gateway },
        codecServer: { [WORKLOAD_IDENTITY_ANNOTATION]: identities.emails.codecServer },
      },
      serviceAnnotations: { gateway: NEG_ANNOTATION, codecServer: NEG_ANNOTATION },
    },
  });
  const ingress = new GatewayIngress(`${base}-gateway`, {
    provider,
    k8sProvider,
    domain,
    namespace: runtime.namespace,
    gatewayService: runtime.gatewayService,
    codecServerService: runtime.codecServerService,
  });

  return {
    gatewayUrl: ingress.gatewayUrl,
    codecServerUrl: ingress.codecServerUrl,
    ingressIp: ingress.ipAddress,
    temporalAddress: temporal.address,
    runtimeNamespace: runtime.namespace,
    kubeconfig: cluster.kubeconfig,
    clusterName: cluster.clusterName,
    tenants: Object.fromEntries(
      tenants.map((t) => [
        t.tenantId,
        {
          key: t.key.keyRef,
          managedKey: t.key.managed,
          bucket: t.storage.bucket,
          prefix: t.storage.prefix ?? '',
          managedBucket: t.storage.managed,
          dataset: t.lake.datasetRef,
          serviceAccounts: t.identities.emails,
          traceReader: t.identities.traceReaderEmail,
          ...(t.storage.requiredBindings.length ? { requiredBindings: t.storage.requiredBindings } : {}),
        },
      ]),
    ),
  };
}
