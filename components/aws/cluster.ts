/**
 * EKS with two managed node groups (DESIGN.md invariant 4):
 * - system: the platform (Temporal, OpenBao, the runtime). Untainted.
 * - sandbox: tainted `claw.dev/sandbox=gvisor:NoSchedule`; its launch template's user data
 *   installs a pinned gVisor (`versions.gvisor` in claw.yaml), checks the release's SHA-512,
 *   and registers `runsc` with containerd. Only pods that tolerate the taint land there
 *   (the `gvisor` RuntimeClass in components/k8s carries that toleration).
 *
 * Both pools: IMDSv2 only with a hop limit of 1 (pods cannot reach the node's credentials),
 * EBS volumes encrypted with the platform key. Kubernetes Secrets are envelope-encrypted
 * with the platform key. Access entries (API mode) and the Pod Identity agent are on.
 */
import * as aws from '@pulumi/aws';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { POOLS, POOL_LABEL, SANDBOX_TAINT, installTags, physicalName } from '../../contracts/aws.js';

export const EKS_VERSION = '1.32';
const GVISOR_RELEASES = 'https://storage.googleapis.com/gvisor/releases/release';

/** EKS spells taint effects in upper snake case. */
export const EKS_SANDBOX_TAINT = { key: SANDBOX_TAINT.key, value: SANDBOX_TAINT.value, effect: 'NO_SCHEDULE' } as const;

/**
 * User data for sandbox nodes (AL2023, nodeadm): a NodeConfig part that adds the `runsc`
 * runtime to containerd's config, and a script part that installs the pinned gVisor
 * binaries after verifying them against the release's published SHA-512 sums. nodeadm
 * applies the NodeConfig before containerd starts; the script runs before the kubelet
 * registers the node, so no sandbox pod can be scheduled on a node without runsc.
 */
export function gvisorUserData(version: string): string {
  if (!/^\d{8}(\.\d+)?$/.test(version)) {
    throw new pulumi.InputPropertyError({ propertyPath: 'versions.gvisor', reason: `'${version}' is not a gVisor release (dated, e.g. 20250929.0)` });
  }
  return [
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="CLAWBOUNDARY"',
    '',
    '--CLAWBOUNDARY',
    'Content-Type: application/node.eks.aws',
    '',
    'apiVersion: node.eks.aws/v1alpha1',
    'kind: NodeConfig',
    'spec:',
    '  containerd:',
    '    config: |',
    '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]',
    '        runtime_type = "io.containerd.runsc.v1"',
    '',
    '--CLAWBOUNDARY',
    'Content-Type: text/x-shellscript; charset="us-ascii"',
    '',
    '#!/bin/bash',
    'set -euo pipefail',
    `GVISOR_VERSION="${version}"`,
    'ARCH="$(uname -m)"',
    `URL="${GVISOR_RELEASES}/\${GVISOR_VERSION}/\${ARCH}"`,
    'WORK="$(mktemp -d)"',
    'cd "$WORK"',
    'for bin in runsc containerd-shim-runsc-v1; do',
    '  curl --fail --silent --show-error --location --retry 5 --proto =https -O "$URL/$bin" -O "$URL/$bin.sha512"',
    '  sha512sum --check --strict "$bin.sha512"',
    '  install -m 0755 -o root -g root "$bin" "/usr/local/bin/$bin"',
    'done',
    '/usr/local/bin/runsc --version | grep -q "$GVISOR_VERSION" || { echo "runsc is not release $GVISOR_VERSION" >&2; exit 1; }',
    'rm -rf "$WORK"',
    '',
    '--CLAWBOUNDARY--',
    '',
  ].join('\n');
}

/** The VPC CNI add-on's configuration: NetworkPolicy enforcement on (the network policy agent). */
export const VPC_CNI_CONFIGURATION = { enableNetworkPolicy: 'true' } as const;

export interface ClusterArgs {
  install: string;
  region: string;
  vpcId: pulumi.Input<string>;
  privateSubnetIds: pulumi.Input<string>[];
  platformKeyArn: pulumi.Input<string>;
  clusterRole: aws.iam.Role;
  gvisorVersion: string;
  /**
   * CIDRs allowed to reach the API's public endpoint (claw.yaml `aws.authorizedNetworks`).
   * None: no public endpoint at all; private access is always on.
   */
  publicAccessCidrs?: string[];
  system?: { instanceType?: string; min?: number; max?: number };
  sandbox?: { instanceType?: string; min?: number; max?: number };
  provider: aws.Provider;
}

export class Cluster extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  readonly systemNodeGroup: aws.eks.NodeGroup;
  readonly sandboxNodeGroup: aws.eks.NodeGroup;
  readonly kubeconfig: pulumi.Output<string>;
  readonly k8sProvider: k8s.Provider;

  constructor(name: string, args: ClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('claw:aws:Cluster', name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const tags = installTags(args.install);
    const userData = gvisorUserData(args.gvisorVersion);

    const cluster = new aws.eks.Cluster(
      `${name}-eks`,
      {
        name: physicalName(['claw', args.install], 100),
        version: EKS_VERSION,
        roleArn: args.clusterRole.arn,
        vpcConfig: {
          subnetIds: args.privateSubnetIds,
          endpointPrivateAccess: true,
          ...(args.publicAccessCidrs?.length
            ? { endpointPublicAccess: true, publicAccessCidrs: args.publicAccessCidrs }
            : { endpointPublicAccess: false }),
        },
        encryptionConfig: { provider: { keyArn: args.platformKeyArn }, resources: ['secrets'] },
        accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: true },
        enabledClusterLogTypes: ['api', 'audit', 'authenticator'],
        tags,
      },
      child,
    );
    this.name = cluster.name;
    this.arn = cluster.arn;
    this.securityGroupId = cluster.vpcConfig.apply((v) => v.clusterSecurityGroupId!);
    new aws.eks.Addon(`${name}-pod-identity-agent`, { clusterName: cluster.name, addonName: 'eks-pod-identity-agent', tags }, child);
    // The VPC CNI with its network policy agent: without it EKS accepts NetworkPolicies and
    // enforces none (the sandbox's default-deny and each tool call's egress rule included).
    new aws.eks.Addon(`${name}-vpc-cni`, {
      clusterName: cluster.name,
      addonName: 'vpc-cni',
      configurationValues: JSON.stringify(VPC_CNI_CONFIGURATION),
      resolveConflictsOnCreate: 'OVERWRITE',
      resolveConflictsOnUpdate: 'OVERWRITE',
      tags,
    }, child);

    const nodeRole = new aws.iam.Role(
      `${name}-node`,
      {
        name: physicalName(['claw', args.install, 'node'], 64),
        assumeRolePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
        tags,
      },
      child,
    );
    const attachments = ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly'].map(
      (policy) => new aws.iam.RolePolicyAttachment(`${name}-node-${policy}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${policy}` }, child),
    );

    const launchTemplate = (pool: string, extra: { userData?: string }) =>
      new aws.ec2.LaunchTemplate(
        `${name}-${pool}`,
        {
          namePrefix: `claw-${args.install}-${pool}-`,
          description: `Claw ${args.install}: ${pool} nodes`,
          updateDefaultVersion: true,
          // IMDSv2 only, one hop: containers cannot reach the node role's credentials.
          metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 },
          blockDeviceMappings: [
            { deviceName: '/dev/xvda', ebs: { volumeSize: 80, volumeType: 'gp3', encrypted: 'true', kmsKeyId: args.platformKeyArn, deleteOnTermination: 'true' } },
          ],
          userData: extra.userData ? Buffer.from(extra.userData).toString('base64') : undefined,
          tagSpecifications: [{ resourceType: 'instance', tags: { ...tags, Name: `claw-${args.install}-${pool}` } }],
          tags,
        },
        child,
      );
    const nodeGroup = (pool: 'system' | 'sandbox', lt: aws.ec2.LaunchTemplate, sizing: ClusterArgs['system'], defaults: { instanceType: string; min: number; max: number }, taints?: typeof EKS_SANDBOX_TAINT[]) =>
      new aws.eks.NodeGroup(
        `${name}-${pool}`,
        {
          clusterName: cluster.name,
          nodeGroupNamePrefix: `claw-${pool}-`,
          nodeRoleArn: nodeRole.arn,
          subnetIds: args.privateSubnetIds,
          amiType: 'AL2023_x86_64_STANDARD',
          capacityType: 'ON_DEMAND',
          instanceTypes: [sizing?.instanceType ?? defaults.instanceType],
          scalingConfig: { minSize: sizing?.min ?? defaults.min, desiredSize: sizing?.min ?? defaults.min, maxSize: sizing?.max ?? defaults.max },
          updateConfig: { maxUnavailable: 1 },
          launchTemplate: { id: lt.id, version: lt.latestVersion.apply(String) },
          labels: { [POOL_LABEL]: POOLS[pool] },
          taints: taints ? [...taints] : undefined,
          tags,
        },
        { ...child, dependsOn: attachments },
      );
    this.systemNodeGroup = nodeGroup('system', launchTemplate('system', {}), args.system, { instanceType: 'm6i.large', min: 2, max: 6 });
    this.sandboxNodeGroup = nodeGroup('sandbox', launchTemplate('sandbox', { userData }), args.sandbox, { instanceType: 'm6i.xlarge', min: 1, max: 10 }, [EKS_SANDBOX_TAINT]);

    this.kubeconfig = pulumi.secret(
      pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority]).apply(([clusterName, endpoint, ca]) =>
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: clusterName, cluster: { server: endpoint, 'certificate-authority-data': ca.data } }],
          contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
          'current-context': clusterName,
          users: [
            {
              name: clusterName,
              user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'aws', args: ['eks', 'get-token', '--cluster-name', clusterName, '--region', args.region, '--output', 'json'] } },
            },
          ],
        }),
      ),
    );
    this.k8sProvider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig, enableServerSideApply: true }, { parent: this, dependsOn: [this.systemNodeGroup] });
    this.registerOutputs({ name: this.name, arn: this.arn });
  }
}

export function clusterRole(name: string, install: string, opts: pulumi.CustomResourceOptions): aws.iam.Role {
  const role = new aws.iam.Role(
    name,
    {
      name: physicalName(['claw', install, 'cluster'], 64),
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
      }),
      tags: installTags(install),
    },
    opts,
  );
  new aws.iam.RolePolicyAttachment(name, { role: role.name, policyArn: 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy' }, opts);
  return role;
}
