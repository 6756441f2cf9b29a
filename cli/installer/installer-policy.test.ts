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
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../test/fixtures/claw-cli.js';
import { synthesize, type RecordedResource } from '../../policies/infra/synth.js';
import { parseConfig } from '../../core/config/load.js';
import { awsConfig, awsConfigYaml, BYOK_KEY_ARN } from '../../stacks/aws.fixture.js';
import { AWS_INSTALLER_POLICY, awsInstallerPolicy, gcpBindingCondition, gcpRoleYaml, GCP_INSTALLER_PERMISSIONS, GCP_PROJECT_GRANTED_ROLES } from './installer-policy.js';

const awsStack = await import('../../stacks/aws.js');

/** The tags a condition reads: on the resource acted on, and in the request. */
type Tags = Record<string, string> | undefined;
/**
 * The calls the AWS provider makes to create each type, on which ARN when the policy scopes
 * it, and the tags its conditions see (aws:ResourceTag, aws:RequestTag).
 */
type Call = {
  action: string;
  arn?: (r: RecordedResource, byUrn: Map<string, RecordedResource>) => string | undefined;
  resourceTags?: (r: RecordedResource) => Tags;
  requestTags?: (r: RecordedResource) => Tags;
};
const roleArn = (name: string, path = '/') => `arn:aws:iam::111122223333:role${path}${name}`;
const ownRole = (r: RecordedResource) => roleArn(r.state.name, r.inputs.path ?? '/');
/** A child's role, given by name (attachments, inline policies) or ARN (EKS, Pod Identity). */
const roleByName = (r: RecordedResource, _: unknown, roles = rolesByName) => roles.get(r.inputs.role);
const roleByArn = (field: string) => (r: RecordedResource) => r.inputs[field] as string | undefined;
let rolesByName = new Map<string, string>();
/** KMS keys by key id (an alias names its key by id). */
let keysById = new Map<string, RecordedResource>();
const ownTags = (r: RecordedResource) => r.inputs.tags as Tags;
const keyArn = (r: RecordedResource) => r.state.arn as string;
const aliasTarget = (r: RecordedResource) => keysById.get(r.inputs.targetKeyId);
const bucketArn = (r: RecordedResource) => `arn:aws:s3:::${r.inputs.bucket}`;

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
  'aws:kms/key:Key': [
    { action: 'kms:CreateKey', requestTags: ownTags },
    { action: 'kms:TagResource', requestTags: ownTags },
    { action: 'kms:EnableKeyRotation', arn: keyArn, resourceTags: ownTags },
    { action: 'kms:PutKeyPolicy', arn: keyArn, resourceTags: ownTags },
  ],
  'aws:kms/alias:Alias': [
    { action: 'kms:CreateAlias', arn: (r) => r.state.arn },
    { action: 'kms:CreateAlias', arn: (r) => aliasTarget(r) && keyArn(aliasTarget(r)!), resourceTags: (r) => aliasTarget(r) && ownTags(aliasTarget(r)!) },
  ],
  // The tenant's own key (BYOK): named in the policy from claw.yaml.
  'aws:kms/grant:Grant': [{ action: 'kms:CreateGrant', arn: (r) => r.inputs.keyId }],
  'aws:s3/bucket:Bucket': [{ action: 's3:CreateBucket', arn: bucketArn }],
  'aws:s3/bucketPolicy:BucketPolicy': [{ action: 's3:PutBucketPolicy', arn: bucketArn }],
  'aws:s3/bucketVersioning:BucketVersioning': [{ action: 's3:PutBucketVersioning', arn: bucketArn }],
  'aws:s3/bucketOwnershipControls:BucketOwnershipControls': [{ action: 's3:PutBucketOwnershipControls', arn: bucketArn }],
  'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock': [{ action: 's3:PutBucketPublicAccessBlock', arn: bucketArn }],
  'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration': [{ action: 's3:PutEncryptionConfiguration', arn: bucketArn }],
  'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration': [{ action: 's3:PutLifecycleConfiguration', arn: bucketArn }],
  'aws:glue/catalogDatabase:CatalogDatabase': [{ action: 'glue:CreateDatabase' }],
  'aws:glue/catalogTable:CatalogTable': [{ action: 'glue:CreateTable' }],
  'aws:athena/workgroup:Workgroup': [{ action: 'athena:CreateWorkGroup' }],
  'aws:rds/subnetGroup:SubnetGroup': [{ action: 'rds:CreateDBSubnetGroup' }],
  'aws:rds/parameterGroup:ParameterGroup': [{ action: 'rds:CreateDBParameterGroup' }],
  // manageMasterUserPassword: RDS creates the secret rds!db-<id> with the caller's permissions.
  'aws:rds/instance:Instance': [{ action: 'rds:CreateDBInstance' }, { action: 'secretsmanager:CreateSecret', arn: () => 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-3f1c0a7e-2b9d-4d0e-8a51-6c2f7e9b1d40-AbCdEf' }],
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

/** The condition operators the policy uses, as IAM evaluates them on the request's tags. */
function conditionHolds(condition: Record<string, Record<string, string>>, ctx: { resourceTags?: Tags; requestTags?: Tags }): boolean {
  return Object.entries(condition).every(([op, entries]) =>
    Object.entries(entries).every(([key, expected]) => {
      // Anything else (iam:PermissionsBoundary, kms:RequestAlias) is not evaluated here: it grants nothing.
      const tag = /^aws:(Resource|Request)Tag\/(.+)$/.exec(key);
      if (!tag || op !== 'Null') return false;
      const value = (tag[1] === 'Resource' ? ctx.resourceTags : ctx.requestTags)?.[tag[2]!];
      return (value === undefined) === (expected === 'true');
    }),
  );
}

function allowed(action: string, arn = '*', ctx: { resourceTags?: Tags; requestTags?: Tags } = {}, policy = AWS_INSTALLER_POLICY): boolean {
  return policy.Statement.some(
    (s) => s.Action.some((a) => matches(a, action, true)) && s.Resource.some((r) => matches(r, arn)) && (!s.Condition || conditionHolds(s.Condition, ctx)),
  );
}

describe('the AWS installer policy covers everything the aws stack creates', () => {
  let resources: RecordedResource[];
  // acme brings its own key, globex its own bucket; the state lives in the customer's bucket under their key.
  const config = parseConfig(
    awsConfigYaml(2, {
      ids: ['acme', 'globex'],
      byok: { acme: BYOK_KEY_ARN },
      byob: { globex: { name: 'globex-own-lake', prefix: 'claw/globex' } },
      extra: "state: { backend: 's3://acme-platform-state/claw', secretsProvider: 'awskms://alias/platform-state?region=eu-west-1' }",
    }),
    'claw.yaml',
  );
  const policy = awsInstallerPolicy({ config });
  beforeAll(async () => {
    ({ resources } = await synthesize(() => awsStack.awsStack(config) as any));
    rolesByName = new Map(resources.filter((r) => r.type === 'aws:iam/role:Role').map((r) => [r.state.name as string, ownRole(r)]));
    keysById = new Map(resources.filter((r) => r.type === 'aws:kms/key:Key').map((r) => [r.state.keyId as string, r]));
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
        const ctx = { resourceTags: call.resourceTags?.(r), requestTags: call.requestTags?.(r) };
        if (arn === undefined) refused.push(`${r.type} ${r.name}: ${call.action} on an ARN this test cannot resolve`);
        else if (!allowed(call.action, arn, ctx, policy)) refused.push(`${r.name}: ${call.action} on ${arn}`);
      }
    }
    expect(refused).toEqual([]);
  });

  it('stays scoped: no IAM write on roles outside claw-* names and the /claw/ path', () => {
    expect(allowed('iam:CreateRole', roleArn('admin'))).toBe(false);
    expect(allowed('iam:PutRolePolicy', roleArn('ops-deployer', '/team/'))).toBe(false);
    expect(allowed('iam:PassRole', roleArn('OrganizationAccountAccessRole'))).toBe(false);
  });

  it("stays scoped: KMS only on keys carrying the install tag (and claw.yaml's own keys), S3 on claw-* buckets (and the state bucket), Secrets Manager on RDS's secret", () => {
    const someonesKey = 'arn:aws:kms:eu-west-1:111122223333:key/0d4c1f6e-7a2b-4c3d-9e8f-1a2b3c4d5e6f';
    const ours = { 'claw:install': 'prod' };
    expect(allowed('kms:CreateKey', '*', { requestTags: {} }, policy)).toBe(false);
    expect(allowed('kms:CreateKey', '*', { requestTags: ours }, policy)).toBe(true);
    for (const action of ['kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy', 'kms:CreateGrant', 'kms:CreateAlias']) {
      expect(allowed(action, someonesKey, { resourceTags: { team: 'payroll' } }, policy), action).toBe(false);
      expect(allowed(action, someonesKey, { resourceTags: ours }, policy), action).toBe(true);
    }
    expect(allowed('kms:CreateAlias', 'arn:aws:kms:eu-west-1:111122223333:alias/payroll', {}, policy)).toBe(false);
    expect(allowed('kms:Decrypt', someonesKey, { resourceTags: ours }, policy)).toBe(false);
    expect(allowed('kms:CreateGrant', BYOK_KEY_ARN, {}, policy)).toBe(true);
    expect(allowed('kms:CreateGrant', BYOK_KEY_ARN, {}, AWS_INSTALLER_POLICY)).toBe(false);

    expect(allowed('s3:DeleteBucket', 'arn:aws:s3:::payroll-archive', {}, policy)).toBe(false);
    expect(allowed('s3:GetObject', 'arn:aws:s3:::payroll-archive/2026/q3.csv', {}, policy)).toBe(false);
    expect(allowed('s3:PutObject', 'arn:aws:s3:::acme-platform-state/claw/.pulumi/stacks/prod.json', {}, policy)).toBe(true);
    expect(allowed('s3:PutObject', 'arn:aws:s3:::acme-platform-state/other-team/x', {}, policy)).toBe(false);
    expect(allowed('s3:DeleteBucket', 'arn:aws:s3:::acme-platform-state', {}, policy)).toBe(false);

    expect(allowed('secretsmanager:GetSecretValue', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/payments/db-AbCdEf', {}, policy)).toBe(false);
    expect(allowed('secretsmanager:GetSecretValue', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-1234-AbCdEf', {}, policy)).toBe(true);
    // The state's secrets key by alias: matched by kms:RequestAlias, which this test does not evaluate; the statement is there.
    expect(policy.Statement.find((st) => st.Sid === 'StateSecretsKey')).toMatchObject({ Condition: { StringEquals: { 'kms:RequestAlias': 'alias/platform-state' } } });
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

  it("with the install's claw.yaml, names its own keys and its state bucket and key one by one", () => {
    const dir = mkdtempSync(join(tmpdir(), 'claw-installer-policy-'));
    try {
      const file = join(dir, 'claw.yaml');
      writeFileSync(file, awsConfigYaml(1, { ids: ['acme'], byok: { acme: BYOK_KEY_ARN }, extra: "state: { backend: 's3://acme-platform-state/claw', secretsProvider: 'awskms://arn:aws:kms:eu-west-1:111122223333:key/5d1c0b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d?region=eu-west-1' }" }));
      const printed = claw(['-c', file, 'installer-policy', '--target', 'aws']);
      expect(printed.status, printed.stderr).toBe(0);
      const statements = (JSON.parse(printed.stdout) as typeof AWS_INSTALLER_POLICY).Statement;
      expect(statements.find((st) => st.Sid === 'TenantOwnKeys')?.Resource).toEqual([BYOK_KEY_ARN]);
      expect(statements.find((st) => st.Sid === 'PulumiStateObjects')?.Resource).toEqual(['arn:aws:s3:::acme-platform-state/claw/*']);
      expect(statements.find((st) => st.Sid === 'StateSecretsKey')?.Resource).toEqual(['arn:aws:kms:eu-west-1:111122223333:key/5d1c0b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/**
 * The same for GCP: the gcp stack synthesized, and for every resource it declares, the
 * permissions the Google provider's create call needs must be in the installer's custom role
 * (`claw installer-policy --target gcp`). A type with no entry fails, as on AWS. What this is
 * not: IAM itself (the role's binding condition is checked against the roles the stack
 * grants, not evaluated).
 */
const GCP_CREATE_PERMISSIONS: Record<string, string[]> = {
  'gcp:projects/serviceIdentity:ServiceIdentity': ['serviceusage.services.use'],
  'gcp:compute/network:Network': ['compute.networks.create'],
  'gcp:compute/subnetwork:Subnetwork': ['compute.subnetworks.create', 'compute.networks.updatePolicy'],
  'gcp:compute/router:Router': ['compute.routers.create'],
  'gcp:compute/routerNat:RouterNat': ['compute.routers.update'],
  'gcp:compute/globalAddress:GlobalAddress': ['compute.globalAddresses.create'],
  'gcp:compute/sSLPolicy:SSLPolicy': ['compute.sslPolicies.create'],
  'gcp:compute/managedSslCertificate:ManagedSslCertificate': ['compute.sslCertificates.create'],
  'gcp:servicenetworking/connection:Connection': ['servicenetworking.services.addPeering'],
  'gcp:serviceaccount/account:Account': ['iam.serviceAccounts.create'],
  'gcp:serviceaccount/iAMMember:IAMMember': ['iam.serviceAccounts.getIamPolicy', 'iam.serviceAccounts.setIamPolicy'],
  'gcp:projects/iAMMember:IAMMember': ['resourcemanager.projects.getIamPolicy', 'resourcemanager.projects.setIamPolicy'],
  'gcp:kms/keyRing:KeyRing': ['cloudkms.keyRings.create'],
  'gcp:kms/cryptoKey:CryptoKey': ['cloudkms.cryptoKeys.create'],
  'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember': ['cloudkms.cryptoKeys.getIamPolicy', 'cloudkms.cryptoKeys.setIamPolicy'],
  'gcp:storage/bucket:Bucket': ['storage.buckets.create'],
  'gcp:storage/bucketIAMMember:BucketIAMMember': ['storage.buckets.getIamPolicy', 'storage.buckets.setIamPolicy'],
  'gcp:bigquery/dataset:Dataset': ['bigquery.datasets.create'],
  'gcp:bigquery/datasetIamMember:DatasetIamMember': ['bigquery.datasets.getIamPolicy', 'bigquery.datasets.setIamPolicy'],
  'gcp:bigquery/table:Table': ['bigquery.tables.create'],
  'gcp:sql/databaseInstance:DatabaseInstance': ['cloudsql.instances.create'],
  'gcp:sql/database:Database': ['cloudsql.databases.create'],
  'gcp:sql/user:User': ['cloudsql.users.create'],
  'gcp:container/cluster:Cluster': ['container.clusters.create', 'iam.serviceAccounts.actAs'],
  'gcp:container/nodePool:NodePool': ['container.clusters.update', 'iam.serviceAccounts.actAs'],
};

describe('the GCP installer role covers everything the gcp stack creates', () => {
  let resources: RecordedResource[];
  beforeAll(async () => {
    const gcpStack = await import('../../stacks/gcp.js');
    const { gcpConfig } = await import('../../stacks/gcp.fixture.js');
    ({ resources } = await synthesize(() => gcpStack.gcpStack(gcpConfig(2)) as any));
  }, 120_000);

  it('every GCP resource type the stack declares has its create permissions listed here', () => {
    const types = [...new Set(resources.filter((r) => r.custom && r.type.startsWith('gcp:')).map((r) => r.type))];
    expect(types.filter((t) => !GCP_CREATE_PERMISSIONS[t])).toEqual([]);
  });

  it('the role holds every permission those creates need', () => {
    const role = new Set(GCP_INSTALLER_PERMISSIONS);
    const needed = [...new Set(resources.filter((r) => r.custom && GCP_CREATE_PERMISSIONS[r.type]).flatMap((r) => GCP_CREATE_PERMISSIONS[r.type]!))];
    expect(needed.filter((p) => !role.has(p))).toEqual([]);
  });

  it('project IAM is bounded: the binding condition names exactly the project roles the stack grants', () => {
    const granted = [...new Set(resources.filter((r) => r.type === 'gcp:projects/iAMMember:IAMMember').map((r) => r.inputs.role as string))].sort();
    expect(granted).toEqual([...GCP_PROJECT_GRANTED_ROLES].sort());
    expect(gcpBindingCondition()).toBe(`api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${GCP_PROJECT_GRANTED_ROLES.map((r) => `'${r}'`).join(', ')}])`);
    expect(gcpRoleYaml()).toContain(`--condition='title=claw-installer-grants,expression=${gcpBindingCondition()}'`);
    // No owner/editor-like permission slipped in.
    expect(GCP_INSTALLER_PERMISSIONS.filter((p) => /^resourcemanager\.projects\.(delete|update|move)$|^iam\.roles\.|^orgpolicy\./.test(p))).toEqual([]);
  });
});
