import { beforeAll, describe, expect, it } from 'vitest';
import type * as ClusterModule from './cluster.js';
import type * as Synth from '../../policies/infra/synth.js';

let synth: typeof Synth;
let mod: typeof ClusterModule;
let aws: typeof import('@pulumi/aws');
beforeAll(async () => {
  synth = await import('../../policies/infra/synth.js');
  await synth.synthesize(() => {});
  mod = await import('./cluster.js');
  aws = await import('@pulumi/aws');
});

const platformKeyArn = 'arn:aws:kms:eu-west-1:111122223333:key/99999999-2222-3333-4444-555555555555';

function run(gvisorVersion = '20250929.0', publicAccessCidrs?: string[]) {
  return synth.synthesize(() => {
    const provider = new aws.Provider('aws', { region: 'eu-west-1' });
    const role = mod.clusterRole('cluster-role', 'prod', { provider });
    new mod.Cluster('cluster', { install: 'prod', region: 'eu-west-1', vpcId: 'vpc-1', privateSubnetIds: ['subnet-a', 'subnet-b'], platformKeyArn, clusterRole: role, gvisorVersion, ...(publicAccessCidrs ? { publicAccessCidrs } : {}), provider });
  });
}

describe('gvisorUserData', () => {
  it('pins the release, verifies its SHA-512 and registers runsc with containerd', () => {
    const data = mod.gvisorUserData('20250929.0');
    expect(data).toContain('GVISOR_VERSION="20250929.0"');
    expect(data).toContain('https://storage.googleapis.com/gvisor/releases/release/${GVISOR_VERSION}/${ARCH}');
    expect(data).toContain('sha512sum --check --strict');
    expect(data).toContain('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]');
    expect(data).toContain('runtime_type = "io.containerd.runsc.v1"');
    expect(data).toMatch(/set -euo pipefail/);
    expect(data).not.toContain('latest');
  });

  it('refuses anything but a dated release', () => {
    expect(() => mod.gvisorUserData('latest')).toThrow(/versions\.gvisor|not a gVisor release/);
    expect(() => mod.gvisorUserData('2025-09-29; curl evil')).toThrow();
  });
});

describe('Cluster', () => {
  it('sandbox node group: tainted, labelled, launched with the gVisor user data; system group untainted', async () => {
    const { resources } = await run('20251006.1');
    const groups = Object.fromEntries(synth.ofType(resources, 'aws:eks/nodeGroup:NodeGroup').map((g) => [g.name, g.inputs]));
    expect(groups['cluster-sandbox']!.taints).toEqual([{ key: 'claw.dev/sandbox', value: 'gvisor', effect: 'NO_SCHEDULE' }]);
    expect(groups['cluster-sandbox']!.labels).toEqual({ 'claw.dev/pool': 'sandbox' });
    expect(groups['cluster-system']!.taints).toBeUndefined();
    expect(groups['cluster-system']!.labels).toEqual({ 'claw.dev/pool': 'system' });

    const templates = Object.fromEntries(synth.ofType(resources, 'aws:ec2/launchTemplate:LaunchTemplate').map((t) => [t.name, t.inputs]));
    const userData = Buffer.from(templates['cluster-sandbox']!.userData, 'base64').toString();
    expect(userData).toBe(mod.gvisorUserData('20251006.1'));
    expect(templates['cluster-system']!.userData).toBeUndefined();
    for (const t of Object.values(templates)) {
      expect(t.metadataOptions).toEqual({ httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 });
      expect(t.blockDeviceMappings[0].ebs).toMatchObject({ encrypted: 'true', kmsKeyId: platformKeyArn });
    }
  });

  it('EKS: a public endpoint only for the authorized networks given', async () => {
    const { resources } = await run(undefined, ['203.0.113.0/24']);
    const eks = synth.named(resources, 'aws:eks/cluster:Cluster', 'cluster-eks').inputs;
    expect(eks.vpcConfig).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ['203.0.113.0/24'] });
  });

  it('EKS: Secrets envelope-encrypted with the platform key, private endpoint on, access entries, Pod Identity agent', async () => {
    const { resources } = await run();
    const eks = synth.named(resources, 'aws:eks/cluster:Cluster', 'cluster-eks').inputs;
    expect(eks.encryptionConfig).toEqual({ provider: { keyArn: platformKeyArn }, resources: ['secrets'] });
    expect(eks.vpcConfig).toMatchObject({ endpointPrivateAccess: true, subnetIds: ['subnet-a', 'subnet-b'] });
    // No authorized networks: no public endpoint at all (it used to default to 0.0.0.0/0).
    expect(eks.vpcConfig.endpointPublicAccess).toBe(false);
    expect(eks.vpcConfig.publicAccessCidrs).toBeUndefined();
    expect(eks.accessConfig.authenticationMode).toBe('API');
    expect(eks.enabledClusterLogTypes).toContain('audit');
    expect(synth.named(resources, 'aws:eks/addon:Addon', 'cluster-pod-identity-agent').inputs.addonName).toBe('eks-pod-identity-agent');
    // NetworkPolicies are enforced only with the VPC CNI's network policy agent.
    const cni = synth.named(resources, 'aws:eks/addon:Addon', 'cluster-vpc-cni').inputs;
    expect(cni.addonName).toBe('vpc-cni');
    expect(JSON.parse(cni.configurationValues)).toEqual({ enableNetworkPolicy: 'true' });
    const nodePolicies = synth.ofType(resources, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment').map((a) => a.inputs.policyArn.split('/').pop()).sort();
    expect(nodePolicies).toEqual(['AmazonEC2ContainerRegistryReadOnly', 'AmazonEKSClusterPolicy', 'AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy']);
  });
});
