/**
 * The published AWS installer policy covers the stack: the aws stack is synthesized (Pulumi
 * mocks, policies/infra/synth.ts) and, for every resource it declares, the calls the AWS
 * provider makes to create it must be allowed by `claw installer-policy --target aws` on that
 * resource's ARN. A resource type with no entry in CREATE_CALLS fails the test, so a new
 * component cannot ship without its permission; a role path or name that leaves the
 * policy's `claw-*` scope fails it too.
 *
 * What this is not: IAM itself. Conditions, permission boundaries and SCPs are not evaluated,
 * and the provider's read/update/delete calls are not listed here (preflight's simulation
 * checks the published actions against the caller's real policies).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../test/fixtures/claw-cli.js';
import { synthesize, type RecordedResource } from '../../policies/infra/synth.js';
import { parseConfig } from '../../core/config/load.js';
import { awsConfig, awsConfigYaml } from '../../stacks/aws.fixture.js';
import { AWS_INSTALLER_POLICY, awsInstallerPolicy } from './installer-policy.js';

const awsStack = await import('../../stacks/aws.js');

/** The calls the AWS provider makes to create each type, and on which ARN when the policy scopes it. */
type Call = { action: string; arn?: (r: RecordedResource, byUrn: Map<string, RecordedResource>) => string | undefined };
const roleArn = (name: string, path = '/') => `arn:aws:iam::111122223333:role${path}${name}`;
const ownRole = (r: RecordedResource) => roleArn(r.state.name, r.inputs.path ?? '/');
/** A child's role, given by name (attachments, inline policies) or ARN (EKS, Pod Identity). */
const roleByName = (r: RecordedResource, _: unknown, roles = rolesByName) => roles.get(r.inputs.role);
const roleByArn = (field: string) => (r: RecordedResource) => r.inputs[field] as string | undefined;
let rolesByName = new Map<string, string>();

const CREATE_CALLS: Record<string, Call[]> = {
  'aws:ec2/vpc:Vpc': [{ action: 'ec2:CreateVpc' }],
  'aws:ec2/subnet:Subnet': [{ action: 'ec2:CreateSubnet' }],
  'aws:ec2/eip:Eip': [{ action: 'ec2:AllocateAddress' }],
  'aws:ec2/internetGateway:InternetGateway': [{ action: 'ec2:CreateInternetGateway' }, { action: 'ec2:AttachInternetGateway' }],
  'aws:ec2/natGateway:NatGateway': [{ action: 'ec2:CreateNatGateway' }],
  'aws:ec2/routeTable:RouteTable': [{ action: 'ec2:CreateRouteTable' }, { action: 'ec2:CreateRoute' }],
  'aws:ec2/routeTableAssociation:RouteTableAssociation': [{ action: 'ec2:AssociateRouteTable' }],
  'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup': [{ action: 'ec2:DescribeSecurityGroups' }, { action: 'ec2:RevokeSecurityGroupIngress' }, { action: 'ec2:RevokeSecurityGroupEgress' }],
  'aws:ec2/securityGroup:SecurityGroup': [{ action: 'ec2:CreateSecurityGroup' }, { action: 'ec2:AuthorizeSecurityGroupEgress' }],
  'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule': [{ action: 'ec2:AuthorizeSecurityGroupIngress' }],
  'aws:ec2/vpcEndpoint:VpcEndpoint': [{ action: 'ec2:CreateVpcEndpoint' }],
  'aws:ec2/launchTemplate:LaunchTemplate': [{ action: 'ec2:CreateLaunchTemplate' }],
  'aws:iam/role:Role': [{ action: 'iam:CreateRole', arn: ownRole }, { action: 'iam:TagRole', arn: ownRole }],
  'aws:iam/rolePolicy:RolePolicy': [{ action: 'iam:PutRolePolicy', arn: roleByName }],
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment': [{ action: 'iam:AttachRolePolicy', arn: roleByName }],
  'aws:eks/cluster:Cluster': [{ action: 'eks:CreateCluster' }, { action: 'iam:PassRole', arn: roleByArn('roleArn') }],
  'aws:eks/nodeGroup:NodeGroup': [{ action: 'eks:CreateNodegroup' }, { action: 'iam:PassRole', arn: roleByArn('nodeRoleArn') }],
  'aws:eks/addon:Addon': [{ action: 'eks:CreateAddon' }],
  'aws:eks/podIdentityAssociation:PodIdentityAssociation': [{ action: 'eks:CreatePodIdentityAssociation' }, { action: 'iam:PassRole', arn: roleByArn('roleArn') }],
  'aws:kms/key:Key': [{ action: 'kms:CreateKey' }],
  'aws:kms/alias:Alias': [{ action: 'kms:CreateAlias' }],
  'aws:s3/bucket:Bucket': [{ action: 's3:CreateBucket' }],
  'aws:s3/bucketPolicy:BucketPolicy': [{ action: 's3:PutBucketPolicy' }],
  'aws:s3/bucketVersioning:BucketVersioning': [{ action: 's3:PutBucketVersioning' }],
  'aws:s3/bucketOwnershipControls:BucketOwnershipControls': [{ action: 's3:PutBucketOwnershipControls' }],
  'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock': [{ action: 's3:PutBucketPublicAccessBlock' }],
  'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration': [{ action: 's3:PutEncryptionConfiguration' }],
  'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration': [{ action: 's3:PutLifecycleConfiguration' }],
  'aws:glue/catalogDatabase:CatalogDatabase': [{ action: 'glue:CreateDatabase' }],
  'aws:glue/catalogTable:CatalogTable': [{ action: 'glue:CreateTable' }],
  'aws:athena/workgroup:Workgroup': [{ action: 'athena:CreateWorkGroup' }],
  'aws:rds/subnetGroup:SubnetGroup': [{ action: 'rds:CreateDBSubnetGroup' }],
  'aws:rds/parameterGroup:ParameterGroup': [{ action: 'rds:CreateDBParameterGroup' }],
  'aws:rds/instance:Instance': [{ action: 'rds:CreateDBInstance' }],
  'aws:lb/loadBalancer:LoadBalancer': [{ action: 'elasticloadbalancing:CreateLoadBalancer' }],
  'aws:lb/targetGroup:TargetGroup': [{ action: 'elasticloadbalancing:CreateTargetGroup' }],
  'aws:lb/listener:Listener': [{ action: 'elasticloadbalancing:CreateListener' }],
  'aws:lb/listenerRule:ListenerRule': [{ action: 'elasticloadbalancing:CreateRule' }],
  'aws:autoscaling/attachment:Attachment': [{ action: 'autoscaling:AttachLoadBalancerTargetGroups' }],
};

/** IAM's wildcard match: `*` any run of characters, `?` one, case-sensitive for ARNs. */
function matches(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, caseInsensitive ? 'i' : '');
  return re.test(value);
}

function allowed(action: string, arn = '*'): boolean {
  return AWS_INSTALLER_POLICY.Statement.some((s) => s.Action.some((a) => matches(a, action, true)) && s.Resource.some((r) => matches(r, arn)));
}

describe('the AWS installer policy covers everything the aws stack creates', () => {
  let resources: RecordedResource[];
  beforeAll(async () => {
    ({ resources } = await synthesize(() => awsStack.awsStack(awsConfig(2, { ids: ['acme', 'globex'], byob: { globex: { name: 'globex-own-lake', prefix: 'claw/globex' } } })) as any));
    rolesByName = new Map(resources.filter((r) => r.type === 'aws:iam/role:Role').map((r) => [r.state.name as string, ownRole(r)]));
  }, 120_000);

  it('every AWS resource type the stack declares has its create calls listed here', () => {
    const types = [...new Set(resources.filter((r) => r.custom && r.type.startsWith('aws:')).map((r) => r.type))];
    expect(types.filter((t) => !CREATE_CALLS[t])).toEqual([]);
  });

  it('every create call of every resource is allowed on that resource (roles by their real ARN, path included)', () => {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const refused: string[] = [];
    for (const r of resources.filter((x) => x.custom && CREATE_CALLS[x.type])) {
      for (const call of CREATE_CALLS[r.type]!) {
        const arn = call.arn ? call.arn(r, byUrn) : '*';
        if (arn === undefined) refused.push(`${r.type} ${r.name}: ${call.action} on an ARN this test cannot resolve`);
        else if (!allowed(call.action, arn)) refused.push(`${r.name}: ${call.action} on ${arn}`);
      }
    }
    expect(refused).toEqual([]);
  });

  it('stays scoped: no IAM write on roles outside claw-* names and the /claw/ path', () => {
    expect(allowed('iam:CreateRole', roleArn('admin'))).toBe(false);
    expect(allowed('iam:PutRolePolicy', roleArn('ops-deployer', '/team/'))).toBe(false);
    expect(allowed('iam:PassRole', roleArn('OrganizationAccountAccessRole'))).toBe(false);
  });
});

describe('a permissions boundary (claw.yaml aws.permissionsBoundary, claw installer-policy --permissions-boundary)', () => {
  const BOUNDARY = 'arn:aws:iam::111122223333:policy/claw-boundary';

  it('every role the stack creates carries it; without one, none does', async () => {
    const base = awsConfig(1, { ids: ['acme'] });
    const bounded = await synthesize(() => awsStack.awsStack({ ...base, aws: { ...base.aws!, permissionsBoundary: BOUNDARY } }) as any);
    const roles = bounded.resources.filter((r) => r.type === 'aws:iam/role:Role');
    expect(roles.length).toBeGreaterThanOrEqual(6);
    expect(roles.filter((r) => r.inputs.permissionsBoundary !== BOUNDARY).map((r) => r.name)).toEqual([]);
    const plain = await synthesize(() => awsStack.awsStack(base) as any);
    expect(plain.resources.filter((r) => r.type === 'aws:iam/role:Role' && r.inputs.permissionsBoundary)).toEqual([]);
  }, 120_000);

  it('the policy then allows role writes only with the boundary, and never its removal', () => {
    const policy = awsInstallerPolicy({ permissionsBoundary: BOUNDARY });
    const conditioned = policy.Statement.find((s) => s.Sid === 'ClawRolesWithBoundary')!;
    expect(conditioned.Condition).toEqual({ StringEquals: { 'iam:PermissionsBoundary': BOUNDARY } });
    expect(conditioned.Action).toContain('iam:CreateRole');
    const unconditioned = policy.Statement.filter((s) => !s.Condition).flatMap((s) => s.Action);
    expect(unconditioned).not.toContain('iam:CreateRole');
    expect(unconditioned).not.toContain('iam:PutRolePolicy');
    expect(policy.Statement.flatMap((s) => s.Action)).not.toContain('iam:DeleteRolePermissionsBoundary');
    expect(awsInstallerPolicy()).toBe(AWS_INSTALLER_POLICY);
  });

  it('claw.yaml refuses a boundary that is not a managed policy ARN, naming the field', () => {
    const base = awsConfigYaml(1, { ids: ['acme'] }).replace(/^aws:\n/m, 'aws:\n  permissionsBoundary: claw-boundary\n');
    expect(base).toContain('permissionsBoundary: claw-boundary');
    expect(() => parseConfig(base, 'claw.yaml')).toThrow(/permissionsBoundary[\s\S]*managed policy ARN/);
  });
});

describe('claw installer-policy (the CLI process, as the install docs tell an admin to run it)', () => {
  const claw = (args: string[]) => spawnSync(process.execPath, [join(REPO, 'bin', 'claw.js'), ...args], { encoding: 'utf8' });

  it('--permissions-boundary prints the AWS policy with role writes conditioned on it; a bad ARN or a gcp target is one USAGE line', () => {
    const printed = claw(['installer-policy', '--target', 'aws', '--permissions-boundary', 'arn:aws:iam::111122223333:policy/claw-boundary']);
    expect(printed.status, printed.stderr).toBe(0);
    const policy = JSON.parse(printed.stdout) as typeof AWS_INSTALLER_POLICY;
    expect(policy.Statement.find((s) => s.Sid === 'ClawRolesWithBoundary')?.Condition).toEqual({ StringEquals: { 'iam:PermissionsBoundary': 'arn:aws:iam::111122223333:policy/claw-boundary' } });
    for (const bad of [['--target', 'aws', '--permissions-boundary', 'claw-boundary'], ['--target', 'gcp', '--permissions-boundary', 'arn:aws:iam::111122223333:policy/b']]) {
      const run = claw(['installer-policy', ...bad]);
      expect(run.status).toBe(1);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^error USAGE: /);
    }
  }, 60_000);
});
