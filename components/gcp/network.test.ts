import { beforeEach, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { installRecorder, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const gcp = await import('@pulumi/gcp');
const { Network } = await import('./network.js');
const provider = () => new gcp.Provider('gcp', { project: 'acme-claw-prod', region: 'europe-west1' });

describe('Network', () => {
  beforeEach(() => recorder.reset());

  it('declares a custom-mode VPC, a subnet with Private Google Access and GKE ranges, Cloud NAT and private services peering', async () => {
    new Network('claw', { provider: provider(), region: 'europe-west1' });
    await settle(recorder);
    expect(recorder.get('gcp:compute/network:Network', 'claw-vpc').inputs.autoCreateSubnetworks).toBe(false);
    const subnet = recorder.get('gcp:compute/subnetwork:Subnetwork', 'claw-nodes').inputs;
    expect(subnet).toMatchObject({ privateIpGoogleAccess: true, region: 'europe-west1', ipCidrRange: '10.50.0.0/20' });
    expect(subnet.secondaryIpRanges.map((r: any) => r.rangeName)).toEqual(['pods', 'services']);
    expect(recorder.get('gcp:compute/routerNat:RouterNat', 'claw-nat').inputs).toMatchObject({ router: 'claw-router', sourceSubnetworkIpRangesToNat: 'ALL_SUBNETWORKS_ALL_IP_RANGES' });
    expect(recorder.get('gcp:compute/globalAddress:GlobalAddress', 'claw-private-services').inputs).toMatchObject({ purpose: 'VPC_PEERING', addressType: 'INTERNAL' });
    expect(recorder.get('gcp:servicenetworking/connection:Connection', 'claw-private-services').inputs.service).toBe('servicenetworking.googleapis.com');
    // No firewall rule opens anything: GCP's implied deny-ingress stands.
    expect(recorder.ofType('gcp:compute/firewall:Firewall')).toEqual([]);
    for (const r of recorder.resources.filter((r) => r.type.startsWith('gcp:'))) expect(r.provider).toMatch(/pulumi:providers:gcp::gcp::/);
  });

  it('rejects a malformed CIDR', () => {
    expect(() => new Network('x', { provider: provider(), region: 'europe-west1', podsCidr: '10.52.0.0' })).toThrow(pulumi.InputPropertyError);
  });
});
