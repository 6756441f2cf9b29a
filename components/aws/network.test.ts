import { beforeAll, describe, expect, it } from 'vitest';
import type * as NetworkModule from './network.js';
import type * as Synth from '../../policies/infra/synth.js';

let synth: typeof Synth;
let mod: typeof NetworkModule;
let aws: typeof import('@pulumi/aws');
beforeAll(async () => {
  synth = await import('../../policies/infra/synth.js');
  await synth.synthesize(() => {});
  mod = await import('./network.js');
  aws = await import('@pulumi/aws');
});

describe('planSubnets', () => {
  it('carves non-overlapping private /19s and public /22s out of a /16', () => {
    expect(mod.planSubnets('10.40.0.0/16', 3)).toEqual({
      private: ['10.40.0.0/19', '10.40.32.0/19', '10.40.64.0/19'],
      public: ['10.40.224.0/22', '10.40.228.0/22', '10.40.232.0/22'],
    });
  });

  it('refuses a VPC too small or misaligned, naming the field', () => {
    expect(() => mod.planSubnets('10.40.0.0/24', 3)).toThrow(/aws\.vpcCidr|too small/);
    expect(() => mod.planSubnets('10.40.1.0/16', 3)).toThrow(/not aligned/);
  });
});

function run(region: string, zones: number) {
  return synth.synthesize(() => {
    const provider = new aws.Provider('aws', { region });
    new mod.Network('net', { install: 'prod', region, vpcCidr: '10.40.0.0/16', availabilityZones: zones, provider });
  });
}

describe('Network', () => {
  it('one private and one public subnet per zone, each zone with its own NAT; zones come from the region, not from letters', async () => {
    // The mocked ap-northeast-1 has zones a, c, d (as the real one does).
    const { resources } = await run('ap-northeast-1', 3);
    const subnets = synth.ofType(resources, 'aws:ec2/subnet:Subnet');
    expect(subnets.filter((s) => s.name.includes('private')).map((s) => s.inputs.availabilityZone)).toEqual(['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d']);
    expect(subnets.every((s) => s.inputs.mapPublicIpOnLaunch === false)).toBe(true);
    expect(synth.ofType(resources, 'aws:ec2/natGateway:NatGateway')).toHaveLength(3);
    const privateTables = synth.ofType(resources, 'aws:ec2/routeTable:RouteTable').filter((t) => t.name.includes('private'));
    expect(privateTables.every((t) => t.inputs.routes[0].natGatewayId && !t.inputs.routes[0].gatewayId)).toBe(true);
    expect(synth.named(resources, 'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup', 'net-default-sg').inputs).toMatchObject({ ingress: [], egress: [] });
  });

  it('VPC endpoints: S3 as a gateway on the private route tables, KMS and STS as private-DNS interface endpoints', async () => {
    const { resources } = await run('eu-west-1', 2);
    const endpoints = Object.fromEntries(synth.ofType(resources, 'aws:ec2/vpcEndpoint:VpcEndpoint').map((e) => [e.inputs.serviceName, e.inputs]));
    expect(Object.keys(endpoints).sort()).toEqual(['com.amazonaws.eu-west-1.kms', 'com.amazonaws.eu-west-1.s3', 'com.amazonaws.eu-west-1.sts']);
    expect(endpoints['com.amazonaws.eu-west-1.s3']).toMatchObject({ vpcEndpointType: 'Gateway' });
    expect(endpoints['com.amazonaws.eu-west-1.s3']!.routeTableIds).toHaveLength(2);
    for (const s of ['kms', 'sts']) expect(endpoints[`com.amazonaws.eu-west-1.${s}`]).toMatchObject({ vpcEndpointType: 'Interface', privateDnsEnabled: true });
    const sg = synth.named(resources, 'aws:ec2/securityGroup:SecurityGroup', 'net-endpoints');
    expect(sg.inputs.ingress).toEqual([expect.objectContaining({ fromPort: 443, toPort: 443, cidrBlocks: ['10.40.0.0/16'] })]);
  });
});
