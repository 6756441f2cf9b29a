/**
 * The public edge: an internet-facing ALB in the public subnets that terminates TLS
 * (TLS 1.2+ policy, HTTP redirected to HTTPS, invalid headers dropped) and forwards to the
 * gateway and codec-server NodePorts on the system nodes. Nothing else is exposed.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { installTags, physicalName } from '../../contracts/aws.js';

export const NODE_PORTS = { gateway: 30080, codecServer: 30081 } as const;
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
export const CODEC_PATH = '/codec';

export interface GatewayIngressArgs {
  install: string;
  vpcId: pulumi.Input<string>;
  vpcCidr: string;
  publicSubnetIds: pulumi.Input<string>[];
  /** Security group of the nodes the NodePorts are on. */
  nodeSecurityGroupId: pulumi.Input<string>;
  /** Auto Scaling group of the system node group. */
  systemAutoscalingGroup: pulumi.Input<string>;
  certificateArn?: string;
  domain?: string;
  provider: aws.Provider;
}

export class GatewayIngress extends pulumi.ComponentResource {
  readonly url: pulumi.Output<string>;
  readonly codecServerUrl: pulumi.Output<string>;
  readonly dnsName: pulumi.Output<string>;
  /** When we requested the certificate: the DNS records the customer must create to validate it. */
  readonly certificateValidation?: pulumi.Output<{ name: string; type: string; value: string }[]>;

  constructor(name: string, args: GatewayIngressArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('claw:aws:GatewayIngress', name, {}, opts);
    if (!args.certificateArn && !args.domain) {
      throw new pulumi.InputPropertyError({ propertyPath: 'aws.certificateArn', reason: 'the gateway serves TLS only: set aws.certificateArn (an ACM certificate) or aws.domain (we request one)' });
    }
    const child = { parent: this, provider: args.provider };
    const tags = installTags(args.install);

    let certificateArn: pulumi.Input<string>;
    if (args.certificateArn) {
      certificateArn = args.certificateArn;
    } else {
      const cert = new aws.acm.Certificate(`${name}-cert`, { domainName: args.domain!, validationMethod: 'DNS', keyAlgorithm: 'EC_prime256v1', tags }, child);
      certificateArn = cert.arn;
      this.certificateValidation = cert.domainValidationOptions.apply((options) =>
        options.map((o) => ({ name: o.resourceRecordName!, type: o.resourceRecordType!, value: o.resourceRecordValue! })),
      );
    }

    const albSg = new aws.ec2.SecurityGroup(
      `${name}-alb`,
      {
        vpcId: args.vpcId,
        description: 'Claw gateway ALB: HTTPS (and HTTP for the redirect) in; NodePorts out',
        ingress: [
          { protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'], ipv6CidrBlocks: ['::/0'], description: 'HTTPS' },
          { protocol: 'tcp', fromPort: 80, toPort: 80, cidrBlocks: ['0.0.0.0/0'], ipv6CidrBlocks: ['::/0'], description: 'HTTP, redirected to HTTPS' },
        ],
        egress: [{ protocol: 'tcp', fromPort: NODE_PORTS.gateway, toPort: NODE_PORTS.codecServer, cidrBlocks: [args.vpcCidr], description: 'gateway and codec-server NodePorts' }],
        tags,
      },
      child,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-to-nodes`,
      { securityGroupId: args.nodeSecurityGroupId, referencedSecurityGroupId: albSg.id, ipProtocol: 'tcp', fromPort: NODE_PORTS.gateway, toPort: NODE_PORTS.codecServer, description: 'ALB to gateway/codec NodePorts', tags },
      child,
    );

    const alb = new aws.lb.LoadBalancer(
      `${name}-alb`,
      {
        name: physicalName(['claw', args.install], 32),
        loadBalancerType: 'application',
        internal: false,
        subnets: args.publicSubnetIds,
        securityGroups: [albSg.id],
        dropInvalidHeaderFields: true,
        desyncMitigationMode: 'strictest',
        enableDeletionProtection: true,
        idleTimeout: 60,
        tags,
      },
      child,
    );
    const targetGroup = (component: 'gateway' | 'codecServer') =>
      new aws.lb.TargetGroup(
        `${name}-${component === 'gateway' ? 'gateway' : 'codec'}`,
        {
          name: physicalName(['claw', args.install, component === 'gateway' ? 'gw' : 'codec'], 32),
          port: NODE_PORTS[component],
          protocol: 'HTTP',
          targetType: 'instance',
          vpcId: args.vpcId,
          deregistrationDelay: 30,
          healthCheck: { path: '/healthz', protocol: 'HTTP', matcher: '200', interval: 15, healthyThreshold: 2, unhealthyThreshold: 3 },
          tags,
        },
        child,
      );
    const gatewayTg = targetGroup('gateway');
    const codecTg = targetGroup('codecServer');
    for (const [suffix, tg] of [['gateway', gatewayTg], ['codec', codecTg]] as const) {
      new aws.autoscaling.Attachment(`${name}-${suffix}`, { autoscalingGroupName: args.systemAutoscalingGroup, lbTargetGroupArn: tg.arn }, child);
    }

    const https = new aws.lb.Listener(
      `${name}-https`,
      { loadBalancerArn: alb.arn, port: 443, protocol: 'HTTPS', sslPolicy: TLS_POLICY, certificateArn, defaultActions: [{ type: 'forward', targetGroupArn: gatewayTg.arn }], tags },
      child,
    );
    new aws.lb.Listener(
      `${name}-http`,
      { loadBalancerArn: alb.arn, port: 80, protocol: 'HTTP', defaultActions: [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } }], tags },
      child,
    );
    new aws.lb.ListenerRule(
      `${name}-codec`,
      { listenerArn: https.arn, priority: 10, conditions: [{ pathPattern: { values: [CODEC_PATH, `${CODEC_PATH}/*`] } }], actions: [{ type: 'forward', targetGroupArn: codecTg.arn }], tags },
      child,
    );

    this.dnsName = alb.dnsName;
    const host = args.domain ? pulumi.output(args.domain) : alb.dnsName;
    this.url = pulumi.interpolate`https://${host}`;
    this.codecServerUrl = pulumi.interpolate`https://${host}${CODEC_PATH}`;
    this.registerOutputs({ url: this.url, codecServerUrl: this.codecServerUrl });
  }
}
