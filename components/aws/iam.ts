/**
 * Identities of the runtime on EKS (EKS Pod Identity): one role per component, trusted
 * only by the EKS Pod Identity service for that component's namespace and service account.
 *
 * - worker: may only assume tenant roles (one per tenant, under a dedicated IAM path).
 *   Each per-tenant Temporal Worker runs with its tenant's role, so it cannot touch
 *   another tenant's key or bucket even by mistake.
 * - gateway: no IAM policy of its own. Tenant key policies let it encrypt (never decrypt)
 *   under an encryption context naming the tenant; each tenant (AwsTenant) adds one policy
 *   letting it assume that tenant's trace reader, and nothing else.
 * - codec-server: no IAM policy; key policies let it decrypt Temporal payloads only.
 * - openbao: no IAM policy; the unseal key's policy names it.
 * - tenant roles: the tenant's key, bucket (or BYOB prefix), Glue database and its two
 *   lake tables, Athena workgroup, and nothing else.
 * - trace-reader roles (one per tenant, under their own path, trusted only by the gateway
 *   role, which may assume exactly these): read-only queries of that tenant's lake for the
 *   admin API's runs pages. Athena in the tenant's workgroup, Glue reads of its database and
 *   lake tables, S3 reads of its lake objects and the workgroup's result location (the only
 *   place it writes), and the tenant key only through S3 or for trace content keys (the
 *   key policy's conditions). Never the tenant's blobs, never a Glue or lake write.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { OPENBAO_NAMESPACE, OPENBAO_SERVICE_ACCOUNT, RUNTIME_NAMESPACE, SERVICE_ACCOUNTS, installTags, physicalName, tenantTags } from '../../contracts/aws.js';
import { TENANT_KEY_ACTIONS, type PolicyDocument } from './tenant-key.js';
import { TRACE_STAGING_TABLE } from '../../runtime/traces/schema.js';
import { traceReaderObjectStatements } from './tenant-storage.js';

/** IAM path of every tenant role of an install; the worker may assume roles under it only. */
export function tenantRolePath(install: string): string {
  return `/claw/${install}/tenants/`;
}

/**
 * IAM path of every trace-reader role of an install. Not under tenantRolePath: the worker's
 * AssumeRole wildcard does not even name them (their trust names only the gateway anyway).
 */
export function traceReaderRolePath(install: string): string {
  return `/claw/${install}/trace-readers/`;
}

/** A role trusted by exactly one principal (a runtime role): its trust policy. */
export function trustedBy(sid: string, principalArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Sid: sid, Effect: 'Allow', Principal: { AWS: principalArn }, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
  };
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

/** The Glue ARNs of a tenant's lake: catalog, database and its two tables. */
function lakeGlueArns(p: Pick<TenantRolePolicyInput, 'partition' | 'region' | 'accountId' | 'databaseName' | 'tableName' | 'stagingTableName'>) {
  const glue = (kind: string, name: string) => `arn:${p.partition}:glue:${p.region}:${p.accountId}:${kind}/${name}`;
  return {
    catalog: `arn:${p.partition}:glue:${p.region}:${p.accountId}:catalog`,
    database: glue('database', p.databaseName),
    traces: glue('table', `${p.databaseName}/${p.tableName}`),
    staging: glue('table', `${p.databaseName}/${p.stagingTableName ?? TRACE_STAGING_TABLE}`),
  };
}

/** Everything a tenant's workload may do: its key, its objects, its lake. */
export function tenantRolePolicy(p: TenantRolePolicyInput): PolicyDocument {
  const { catalog, database, traces, staging } = lakeGlueArns(p);
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

/** The same names as the tenant role's policy: the tenant's key, bucket (prefix), lake and workgroup. */
export type TraceReaderPolicyInput = TenantRolePolicyInput;

/** What a trace reader may run in the tenant's workgroup: start a query and read its state and results. */
export const TRACE_READER_QUERY_ACTIONS = ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:GetWorkGroup'] as const;
/** What a trace reader may do with the tenant key (the key policy narrows it further: S3 or trace content keys only). */
export const TRACE_READER_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'] as const;

/**
 * A tenant's trace reader: read-only queries of that tenant's lake, with the caller's
 * credentials all the way down (Athena reads the table's objects and writes its results as
 * the caller). Objects: the lake root (`<prefix>traces/`) read, the workgroup's result
 * location (`<prefix>athena-results/`) read and write; not the tenant's blobs. Glue: reads
 * of the database and its two lake tables, no UpdateTable. Key: Decrypt/GenerateDataKey
 * (SSE-KMS of the lake objects and of the results; the content keys of sealed trace
 * content), DescribeKey (the keyring's key-state check).
 */
export function traceReaderPolicy(p: TraceReaderPolicyInput): PolicyDocument {
  const { catalog, database, traces, staging } = lakeGlueArns(p);
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'TenantKeyRead', Effect: 'Allow', Action: [...TRACE_READER_KEY_ACTIONS], Resource: p.keyArn },
      ...traceReaderObjectStatements(p.bucketArn, p.prefix),
      { Sid: 'LakeDatabase', Effect: 'Allow', Action: ['glue:GetDatabase'], Resource: [catalog, database] },
      { Sid: 'LakeTables', Effect: 'Allow', Action: [...TENANT_LAKE_READ_ACTIONS], Resource: [catalog, database, traces, staging] },
      {
        Sid: 'TenantQueries',
        Effect: 'Allow',
        Action: [...TRACE_READER_QUERY_ACTIONS],
        Resource: `arn:${p.partition}:athena:${p.region}:${p.accountId}:workgroup/${p.workgroupName}`,
      },
    ],
  };
}

/** The gateway's right to assume one tenant's trace reader, and nothing else. */
export function gatewayReaderPolicy(readerRoleArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Sid: 'AssumeTraceReader', Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: readerRoleArn }],
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
  /** The gateway role's name: each tenant attaches its AssumeTraceReader policy to it. */
  readonly gatewayRoleName: pulumi.Output<string>;
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
    const gateway = role('gateway', RUNTIME_NAMESPACE, SERVICE_ACCOUNTS.gateway);
    this.gatewayRoleArn = gateway.arn;
    this.gatewayRoleName = gateway.name;
    this.codecServerRoleArn = role('codec-server', RUNTIME_NAMESPACE, SERVICE_ACCOUNTS.codecServer).arn;
    this.openbaoRoleArn = role('openbao', OPENBAO_NAMESPACE, OPENBAO_SERVICE_ACCOUNT).arn;
    this.registerOutputs({ workerRoleArn: this.workerRoleArn, gatewayRoleArn: this.gatewayRoleArn });
  }
}

/** A role of one tenant, assumable by one runtime role only (its trust's only statement). */
function tenantScopedRole(
  name: string,
  args: { install: string; tenantId: string; kind: 't' | 'r'; path: string; description: string; trustSid: string; trustedRoleArn: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): aws.iam.Role {
  return new aws.iam.Role(
    name,
    {
      name: physicalName(['claw', args.install, args.kind, args.tenantId], 64),
      path: args.path,
      description: args.description,
      assumeRolePolicy: pulumi.output(args.trustedRoleArn).apply((arn) => JSON.stringify(trustedBy(args.trustSid, arn))),
      maxSessionDuration: 3600,
      tags: tenantTags(args.install, args.tenantId),
    },
    opts,
  );
}

/** A tenant's workload role: assumable only by the worker role. Its policy is attached by `AwsTenant`. */
export function tenantRole(
  name: string,
  args: { install: string; tenantId: string; workerRoleArn: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): aws.iam.Role {
  return tenantScopedRole(name, {
    install: args.install, tenantId: args.tenantId, kind: 't', path: tenantRolePath(args.install),
    description: `Claw ${args.install}: workload of tenant ${args.tenantId}`, trustSid: 'WorkerOnly', trustedRoleArn: args.workerRoleArn,
  }, opts);
}

/** A tenant's trace reader: assumable only by the gateway role. Its policy is attached by `AwsTenant`. */
export function traceReaderRole(
  name: string,
  args: { install: string; tenantId: string; gatewayRoleArn: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): aws.iam.Role {
  return tenantScopedRole(name, {
    install: args.install, tenantId: args.tenantId, kind: 'r', path: traceReaderRolePath(args.install),
    description: `Claw ${args.install}: read-only trace queries of tenant ${args.tenantId} (the gateway's runs)`, trustSid: 'GatewayOnly', trustedRoleArn: args.gatewayRoleArn,
  }, opts);
}
