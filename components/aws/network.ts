/**
 * The install's network: a VPC with one private and one public subnet per availability
 * zone, a NAT gateway per zone (no zone depends on another's NAT), and VPC endpoints so
 * S3, KMS and STS traffic never leaves the VPC. Nodes, the database and the endpoints live
 * in private subnets; only the ALB and the NAT gateways live in public ones.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { installTags } from '../../contracts/aws.js';

export interface SubnetPlan {
  private: string[];
  public: string[];
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/**
 * Carve the VPC: private subnets are 1/8 of the VPC each (room for pods: the VPC CNI gives
 * every pod a VPC address); public subnets are 1/64 each, taken from the last eighth.
 */
export function planSubnets(vpcCidr: string, zones: number): SubnetPlan {
  const [base, bitsText] = vpcCidr.split('/') as [string, string];
  const bits = Number(bitsText);
  if (zones < 1 || zones > 6) throw new pulumi.InputPropertyError({ propertyPath: 'aws.availabilityZones', reason: 'between 1 and 6 zones' });
  if (bits + 6 > 28) {
    throw new pulumi.InputPropertyError({ propertyPath: 'aws.vpcCidr', reason: `a /${bits} VPC is too small for /${bits + 6} public subnets (AWS minimum /28); use /22 or larger` });
  }
  const start = ipToInt(base);
  const size = 2 ** (32 - bits);
  if (start % size !== 0) throw new pulumi.InputPropertyError({ propertyPath: 'aws.vpcCidr', reason: `${vpcCidr} is not aligned: the base address must be a multiple of the block size` });
  const privateSize = size / 8;
  const publicSize = size / 64;
  return {
    private: Array.from({ length: zones }, (_, i) => `${intToIp(start + i * privateSize)}/${bits + 3}`),
    public: Array.from({ length: zones }, (_, i) => `${intToIp(start + 7 * privateSize + i * publicSize)}/${bits + 6}`),
  };
}

export interface NetworkArgs {
  install: string;
  region: string;
  vpcCidr: string;
  availabilityZones: number;
  provider: aws.Provider;
}

export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly vpcCidr: string;
  readonly privateSubnetIds: pulumi.Output<string>[];
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateRouteTableIds: pulumi.Output<string>[];

  constructor(name: string, args: NetworkArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('claw:aws:Network', name, {}, opts);
    const plan = planSubnets(args.vpcCidr, args.availabilityZones);
    const child = { parent: this, provider: args.provider };
    const tags = (suffix: string, extra: Record<string, string> = {}) => ({ ...installTags(args.install), Name: `claw-${args.install}-${suffix}`, ...extra });

    const zones = aws.getAvailabilityZonesOutput({ state: 'available', filters: [{ name: 'opt-in-status', values: ['opt-in-not-required'] }] }, child);
    const zone = (i: number) =>
      zones.names.apply((names) => {
        const picked = names[i];
        if (!picked) throw new Error(`${args.region} has ${names.length} available zones; claw.yaml aws.availabilityZones asks for ${args.availabilityZones}`);
        return picked;
      });

    this.vpcCidr = args.vpcCidr;
    const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: args.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tags('vpc') }, child);
    this.vpcId = vpc.id;
    // The default security group of a new VPC allows all traffic between members; empty it.
    new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, ingress: [], egress: [], tags: tags('default-closed') }, child);

    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags('igw') }, child);
    const publicRoutes = new aws.ec2.RouteTable(`${name}-public`, { vpcId: vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }], tags: tags('public') }, child);

    this.publicSubnetIds = [];
    this.privateSubnetIds = [];
    this.privateRouteTableIds = [];
    for (let i = 0; i < args.availabilityZones; i++) {
      const publicSubnet = new aws.ec2.Subnet(
        `${name}-public-${i}`,
        { vpcId: vpc.id, cidrBlock: plan.public[i]!, availabilityZone: zone(i), mapPublicIpOnLaunch: false, tags: tags(`public-${i}`, { 'kubernetes.io/role/elb': '1' }) },
        child,
      );
      new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: publicSubnet.id, routeTableId: publicRoutes.id }, child);
      const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: 'vpc', tags: tags(`nat-${i}`) }, child);
      const nat = new aws.ec2.NatGateway(`${name}-nat-${i}`, { allocationId: eip.id, subnetId: publicSubnet.id, connectivityType: 'public', tags: tags(`nat-${i}`) }, { ...child, dependsOn: [igw] });

      const privateSubnet = new aws.ec2.Subnet(
        `${name}-private-${i}`,
        { vpcId: vpc.id, cidrBlock: plan.private[i]!, availabilityZone: zone(i), mapPublicIpOnLaunch: false, tags: tags(`private-${i}`, { 'kubernetes.io/role/internal-elb': '1' }) },
        child,
      );
      const privateRoutes = new aws.ec2.RouteTable(`${name}-private-${i}`, { vpcId: vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }], tags: tags(`private-${i}`) }, child);
      new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: privateSubnet.id, routeTableId: privateRoutes.id }, child);
      this.publicSubnetIds.push(publicSubnet.id);
      this.privateSubnetIds.push(privateSubnet.id);
      this.privateRouteTableIds.push(privateRoutes.id);
    }

    // S3 is a gateway endpoint (route-table entries); KMS and STS are interface endpoints
    // with private DNS, so the SDKs' default endpoints resolve inside the VPC.
    new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      { vpcId: vpc.id, serviceName: `com.amazonaws.${args.region}.s3`, vpcEndpointType: 'Gateway', routeTableIds: this.privateRouteTableIds, tags: tags('s3') },
      child,
    );
    const endpointSg = new aws.ec2.SecurityGroup(
      `${name}-endpoints`,
      {
        vpcId: vpc.id,
        description: 'HTTPS from inside the VPC to the KMS and STS endpoints',
        ingress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: [args.vpcCidr], description: 'VPC' }],
        egress: [],
        tags: tags('endpoints'),
      },
      child,
    );
    for (const service of ['kms', 'sts'] as const) {
      new aws.ec2.VpcEndpoint(
        `${name}-${service}`,
        {
          vpcId: vpc.id,
          serviceName: `com.amazonaws.${args.region}.${service}`,
          vpcEndpointType: 'Interface',
          privateDnsEnabled: true,
          subnetIds: this.privateSubnetIds,
          securityGroupIds: [endpointSg.id],
          tags: tags(service),
        },
        child,
      );
    }
    this.registerOutputs({ vpcId: this.vpcId, privateSubnetIds: this.privateSubnetIds, publicSubnetIds: this.publicSubnetIds });
  }
}
