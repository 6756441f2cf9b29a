/**
 * Identities of the runtime on EKS (EKS Pod Identity): one role per component, trusted
 * only by the EKS Pod Identity service for that component's namespace and service account.
 *
 * - worker: may only assume tenant roles (one per tenant, under a dedicated IAM path).
 *   Each per-tenant Temporal Worker runs with its tenant's role, so it cannot touch
 *   another tenant's key or bucket even by mistake.
 * - gateway: no IAM policy at all. Tenant key policies let it encrypt (never decrypt)
 *   under an encryption context naming the tenant; it cannot read tenant data.
 * - codec-server: no IAM policy; key policies let it decrypt Temporal payloads only.
 * - openbao: no IAM policy; the unseal key's policy names it.
 * - tenant roles: the tenant's key, bucket (or BYOB prefix), Glue database and its two
 *   lake tables, Athena workgroup, and nothing else.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { OPENBAO_NAMESPACE, OPENBAO_SERVICE_ACCOUNT, RUNTIME_NAMESPACE, SERVICE_ACCOUNTS, installTags, physicalName, tenantTags } from '../../contracts/aws.js';
import { TENANT_KEY_ACTIONS, type PolicyDocument } from './tenant-key.js';
import { TRACE_STAGING_TABLE } from '../../runtime/traces/schema.js';

/** IAM path of every tenant role of an install; the worker may assume roles under it only. */
export function tenantRolePath(install: string): string {
  return `/claw/${install}/tenants/`;
}

export function podIdentityTrust(accountId: string, namespace: string, serviceAccount: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'EksPodIdentity',
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          StringEquals: {
            'aws:SourceAccount': accountId,
            'aws:RequestTag/kubernetes-namespace': namespace,
            'aws:RequestTag/kubernetes-service-account': serviceAccount,
          },
        },
      },
    ],
  };
}

export function workerPolicy(partition: string, accountId: string, install: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AssumeTenantRoles',
        Effect: 'Allow',
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Resource: `arn:${partition}:iam::${accountId}:role${tenantRolePath(install)}*`,
      },
    ],
  };
}

export interface TenantRolePolicyInput {
  partition: string;
  region: string;
  accountId: string;
  keyArn: string;
  bucketArn: string;
  /** '' or a BYOB prefix ending in '/'. */
  prefix: string;
  databaseName: string;
  /** The Iceberg table the lake MERGEs into. */
  tableName: string;
  /** The external Parquet table it MERGEs from (TenantLakehouse.stagingTableName). */
  stagingTableName?: string;
  workgroupName: string;
}

/**
 * Glue actions on the tenant's lake tables, from what the lake does through Athena (all
 * under the role's own credentials): read both tables' definitions (planning the MERGE and
 * queries), and commit Iceberg snapshots to `traces` (Athena's Iceberg writes swap the
 * table's metadata_location with glue:UpdateTable). Nothing registers partitions: the
 * staging table uses partition projection and Iceberg keeps partitions in its own metadata,
 * so no Batch/CreatePartition; GetPartitions stays for planners that list them. No
 * CreateTable/DeleteTable: the stack declares the tables (invariant 6).
 */
export const TENANT_LAKE_READ_ACTIONS = ['glue:GetTable', 'glue:GetTables', 'glue:GetPartitions'] as const;
export const TENANT_LAKE_COMMIT_ACTIONS = ['glue:UpdateTable'] as const;

/** Everything a tenant's workload may do: its key, its objects, its lake. */
export function tenantRolePolicy(p: TenantRolePolicyInput): PolicyDocument {
  const glue = (kind: string, name: string) => `arn:${p.partition}:glue:${p.region}:${p.accountId}:${kind}/${name}`;
  const catalog = `arn:${p.partition}:glue:${p.region}:${p.accountId}:catalog`;
  const database = glue('database', p.databaseName);
  const traces = glue('table', `${p.databaseName}/${p.tableName}`);
  const staging = glue('table', `${p.databaseName}/${p.stagingTableName ?? TRACE_STAGING_TABLE}`);
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'TenantKey', Effect: 'Allow', Action: [...TENANT_KEY_ACTIONS], Resource: p.keyArn },
      {
        Sid: 'TenantObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        Resource: `${p.bucketArn}/${p.prefix}*`,
      },
      {
        Sid: 'TenantBucketList',
        Effect: 'Allow',
        Action: ['s3:ListBucket', 's3:GetBucketLocation'],
        Resource: p.bucketArn,
        ...(p.prefix ? { Condition: { StringLike: { 's3:prefix': [`${p.prefix}*`] } } } : {}),
      },
      // Glue authorizes a table action on the catalog, the database and the table.
      { Sid: 'TenantLakeDatabase', Effect: 'Allow', Action: ['glue:GetDatabase'], Resource: [catalog, database] },
      { Sid: 'TenantLakeTables', Effect: 'Allow', Action: [...TENANT_LAKE_READ_ACTIONS], Resource: [catalog, database, traces, staging] },
      { Sid: 'TenantLakeCommit', Effect: 'Allow', Action: [...TENANT_LAKE_COMMIT_ACTIONS], Resource: [catalog, database, traces] },
      {
        Sid: 'TenantQueries',
        Effect: 'Allow',
        Action: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution', 'athena:GetWorkGroup'],
        Resource: `arn:${p.partition}:athena:${p.region}:${p.accountId}:workgroup/${p.workgroupName}`,
      },
    ],
  };
}

export interface RuntimeIdentityArgs {
  install: string;
  clusterName: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  partition: pulumi.Input<string>;
  provider: aws.Provider;
}

export class RuntimeIdentity extends pulumi.ComponentResource {
  readonly workerRoleArn: pulumi.Output<string>;
  readonly gatewayRoleArn: pulumi.Output<string>;
  readonly codecServerRoleArn: pulumi.Output<string>;
  readonly openbaoRoleArn: pulumi.Output<string>;

  constructor(name: string, args: RuntimeIdentityArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('claw:aws:RuntimeIdentity', name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const tags = installTags(args.install);

    const role = (component: string, namespace: string, serviceAccount: string) => {
      const r = new aws.iam.Role(
        `${name}-${component}`,
        {
          name: physicalName(['claw', args.install, component], 64),
          path: `/claw/${args.install}/runtime/`,
          description: `Claw ${args.install}: ${component} pods (EKS Pod Identity, ${namespace}/${serviceAccount})`,
          assumeRolePolicy: pulumi.output(args.accountId).apply((account) => JSON.stringify(podIdentityTrust(account, namespace, serviceAccount))),
          maxSessionDuration: 3600,
          tags,
        },
        child,
      );
      new aws.eks.PodIdentityAssociation(
        `${name}-${component}`,
        { clusterName: args.clusterName, namespace, serviceAccount, roleArn: r.arn, tags },
        child,
      );
      return r;
    };

    const worker = role('worker', RUNTIME_NAMESPACE, SERVICE_ACCOUNTS.worker);
    new aws.iam.RolePolicy(
      `${name}-worker-assume-tenants`,
      {
        role: worker.name,
        policy: pulumi.all([args.partition, args.accountId]).apply(([partition, account]) => JSON.stringify(workerPolicy(partition, account, args.install))),
      },
      child,
    );
    this.workerRoleArn = worker.arn;
    this.gatewayRoleArn = role('gateway', RUNTIME_NAMESPACE, SERVICE_ACCOUNTS.gateway).arn;
    this.codecServerRoleArn = role('codec-server', RUNTIME_NAMESPACE, SERVICE_ACCOUNTS.codecServer).arn;
    this.openbaoRoleArn = role('openbao', OPENBAO_NAMESPACE, OPENBAO_SERVICE_ACCOUNT).arn;
    this.registerOutputs({ workerRoleArn: this.workerRoleArn, gatewayRoleArn: this.gatewayRoleArn });
  }
}

/** A tenant's workload role: assumable only by the worker role. Its policy is attached by `AwsTenant`. */
export function tenantRole(
  name: string,
  args: { install: string; tenantId: string; workerRoleArn: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): aws.iam.Role {
  return new aws.iam.Role(
    name,
    {
      name: physicalName(['claw', args.install, 't', args.tenantId], 64),
      path: tenantRolePath(args.install),
      description: `Claw ${args.install}: workload of tenant ${args.tenantId}`,
      assumeRolePolicy: pulumi.output(args.workerRoleArn).apply((workerRoleArn) =>
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Sid: 'WorkerOnly', Effect: 'Allow', Principal: { AWS: workerRoleArn }, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
        }),
      ),
      maxSessionDuration: 3600,
      tags: tenantTags(args.install, args.tenantId),
    },
    opts,
  );
}
