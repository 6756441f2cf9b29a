// Metadata DB, gateway ingress and the install-level keys.
import { beforeAll, describe, expect, it } from 'vitest';
import type * as Synth from '../../policies/infra/synth.js';

let synth: typeof Synth;
let db: typeof import('./metadata-db.js');
let ingress: typeof import('./ingress.js');
let keys: typeof import('./platform-keys.js');
let aws: typeof import('@pulumi/aws');
beforeAll(async () => {
  synth = await import('../../policies/infra/synth.js');
  await synth.synthesize(() => {});
  db = await import('./metadata-db.js');
  ingress = await import('./ingress.js');
  keys = await import('./platform-keys.js');
  aws = await import('@pulumi/aws');
});

const platformKeyArn = 'arn:aws:kms:eu-west-1:111122223333:key/99999999-2222-3333-4444-555555555555';

describe('MetadataDb', () => {
  it('RDS Postgres: encrypted with the platform key, private, Multi-AZ, backed up, TLS forced, password kept by RDS', async () => {
    const { resources } = await synth.synthesize(() => {
      const provider = new aws.Provider('aws', { region: 'eu-west-1' });
      new db.MetadataDb('metadata', { install: 'prod', vpcId: 'vpc-1', privateSubnetIds: ['subnet-a', 'subnet-b'], clientSecurityGroupId: 'sg-eks', platformKeyArn, provider });
    });
    const instance = synth.named(resources, 'aws:rds/instance:Instance', 'metadata-postgres').inputs;
    expect(instance).toMatchObject({
      engine: 'postgres', storageEncrypted: true, kmsKeyId: platformKeyArn, publiclyAccessible: false, multiAz: true,
      backupRetentionPeriod: 14, deletionProtection: true, skipFinalSnapshot: false, manageMasterUserPassword: true, masterUserSecretKmsKeyId: platformKeyArn,
    });
    expect(instance.password).toBeUndefined();
    const params = synth.named(resources, 'aws:rds/parameterGroup:ParameterGroup', 'metadata-params').inputs.parameters;
    expect(params).toContainEqual({ name: 'rds.force_ssl', value: '1' });
    const sg = synth.named(resources, 'aws:ec2/securityGroup:SecurityGroup', 'metadata-sg').inputs;
    expect(sg.ingress).toEqual([expect.objectContaining({ fromPort: 5432, toPort: 5432, securityGroups: ['sg-eks'] })]);
    expect(sg.ingress[0].cidrBlocks).toBeUndefined();
  });
});

describe('GatewayIngress', () => {
  const base = { install: 'prod', vpcId: 'vpc-1', vpcCidr: '10.40.0.0/16', publicSubnetIds: ['subnet-p1', 'subnet-p2'], nodeSecurityGroupId: 'sg-eks', systemAutoscalingGroup: 'asg-system' };

  it('HTTPS with a TLS 1.2+ policy and the given certificate; HTTP only redirects; /codec goes to the codec server', async () => {
    const cert = 'arn:aws:acm:eu-west-1:111122223333:certificate/abc';
    const { resources, outputs } = await synth.synthesize(() => {
      const provider = new aws.Provider('aws', { region: 'eu-west-1' });
      const i = new ingress.GatewayIngress('gateway', { ...base, certificateArn: cert, domain: 'claw.example.com', provider });
      return { url: i.url, codec: i.codecServerUrl };
    });
    const listeners = Object.fromEntries(synth.ofType(resources, 'aws:lb/listener:Listener').map((l) => [l.inputs.port, l.inputs]));
    expect(listeners[443]).toMatchObject({ protocol: 'HTTPS', sslPolicy: ingress.TLS_POLICY, certificateArn: cert });
    expect(listeners[80]!.defaultActions).toEqual([{ type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } }]);
    expect(synth.named(resources, 'aws:lb/listenerRule:ListenerRule', 'gateway-codec').inputs.conditions[0].pathPattern.values).toEqual(['/codec', '/codec/*']);
    expect(synth.named(resources, 'aws:lb/loadBalancer:LoadBalancer', 'gateway-alb').inputs).toMatchObject({ internal: false, dropInvalidHeaderFields: true, subnets: base.publicSubnetIds });
    expect(synth.ofType(resources, 'aws:acm/certificate:Certificate')).toEqual([]);
    expect(outputs).toEqual({ url: 'https://claw.example.com', codec: 'https://claw.example.com/codec' });
    const targetPorts = synth.ofType(resources, 'aws:lb/targetGroup:TargetGroup').map((t) => t.inputs.port).sort();
    expect(targetPorts).toEqual([ingress.NODE_PORTS.gateway, ingress.NODE_PORTS.codecServer]);
  });

  it('requests a DNS-validated certificate when only a domain is given, and refuses to run without TLS', async () => {
    const { resources } = await synth.synthesize(() => {
      const provider = new aws.Provider('aws', { region: 'eu-west-1' });
      new ingress.GatewayIngress('gateway', { ...base, domain: 'claw.example.com', provider });
    });
    expect(synth.named(resources, 'aws:acm/certificate:Certificate', 'gateway-cert').inputs).toMatchObject({ domainName: 'claw.example.com', validationMethod: 'DNS' });
    await expect(
      synth.synthesize(() => {
        const provider = new aws.Provider('aws', { region: 'eu-west-1' });
        new ingress.GatewayIngress('gateway', { ...base, provider });
      }),
    ).rejects.toThrow(/aws\.certificateArn/);
  });
});

describe('platform and unseal key policies', () => {
  it('name their users exactly; the platform key serves RDS/EBS/Secrets Manager only via those services', () => {
    const platform = keys.platformKeyPolicy({ partition: 'aws', accountId: '111122223333', region: 'eu-west-1', clusterRoleArn: 'arn:aws:iam::111122223333:role/claw-prod-cluster' });
    const viaServices = platform.Statement.find((s) => s.Sid === 'AccountUseViaServices')!;
    expect(viaServices.Condition!.StringEquals!['kms:ViaService']).toEqual(['rds.eu-west-1.amazonaws.com', 'secretsmanager.eu-west-1.amazonaws.com', 'ec2.eu-west-1.amazonaws.com']);
    const unseal = keys.unsealKeyPolicy('aws', '111122223333', 'arn:aws:iam::111122223333:role/claw/prod/runtime/claw-prod-openbao');
    expect(unseal.Statement.find((s) => s.Sid === 'OpenBaoAutoUnseal')).toMatchObject({ Principal: { AWS: 'arn:aws:iam::111122223333:role/claw/prod/runtime/claw-prod-openbao' }, Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'] });
    for (const s of [...platform.Statement, ...unseal.Statement]) {
      expect(JSON.stringify(s.Principal)).not.toContain('"*"');
      for (const a of [s.Action].flat()) expect(a).not.toMatch(/^\*$|^kms:\*$/);
    }
  });
});
