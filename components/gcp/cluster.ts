/**
 * GKE for an install: a private, VPC-native regional cluster with Workload Identity,
 * Dataplane V2 (enforces NetworkPolicy), Shielded nodes and application-layer secrets
 * encryption under a platform KMS key; a system pool for the platform and a sandbox pool
 * running GKE Sandbox (gVisor) that carries the `claw.dev/sandbox=gvisor:NoSchedule`
 * taint, so only pods that tolerate it (sandbox pods) are scheduled there.
 */
import * as pulumi from '@pulumi/pulumi';
import * as gcp from '@pulumi/gcp';
import { POOL_LABEL, POOLS, SANDBOX_TAINT } from '../../contracts/kubernetes.js';
import { PODS_RANGE, SERVICES_RANGE } from './network.js';

export interface PoolSize {
  machineType?: string;
  min?: number;
  max?: number;
}

export interface GkeClusterArgs {
  provider: gcp.Provider;
  project: string;
  region: string;
  /** The install's name (claw.yaml `name`) for the `claw-install` label; default: the component name. */
  install?: string;
  networkId: pulumi.Input<string>;
  subnetworkId: pulumi.Input<string>;
  /** CryptoKey that encrypts Kubernetes Secrets in etcd. */
  secretsKeyId: pulumi.Input<string>;
  /** The node service account (logging/metrics only). */
  nodeServiceAccount: pulumi.Input<string>;
  systemPool?: PoolSize;
  sandboxPool?: PoolSize;
  /** CIDRs allowed to reach the control plane. Default: none beyond Google's own. */
  authorizedNetworks?: { cidrBlock: string; displayName: string }[];
  masterCidr?: string;
}

const GKE_TAINT_EFFECT = { NoSchedule: 'NO_SCHEDULE', PreferNoSchedule: 'PREFER_NO_SCHEDULE', NoExecute: 'NO_EXECUTE' } as const;

/** The sandbox pool's taint in GKE's spelling. */
export function sandboxTaint() {
  return { key: SANDBOX_TAINT.key, value: SANDBOX_TAINT.value, effect: GKE_TAINT_EFFECT[SANDBOX_TAINT.effect] };
}

export function nodeConfig(pool: 'system' | 'sandbox', args: GkeClusterArgs, size: PoolSize) {
  return {
    machineType: size.machineType ?? (pool === 'system' ? 'e2-standard-4' : 'n2-standard-4'),
    serviceAccount: args.nodeServiceAccount,
    oauthScopes: ['https://www.googleapis.com/auth/cloud-platform'],
    labels: { [POOL_LABEL]: POOLS[pool] },
    workloadMetadataConfig: { mode: 'GKE_METADATA' },
    shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
    diskType: 'pd-balanced',
    ...(pool === 'sandbox' ? { sandboxConfig: { type: 'GVISOR' }, taints: [sandboxTaint()] } : {}),
  };
}

export function validateClusterArgs(args: GkeClusterArgs): void {
  if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a gcp provider is required' });
  for (const [field, size] of [['systemPool', args.systemPool], ['sandboxPool', args.sandboxPool]] as const) {
    if (size && ((size.min ?? 1) < 0 || (size.max ?? 1) < (size.min ?? 1))) {
      throw new pulumi.InputPropertyError({ propertyPath: field, reason: 'a pool needs 0 <= min <= max nodes per zone' });
    }
  }
}

/** kubeconfig for the cluster, authenticating with gke-gcloud-auth-plugin. */
export function gkeKubeconfig(name: string, endpoint: string, caData: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: `https://${endpoint}`, 'certificate-authority-data': caData } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    users: [{ name, user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'gke-gcloud-auth-plugin', provideClusterInfo: true, interactiveMode: 'Never' } } }],
  });
}

export class GkeCluster extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
  readonly workloadPool: string;
  /** Resolves once both pools exist (in-cluster resources wait for nodes). */
  readonly pools: gcp.container.NodePool[];

  constructor(name: string, args: GkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:gcp:GkeCluster', name, {}, opts);
    validateClusterArgs(args);
    const child = { parent: this, provider: args.provider };
    this.workloadPool = `${args.project}.svc.id.goog`;

    const cluster = new gcp.container.Cluster(`${name}`, {
      name,
      location: args.region,
      network: args.networkId,
      subnetwork: args.subnetworkId,
      networkingMode: 'VPC_NATIVE',
      ipAllocationPolicy: { clusterSecondaryRangeName: PODS_RANGE, servicesSecondaryRangeName: SERVICES_RANGE },
      removeDefaultNodePool: true,
      initialNodeCount: 1,
      releaseChannel: { channel: 'REGULAR' },
      workloadIdentityConfig: { workloadPool: this.workloadPool },
      datapathProvider: 'ADVANCED_DATAPATH',
      privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false, masterIpv4CidrBlock: args.masterCidr ?? '172.16.0.0/28' },
      masterAuthorizedNetworksConfig: { cidrBlocks: args.authorizedNetworks ?? [] },
      databaseEncryption: { state: 'ENCRYPTED', keyName: args.secretsKeyId },
      enableShieldedNodes: true,
      enableLegacyAbac: false,
      binaryAuthorization: { evaluationMode: 'PROJECT_SINGLETON_POLICY_ENFORCE' },
      deletionProtection: true,
      resourceLabels: { 'claw-install': args.install ?? name },
    }, child);

    const pool = (which: 'system' | 'sandbox', size: PoolSize) =>
      new gcp.container.NodePool(`${name}-${which}`, {
        name: which,
        cluster: cluster.id,
        location: args.region,
        autoscaling: { minNodeCount: size.min ?? 1, maxNodeCount: size.max ?? (which === 'system' ? 3 : 5) },
        management: { autoRepair: true, autoUpgrade: true },
        nodeConfig: nodeConfig(which, args, size),
      }, child);
    this.pools = [pool('system', args.systemPool ?? {}), pool('sandbox', args.sandboxPool ?? {})];

    this.clusterName = cluster.name;
    this.kubeconfig = pulumi.secret(pulumi.all([cluster.name, cluster.endpoint, cluster.masterAuth]).apply(([n, endpoint, auth]) =>
      gkeKubeconfig(n, endpoint, auth.clusterCaCertificate ?? '')));
    this.registerOutputs({ clusterName: this.clusterName, kubeconfig: this.kubeconfig });
  }
}
