/**
 * The installer's published least-privilege permissions: what the identity that runs
 * `claw install` / `claw upgrade` / `claw destroy` needs, and nothing it does not.
 * `claw installer-policy --target aws|gcp` prints them; preflight checks the caller
 * against exactly these (IAM SimulatePrincipalPolicy on AWS, testIamPermissions on GCP).
 *
 * IAM writes are scoped to `claw-*` names so the installer cannot touch other roles. KMS,
 * S3 and Secrets Manager are scoped too, where AWS allows it:
 *   - KMS: keys are created only carrying the `claw:install` tag (aws:RequestTag), and
 *     managed, granted or deleted only when they carry it (aws:ResourceTag); aliases only
 *     under alias/claw/. CreateKey and ListAliases take no resource. The tenants' own keys
 *     (BYOK) and the state's secrets key are named one by one, from claw.yaml.
 *   - S3: buckets named claw-* (every bucket the stack creates), and the state bucket.
 *   - Secrets Manager: the RDS-managed master secret (rds!*), which RDS creates.
 */
import { INSTALL_TAG } from '../../contracts/aws.js';
import type { ClawConfig } from '../../core/config/schema.js';

export interface AwsPolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string>>;
}

/** The install tag is present on the key acted on / in the request that creates or tags it. */
const KEY_CARRIES_INSTALL_TAG = { Null: { [`aws:ResourceTag/${INSTALL_TAG}`]: 'false' } };
const REQUEST_CARRIES_INSTALL_TAG = { Null: { [`aws:RequestTag/${INSTALL_TAG}`]: 'false' } };

export interface AwsPolicyDocument {
  Version: '2012-10-17';
  Statement: AwsPolicyStatement[];
}

const ALL = ['*'];

export const AWS_INSTALLER_POLICY: AwsPolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Identity',
      Effect: 'Allow',
      Action: ['sts:GetCallerIdentity', 'iam:SimulatePrincipalPolicy', 'servicequotas:GetServiceQuota', 'servicequotas:GetAWSDefaultServiceQuota'],
      Resource: ALL,
    },
    {
      Sid: 'Network',
      Effect: 'Allow',
      Action: [
        'ec2:DescribeRegions', 'ec2:DescribeAvailabilityZones', 'ec2:DescribeVpcs', 'ec2:CreateVpc', 'ec2:DeleteVpc', 'ec2:ModifyVpcAttribute',
        'ec2:DescribeSubnets', 'ec2:CreateSubnet', 'ec2:DeleteSubnet', 'ec2:ModifySubnetAttribute',
        'ec2:DescribeInternetGateways', 'ec2:CreateInternetGateway', 'ec2:AttachInternetGateway', 'ec2:DetachInternetGateway', 'ec2:DeleteInternetGateway',
        'ec2:DescribeAddresses', 'ec2:AllocateAddress', 'ec2:ReleaseAddress',
        'ec2:DescribeNatGateways', 'ec2:CreateNatGateway', 'ec2:DeleteNatGateway',
        'ec2:DescribeRouteTables', 'ec2:CreateRouteTable', 'ec2:DeleteRouteTable', 'ec2:CreateRoute', 'ec2:DeleteRoute', 'ec2:AssociateRouteTable', 'ec2:DisassociateRouteTable',
        'ec2:DescribeSecurityGroups', 'ec2:CreateSecurityGroup', 'ec2:DeleteSecurityGroup',
        'ec2:AuthorizeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupEgress', 'ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress',
        'ec2:DescribeVpcEndpoints', 'ec2:CreateVpcEndpoint', 'ec2:DeleteVpcEndpoints',
        'ec2:DescribeLaunchTemplates', 'ec2:DescribeLaunchTemplateVersions', 'ec2:CreateLaunchTemplate', 'ec2:CreateLaunchTemplateVersion', 'ec2:DeleteLaunchTemplate',
        'ec2:CreateTags', 'ec2:DeleteTags', 'ec2:DescribeTags', 'ec2:RunInstances',
      ],
      Resource: ALL,
    },
    {
      Sid: 'Cluster',
      Effect: 'Allow',
      Action: [
        'eks:CreateCluster', 'eks:DescribeCluster', 'eks:UpdateClusterConfig', 'eks:UpdateClusterVersion', 'eks:DeleteCluster', 'eks:ListClusters',
        'eks:CreateNodegroup', 'eks:DescribeNodegroup', 'eks:UpdateNodegroupConfig', 'eks:UpdateNodegroupVersion', 'eks:DeleteNodegroup',
        'eks:CreateAddon', 'eks:DescribeAddon', 'eks:UpdateAddon', 'eks:DeleteAddon',
        'eks:CreatePodIdentityAssociation', 'eks:DescribePodIdentityAssociation', 'eks:DeletePodIdentityAssociation',
        'eks:CreateAccessEntry', 'eks:DescribeAccessEntry', 'eks:DeleteAccessEntry', 'eks:AssociateAccessPolicy',
        'eks:TagResource', 'eks:UntagResource',
      ],
      Resource: ALL,
    },
    {
      Sid: 'ClawRolesOnly',
      Effect: 'Allow',
      Action: [
        'iam:CreateRole', 'iam:GetRole', 'iam:DeleteRole', 'iam:TagRole', 'iam:UpdateAssumeRolePolicy',
        'iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy', 'iam:AttachRolePolicy', 'iam:DetachRolePolicy',
        'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies', 'iam:PassRole',
        'iam:CreateInstanceProfile', 'iam:GetInstanceProfile', 'iam:DeleteInstanceProfile', 'iam:AddRoleToInstanceProfile', 'iam:RemoveRoleFromInstanceProfile',
        'iam:CreateOpenIDConnectProvider', 'iam:GetOpenIDConnectProvider', 'iam:DeleteOpenIDConnectProvider',
      ],
      // Roles named claw-* at the root (cluster, nodes) and every role under the /claw/ path
      // (runtime and tenant roles: /claw/<install>/runtime/, /claw/<install>/tenants/).
      Resource: ['arn:aws:iam::*:role/claw-*', 'arn:aws:iam::*:role/claw/*', 'arn:aws:iam::*:instance-profile/claw-*', 'arn:aws:iam::*:oidc-provider/*'],
    },
    {
      Sid: 'KeysCreatedTagged',
      Effect: 'Allow',
      // CreateKey takes no resource; with tags it needs TagResource too. Both only with the install tag.
      Action: ['kms:CreateKey', 'kms:TagResource'],
      Resource: ALL,
      Condition: REQUEST_CARRIES_INSTALL_TAG,
    },
    {
      Sid: 'KeysOfThisInstall',
      Effect: 'Allow',
      Action: [
        'kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy', 'kms:EnableKeyRotation', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags',
        'kms:TagResource', 'kms:UntagResource', 'kms:CreateAlias', 'kms:DeleteAlias', 'kms:ScheduleKeyDeletion', 'kms:CreateGrant',
      ],
      Resource: ['arn:aws:kms:*:*:key/*'],
      Condition: KEY_CARRIES_INSTALL_TAG,
    },
    {
      Sid: 'KeyAliases',
      Effect: 'Allow',
      // An alias needs the permission on the alias and on its key (the statement above).
      Action: ['kms:CreateAlias', 'kms:DeleteAlias'],
      Resource: ['arn:aws:kms:*:*:alias/claw/*'],
    },
    {
      Sid: 'KeyList',
      Effect: 'Allow',
      Action: ['kms:ListAliases'],
      Resource: ALL,
    },
    {
      Sid: 'Storage',
      Effect: 'Allow',
      Action: [
        's3:CreateBucket', 's3:DeleteBucket', 's3:ListBucket', 's3:GetBucketLocation', 's3:GetBucketTagging', 's3:PutBucketTagging',
        's3:GetEncryptionConfiguration', 's3:PutEncryptionConfiguration', 's3:GetBucketPublicAccessBlock', 's3:PutBucketPublicAccessBlock',
        's3:GetBucketVersioning', 's3:PutBucketVersioning', 's3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy',
        's3:GetBucketOwnershipControls', 's3:PutBucketOwnershipControls', 's3:GetLifecycleConfiguration', 's3:PutLifecycleConfiguration',
        's3:GetObject', 's3:PutObject', 's3:DeleteObject',
      ],
      // Every bucket the stack creates is named claw-<install>-<tenant>-… (contracts/aws.ts physicalName).
      Resource: ['arn:aws:s3:::claw-*', 'arn:aws:s3:::claw-*/*'],
    },
    {
      Sid: 'MetadataDatabase',
      Effect: 'Allow',
      Action: [
        'rds:CreateDBInstance', 'rds:DescribeDBInstances', 'rds:ModifyDBInstance', 'rds:DeleteDBInstance',
        'rds:CreateDBSubnetGroup', 'rds:DescribeDBSubnetGroups', 'rds:DeleteDBSubnetGroup', 'rds:AddTagsToResource', 'rds:ListTagsForResource',
        'rds:CreateDBParameterGroup', 'rds:DescribeDBParameterGroups', 'rds:DescribeDBParameters', 'rds:ModifyDBParameterGroup', 'rds:DeleteDBParameterGroup',
      ],
      Resource: ALL,
    },
    {
      Sid: 'RdsManagedSecret',
      Effect: 'Allow',
      // RDS creates the master password's secret (manageMasterUserPassword) as rds!db-<id> with
      // the caller's permissions; the stack reads it once to hand it to Temporal as a Kubernetes Secret.
      Action: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:DeleteSecret'],
      Resource: ['arn:aws:secretsmanager:*:*:secret:rds!*'],
    },
    {
      Sid: 'Lakehouse',
      Effect: 'Allow',
      Action: [
        'glue:CreateDatabase', 'glue:GetDatabase', 'glue:DeleteDatabase', 'glue:CreateTable', 'glue:GetTable', 'glue:UpdateTable', 'glue:DeleteTable',
        'athena:CreateWorkGroup', 'athena:GetWorkGroup', 'athena:UpdateWorkGroup', 'athena:DeleteWorkGroup', 'athena:TagResource',
      ],
      Resource: ALL,
    },
    {
      Sid: 'Ingress',
      Effect: 'Allow',
      Action: [
        'elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:DescribeLoadBalancers', 'elasticloadbalancing:DeleteLoadBalancer',
        'elasticloadbalancing:CreateTargetGroup', 'elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DeleteTargetGroup',
        'elasticloadbalancing:CreateListener', 'elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DeleteListener',
        'elasticloadbalancing:CreateRule', 'elasticloadbalancing:DescribeRules', 'elasticloadbalancing:ModifyRule', 'elasticloadbalancing:DeleteRule',
        'autoscaling:AttachLoadBalancerTargetGroups', 'autoscaling:DetachLoadBalancerTargetGroups', 'autoscaling:DescribeLoadBalancerTargetGroups',
        'elasticloadbalancing:AddTags', 'acm:DescribeCertificate', 'logs:CreateLogGroup', 'logs:DescribeLogGroups', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy',
      ],
      Resource: ALL,
    },
  ],
};

/** A condition key and the value preflight's simulation gives it. */
export interface SimulationContext {
  key: string;
  values: string[];
}

/**
 * Every action in the AWS policy, with the resource ARNs preflight simulates it against and
 * the context its conditions read (the install tag, as the stack sets it).
 */
export function awsRequiredActions(account: string, where: { region?: string; install?: string } = {}): { actions: string[]; resources: string[]; sid: string; context: SimulationContext[] }[] {
  const install = where.install ?? 'preflight';
  return AWS_INSTALLER_POLICY.Statement.map((s) => ({
    sid: s.Sid,
    actions: s.Action,
    // Scoped statements are simulated on a concrete claw-* name in the caller's account.
    resources: s.Resource.map((r) =>
      r
        .replace(/::\*:/, `::${account}:`)
        .replace(/:\*:\*:/, `:${where.region ?? 'us-east-1'}:${account}:`)
        .replace(/claw-\*/g, 'claw-preflight')
        .replace(/\/\*$/, '/claw-preflight')
        .replace(/rds!\*$/, 'rds!db-preflight'),
    ),
    context: Object.keys(s.Condition?.Null ?? {}).map((key) => ({ key, values: [install] })),
  }));
}

/** GCP: a custom role's permissions (granted on the install's project). */
export const GCP_INSTALLER_PERMISSIONS: string[] = [
  'resourcemanager.projects.get', 'resourcemanager.projects.getIamPolicy', 'serviceusage.services.list', 'serviceusage.services.get',
  'compute.regions.get', 'compute.networks.create', 'compute.networks.get', 'compute.networks.delete', 'compute.networks.updatePolicy',
  'compute.subnetworks.create', 'compute.subnetworks.get', 'compute.subnetworks.delete', 'compute.subnetworks.use',
  'compute.routers.create', 'compute.routers.get', 'compute.routers.update', 'compute.routers.delete',
  'compute.firewalls.create', 'compute.firewalls.get', 'compute.firewalls.delete',
  'compute.addresses.create', 'compute.addresses.get', 'compute.addresses.delete',
  'compute.globalAddresses.create', 'compute.globalAddresses.get', 'compute.globalAddresses.delete',
  'container.clusters.create', 'container.clusters.get', 'container.clusters.update', 'container.clusters.delete', 'container.clusters.getCredentials',
  'container.operations.get',
  'cloudkms.keyRings.create', 'cloudkms.keyRings.get', 'cloudkms.cryptoKeys.create', 'cloudkms.cryptoKeys.get', 'cloudkms.cryptoKeys.update',
  'cloudkms.cryptoKeys.getIamPolicy', 'cloudkms.cryptoKeys.setIamPolicy', 'cloudkms.cryptoKeyVersions.destroy',
  'storage.buckets.create', 'storage.buckets.get', 'storage.buckets.update', 'storage.buckets.delete', 'storage.buckets.getIamPolicy', 'storage.buckets.setIamPolicy',
  'cloudsql.instances.create', 'cloudsql.instances.get', 'cloudsql.instances.update', 'cloudsql.instances.delete',
  'cloudsql.databases.create', 'cloudsql.users.create',
  'bigquery.datasets.create', 'bigquery.datasets.get', 'bigquery.datasets.update', 'bigquery.datasets.delete',
  'iam.serviceAccounts.create', 'iam.serviceAccounts.get', 'iam.serviceAccounts.delete', 'iam.serviceAccounts.getIamPolicy', 'iam.serviceAccounts.setIamPolicy',
  'iam.serviceAccounts.actAs',
  'servicenetworking.services.addPeering',
  // Found missing by the coverage test (installer-policy.test.ts): the gateway's TLS policy and
  // certificate, the trace tables, dataset IAM, the service agents, and the project-level
  // grants of the nodes and the worker (bound with gcpBindingCondition, so only those roles).
  'compute.sslPolicies.create', 'compute.sslPolicies.get', 'compute.sslPolicies.delete',
  'compute.sslCertificates.create', 'compute.sslCertificates.get', 'compute.sslCertificates.delete',
  'bigquery.tables.create', 'bigquery.tables.get', 'bigquery.tables.update', 'bigquery.tables.delete',
  'bigquery.datasets.getIamPolicy', 'bigquery.datasets.setIamPolicy',
  'serviceusage.services.use',
  'resourcemanager.projects.setIamPolicy',
];

/**
 * The project-level roles the stack grants (its nodes' service account, the worker's
 * BigQuery jobs). resourcemanager.projects.setIamPolicy could grant anything, so the
 * installer role is bound with gcpBindingCondition: it may add or remove these roles only.
 */
export const GCP_PROJECT_GRANTED_ROLES = [
  'roles/logging.logWriter',
  'roles/monitoring.metricWriter',
  'roles/monitoring.viewer',
  'roles/stackdriver.resourceMetadata.writer',
  'roles/artifactregistry.reader',
  'roles/bigquery.jobUser',
];

/** The IAM condition (CEL) for the installer role's binding: project grants limited to GCP_PROJECT_GRANTED_ROLES. */
export function gcpBindingCondition(): string {
  return `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${GCP_PROJECT_GRANTED_ROLES.map((r) => `'${r}'`).join(', ')}])`;
}

/** The GCP APIs an install needs enabled on its project. */
export const GCP_REQUIRED_APIS = [
  'compute.googleapis.com', 'container.googleapis.com', 'cloudkms.googleapis.com', 'sqladmin.googleapis.com', 'storage.googleapis.com',
  'bigquery.googleapis.com', 'iam.googleapis.com', 'servicenetworking.googleapis.com', 'cloudresourcemanager.googleapis.com', 'serviceusage.googleapis.com',
];

/** `gcloud iam roles create` YAML for the custom role. */
export function gcpRoleYaml(): string {
  return [
    '# Create the role, then bind it on the project with a condition, so that it can grant only the',
    '# project roles the stack needs (resourcemanager.projects.setIamPolicy is otherwise unbounded):',
    '#   gcloud iam roles create clawInstaller --project=PROJECT --file=claw-installer.yaml',
    '#   gcloud projects add-iam-policy-binding PROJECT --member=INSTALLER --role=projects/PROJECT/roles/clawInstaller \\',
    `#     --condition='title=claw-installer-grants,expression=${gcpBindingCondition()}'`,
    'title: Claw BYOC installer',
    'description: Least privilege for claw install/upgrade/destroy (claw installer-policy --target gcp)',
    'stage: GA',
    'includedPermissions:',
    ...GCP_INSTALLER_PERMISSIONS.map((p) => `- ${p}`),
    '',
  ].join('\n');
}

/** IAM writes that create or widen a role: with a boundary, allowed only when the role carries it. */
const BOUNDED_ROLE_WRITES = ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:DetachRolePolicy', 'iam:DeleteRolePolicy', 'iam:PutRolePermissionsBoundary'];

/**
 * The AWS installer policy; with `permissionsBoundary`, the role writes move to a statement
 * conditioned on `iam:PermissionsBoundary` equal to it, so the installer cannot create (or
 * widen) a role without the boundary, nor remove it (DeleteRolePermissionsBoundary is never
 * granted). Matches claw.yaml `aws.permissionsBoundary`, which the stack puts on every role.
 */
export function awsInstallerPolicy(options: { permissionsBoundary?: string; config?: ClawConfig } = {}): AwsPolicyDocument {
  const extra = options.config ? configStatements(options.config) : [];
  if (!options.permissionsBoundary) return extra.length ? { ...AWS_INSTALLER_POLICY, Statement: [...AWS_INSTALLER_POLICY.Statement, ...extra] } : AWS_INSTALLER_POLICY;
  const statements = [...AWS_INSTALLER_POLICY.Statement, ...extra].flatMap((s): AwsPolicyStatement[] => {
    if (s.Sid !== 'ClawRolesOnly') return [s];
    const roles = s.Resource.filter((r) => r.includes(':role/'));
    return [
      { ...s, Action: s.Action.filter((a) => !BOUNDED_ROLE_WRITES.includes(a)) },
      {
        Sid: 'ClawRolesWithBoundary',
        Effect: 'Allow',
        Action: BOUNDED_ROLE_WRITES,
        Resource: roles,
        Condition: { StringEquals: { 'iam:PermissionsBoundary': options.permissionsBoundary! } },
      },
    ];
  });
  return { ...AWS_INSTALLER_POLICY, Statement: statements };
}


/**
 * What only claw.yaml names, one resource each: the tenants' own keys (BYOK: the stack reads
 * them and grants the tenant's role on them), the state bucket, and the state's secrets key.
 */
function configStatements(config: ClawConfig): AwsPolicyStatement[] {
  const out: AwsPolicyStatement[] = [];
  const byok = config.tenants.flatMap((t) => (t.key.type === 'byok' ? [t.key.ref] : []));
  if (byok.length) {
    out.push({ Sid: 'TenantOwnKeys', Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:CreateGrant', 'kms:RetireGrant', 'kms:ListGrants'], Resource: [...new Set(byok)].sort() });
  }
  const bucket = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(config.state?.backend ?? '');
  if (bucket) {
    const prefix = bucket[2] ? `${bucket[2].replace(/\/$/, '')}/` : '';
    out.push({ Sid: 'PulumiState', Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: [`arn:aws:s3:::${bucket[1]}`] });
    out.push({ Sid: 'PulumiStateObjects', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: [`arn:aws:s3:::${bucket[1]}/${prefix}*`] });
  }
  const stateKey = /^awskms:\/\/([^?]+)/.exec(config.state?.secretsProvider ?? '')?.[1];
  if (stateKey) {
    const crypto = ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];
    out.push(
      stateKey.startsWith('arn:')
        ? { Sid: 'StateSecretsKey', Effect: 'Allow', Action: crypto, Resource: [stateKey] }
        : // By alias or key id: KMS authorizes the key, so the alias is matched by condition.
          stateKey.startsWith('alias/')
          ? { Sid: 'StateSecretsKey', Effect: 'Allow', Action: crypto, Resource: ['arn:aws:kms:*:*:key/*'], Condition: { StringEquals: { 'kms:RequestAlias': stateKey } } }
          : { Sid: 'StateSecretsKey', Effect: 'Allow', Action: crypto, Resource: [`arn:aws:kms:*:*:key/${stateKey}`] },
    );
  }
  return out;
}
