/**
 * The install's network: a custom-mode VPC with one regional subnet (secondary ranges for
 * GKE pods and services), Private Google Access so nodes without external IPs reach
 * Google APIs, Cloud NAT for egress to model providers and channels, and a private
 * services range peered for Cloud SQL's private IP.
 */
import * as pulumi from '@pulumi/pulumi';
import * as gcp from '@pulumi/gcp';

export interface NetworkArgs {
  provider: gcp.Provider;
  region: string;
  /** Node subnet. Default 10.50.0.0/20. */
  nodesCidr?: string;
  podsCidr?: string;
  servicesCidr?: string;
}

export const PODS_RANGE = 'pods';
export const SERVICES_RANGE = 'services';
const CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;

export function validateNetworkArgs(args: NetworkArgs): void {
  if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a gcp provider is required' });
  if (!args.region) throw new pulumi.InputPropertyError({ propertyPath: 'region', reason: 'the region of the subnet is required' });
  for (const field of ['nodesCidr', 'podsCidr', 'servicesCidr'] as const) {
    const value = args[field];
    if (value !== undefined && !CIDR.test(value)) throw new pulumi.InputPropertyError({ propertyPath: field, reason: `'${value}' is not an IPv4 CIDR like 10.50.0.0/20` });
  }
}

export class Network extends pulumi.ComponentResource {
  readonly networkId: pulumi.Output<string>;
  readonly subnetworkId: pulumi.Output<string>;
  /** Resolves once the private services peering (Cloud SQL private IP) exists. */
  readonly privateServicesConnection: gcp.servicenetworking.Connection;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:gcp:Network', name, {}, opts);
    validateNetworkArgs(args);
    const child = { parent: this, provider: args.provider };

    const vpc = new gcp.compute.Network(`${name}-vpc`, {
      name: `${name}-vpc`,
      autoCreateSubnetworks: false,
      routingMode: 'REGIONAL',
    }, child);

    const subnet = new gcp.compute.Subnetwork(`${name}-nodes`, {
      name: `${name}-nodes`,
      network: vpc.id,
      region: args.region,
      ipCidrRange: args.nodesCidr ?? '10.50.0.0/20',
      privateIpGoogleAccess: true,
      secondaryIpRanges: [
        { rangeName: PODS_RANGE, ipCidrRange: args.podsCidr ?? '10.52.0.0/14' },
        { rangeName: SERVICES_RANGE, ipCidrRange: args.servicesCidr ?? '10.56.0.0/20' },
      ],
      logConfig: { aggregationInterval: 'INTERVAL_5_SEC', flowSampling: 0.5, metadata: 'INCLUDE_ALL_METADATA' },
    }, child);

    const router = new gcp.compute.Router(`${name}-router`, { name: `${name}-router`, network: vpc.id, region: args.region }, child);
    new gcp.compute.RouterNat(`${name}-nat`, {
      name: `${name}-nat`,
      router: router.name,
      region: args.region,
      natIpAllocateOption: 'AUTO_ONLY',
      sourceSubnetworkIpRangesToNat: 'ALL_SUBNETWORKS_ALL_IP_RANGES',
      logConfig: { enable: true, filter: 'ERRORS_ONLY' },
    }, child);

    const servicesRange = new gcp.compute.GlobalAddress(`${name}-private-services`, {
      name: `${name}-private-services`,
      purpose: 'VPC_PEERING',
      addressType: 'INTERNAL',
      prefixLength: 20,
      network: vpc.id,
    }, child);
    this.privateServicesConnection = new gcp.servicenetworking.Connection(`${name}-private-services`, {
      network: vpc.id,
      service: 'servicenetworking.googleapis.com',
      reservedPeeringRanges: [servicesRange.name],
    }, child);

    this.networkId = vpc.id;
    this.subnetworkId = subnet.id;
    this.registerOutputs({ networkId: this.networkId, subnetworkId: this.subnetworkId });
  }
}
