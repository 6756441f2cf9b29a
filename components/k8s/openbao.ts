/**
 * OpenBao (the secrets port's cloud adapter, DESIGN.md): the OpenBao Helm chart in HA
 * mode on integrated raft storage, auto-unsealed by the cloud KMS (awskms / gcpckms
 * seal), with Kubernetes auth for the runtime's service accounts set up by OpenBao's
 * declarative self-initialization (OpenBao >= 2.4), so no human ever holds a root token
 * or unseal keys for an install.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { OPENBAO_NAMESPACE, RUNTIME_NAMESPACE, SERVICE_ACCOUNTS } from '../../contracts/kubernetes.js';
import { podSecurityNamespace } from './namespace.js';
import { OPENBAO } from '../../contracts/wiring.js';

export const OPENBAO_CHART_REPO = 'https://openbao.github.io/openbao-helm';
/** Names the runtime logs in and stores under (contracts/wiring.ts OPENBAO). */
export const OPENBAO_AUTH_MOUNT = OPENBAO.authMount;
export const OPENBAO_AUTH_ROLE = OPENBAO.authRole;
/** KV v2 mount holding tenant secrets (values are envelope-encrypted by the runtime too). */
export const OPENBAO_KV_MOUNT = OPENBAO.kvMount;

export type SealConfig =
  | { type: 'awskms'; region: string; kmsKeyId: pulumi.Input<string> }
  | { type: 'gcpckms'; project: string; region: string; keyRing: pulumi.Input<string>; cryptoKey: pulumi.Input<string> };

export interface OpenBaoArgs {
  provider: k8s.Provider;
  chartVersion: string;
  seal: SealConfig;
  /** ServiceAccount annotations giving the server its cloud identity (GKE Workload Identity). */
  serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
  replicas?: number;
  runtimeNamespace?: string;
}

export function validateOpenBaoArgs(args: OpenBaoArgs): void {
  if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a Kubernetes provider is required' });
  if (!/^\d+\.\d+\.\d+/.test(args.chartVersion ?? '')) {
    throw new pulumi.InputPropertyError({ propertyPath: 'chartVersion', reason: 'pin the OpenBao chart version (versions.openbaoChart), e.g. 0.19.0' });
  }
  const seal = args.seal;
  if (!seal || (seal.type !== 'awskms' && seal.type !== 'gcpckms')) {
    throw new pulumi.InputPropertyError({ propertyPath: 'seal', reason: "auto-unseal needs a KMS seal: { type: 'awskms', ... } or { type: 'gcpckms', ... }" });
  }
  const replicas = args.replicas ?? 3;
  if (!Number.isInteger(replicas) || replicas < 3 || replicas % 2 === 0) {
    throw new pulumi.InputPropertyError({ propertyPath: 'replicas', reason: 'raft HA needs an odd number of replicas, at least 3' });
  }
}

const quote = (value: string) => JSON.stringify(value);

/** The seal stanza: the KMS key that wraps OpenBao's root key. */
export function sealStanza(seal: SealConfig): pulumi.Output<string> {
  if (seal.type === 'awskms') {
    return pulumi.interpolate`seal "awskms" {\n  region = ${quote(seal.region)}\n  kms_key_id = "${seal.kmsKeyId}"\n}\n`;
  }
  return pulumi.interpolate`seal "gcpckms" {\n  project = ${quote(seal.project)}\n  region = ${quote(seal.region)}\n  key_ring = "${seal.keyRing}"\n  crypto_key = "${seal.cryptoKey}"\n}\n`;
}

/** Policy the runtime's token carries: the tenant KV mount, nothing else. */
export function runtimePolicy(): string {
  return [
    `path "${OPENBAO_KV_MOUNT}/data/*" { capabilities = ["create", "read", "update", "delete"] }`,
    `path "${OPENBAO_KV_MOUNT}/metadata/*" { capabilities = ["list", "read", "delete"] }`,
  ].join('\n');
}

/**
 * Self-initialization requests: enable Kubernetes auth, a KV v2 mount, the runtime
 * policy, and a role bound to exactly the worker's and gateway's ServiceAccounts
 * (the codec-server never reads secrets).
 */
export function selfInitStanza(runtimeNamespace: string): string {
  const role = {
    bound_service_account_names: [SERVICE_ACCOUNTS.worker, SERVICE_ACCOUNTS.gateway],
    bound_service_account_namespaces: [runtimeNamespace],
    token_policies: [OPENBAO_AUTH_ROLE],
    token_ttl: '1h',
  };
  const hclValue = (v: unknown): string => (Array.isArray(v) ? `[${v.map((x) => quote(String(x))).join(', ')}]` : quote(String(v)));
  const data = (o: Record<string, unknown>) => `{ ${Object.entries(o).map(([k, v]) => `${k} = ${hclValue(v)}`).join(', ')} }`;
  const request = (id: string, path: string, body: Record<string, unknown>) =>
    `  request ${quote(id)} {\n    operation = "update"\n    path = ${quote(path)}\n    data = ${data(body)}\n  }\n`;
  return [
    'initialize "claw" {\n',
    request('enable-kubernetes-auth', `sys/auth/${OPENBAO_AUTH_MOUNT}`, { type: 'kubernetes' }),
    request('configure-kubernetes-auth', `auth/${OPENBAO_AUTH_MOUNT}/config`, { kubernetes_host: 'https://kubernetes.default.svc' }),
    request('enable-kv', `sys/mounts/${OPENBAO_KV_MOUNT}`, { type: 'kv-v2' }),
    request('runtime-policy', `sys/policies/acl/${OPENBAO_AUTH_ROLE}`, { policy: runtimePolicy() }),
    request('runtime-role', `auth/${OPENBAO_AUTH_MOUNT}/role/${OPENBAO_AUTH_ROLE}`, role),
    '}\n',
  ].join('');
}

/** The server's HCL config: raft storage with retry_join across replicas, KMS seal, self-init. */
export function serverConfig(args: OpenBaoArgs): pulumi.Output<string> {
  const replicas = args.replicas ?? 3;
  const joins = Array.from({ length: replicas }, (_, i) =>
    `  retry_join {\n    leader_api_addr = "http://openbao-${i}.openbao-internal:8200"\n  }\n`).join('');
  const head = [
    'ui = false\n',
    'listener "tcp" {\n  address = "[::]:8200"\n  cluster_address = "[::]:8201"\n  tls_disable = 1\n}\n',
    `storage "raft" {\n  path = "/openbao/data"\n${joins}}\n`,
    'service_registration "kubernetes" {}\n',
  ].join('');
  return pulumi.interpolate`${head}${sealStanza(args.seal)}${selfInitStanza(args.runtimeNamespace ?? RUNTIME_NAMESPACE)}`;
}

export function openbaoValues(args: OpenBaoArgs) {
  return {
    injector: { enabled: false },
    ui: { enabled: false },
    server: {
      ha: { enabled: true, replicas: args.replicas ?? 3, raft: { enabled: true, setNodeId: true, config: serverConfig(args) } },
      serviceAccount: { create: true, name: 'openbao', annotations: args.serviceAccountAnnotations ?? {} },
      dataStorage: { enabled: true, size: '10Gi' },
      auditStorage: { enabled: true, size: '10Gi' },
    },
  };
}

export class OpenBao extends pulumi.ComponentResource {
  readonly address: pulumi.Output<string>;
  readonly authMount = OPENBAO_AUTH_MOUNT;
  readonly authRole = OPENBAO_AUTH_ROLE;

  constructor(name: string, args: OpenBaoArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:k8s:OpenBao', name, {}, opts);
    validateOpenBaoArgs(args);
    const child = { parent: this, provider: args.provider };
    const ns = podSecurityNamespace(`${name}-ns`, OPENBAO_NAMESPACE, 'baseline', child);
    const release = new k8s.helm.v3.Release(`${name}-release`, {
      name: 'openbao',
      chart: 'openbao',
      version: args.chartVersion,
      repositoryOpts: { repo: OPENBAO_CHART_REPO },
      namespace: ns.metadata.name,
      values: openbaoValues(args),
      atomic: true,
      timeout: 900,
    }, child);
    this.address = pulumi.interpolate`http://${release.name}.${release.namespace}.svc.cluster.local:8200`;
    this.registerOutputs({ address: this.address });
  }
}
