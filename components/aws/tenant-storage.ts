/**
 * A tenant's bucket: SSE-KMS under the tenant's key with S3 bucket keys, public access
 * blocked, ACLs disabled, versioning, a TLS-only bucket policy that also refuses uploads
 * under any other key, and lifecycle rules. BYOB: no bucket of ours — a reference, and
 * the bucket-policy statements the customer must apply (`claw plan` prints them).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Tenant } from '../../core/config/schema.js';
import { physicalName, tenantTags } from '../../contracts/aws.js';
import type { PolicyDocument, PolicyStatement } from './tenant-key.js';
import { awsLakeKeys } from '../../runtime/traces/schema.js';

/** Object prefixes inside a tenant's bucket (or BYOB prefix). */
export const PREFIXES = { blobs: 'blobs/', lake: 'lake/', athenaResults: 'athena-results/' } as const;

/**
 * The objects a tenant's trace reader may touch (IAM statements; a BYOB bucket policy adds
 * the principal): the lake root read, the Athena result location read and written (Athena
 * writes a query's results as its caller), listing only under those two; not the blobs.
 */
export function traceReaderObjectStatements(bucketArn: string, prefix: string): PolicyStatement[] {
  const lakeRoot = awsLakeKeys(prefix).root;
  const results = `${prefix}${PREFIXES.athenaResults}`;
  return [
    { Sid: 'LakeObjectsRead', Effect: 'Allow', Action: ['s3:GetObject'], Resource: `${bucketArn}/${lakeRoot}*` },
    { Sid: 'QueryResults', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], Resource: `${bucketArn}/${results}*` },
    { Sid: 'LakeList', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: bucketArn, Condition: { StringLike: { 's3:prefix': [`${lakeRoot}*`, `${results}*`] } } },
    { Sid: 'BucketLocation', Effect: 'Allow', Action: ['s3:GetBucketLocation'], Resource: bucketArn },
  ];
}

export interface BucketPolicyInput {
  bucketArn: string;
  /** '' for a managed bucket; the BYOB prefix (with a trailing '/') otherwise. */
  prefix: string;
  keyArn: string;
  tenantRoleArn: string;
  /** The tenant's trace reader (the gateway's runs pages): read-only, the lake and Athena's results only. */
  traceReaderRoleArn?: string;
}

/** Statements every tenant bucket carries: TLS only; objects only under the tenant's key. */
export function tenantBucketGuards(input: BucketPolicyInput): PolicyStatement[] {
  return [
    {
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [input.bucketArn, `${input.bucketArn}/*`],
      Condition: { Bool: { 'aws:SecureTransport': false } },
    },
    {
      Sid: 'DenyOtherKeys',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: `${input.bucketArn}/${input.prefix}*`,
      Condition: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption-aws-kms-key-id': input.keyArn } },
    },
    {
      Sid: 'DenyUnencryptedUploads',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: `${input.bucketArn}/${input.prefix}*`,
      Condition: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
    },
  ];
}

/** What a BYOB customer adds to their bucket policy so the tenant's role can use its prefix. */
export function byobBucketPolicy(input: BucketPolicyInput): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ClawTenantObjects',
        Effect: 'Allow',
        Principal: { AWS: input.tenantRoleArn },
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        Resource: `${input.bucketArn}/${input.prefix}*`,
      },
      {
        Sid: 'ClawTenantList',
        Effect: 'Allow',
        Principal: { AWS: input.tenantRoleArn },
        Action: ['s3:ListBucket', 's3:GetBucketLocation'],
        Resource: input.bucketArn,
        ...(input.prefix ? { Condition: { StringLike: { 's3:prefix': [`${input.prefix}*`] } } } : {}),
      },
      ...(input.traceReaderRoleArn
        ? traceReaderObjectStatements(input.bucketArn, input.prefix).map((s) => ({ ...s, Sid: `ClawTraceReader${s.Sid}`, Principal: { AWS: input.traceReaderRoleArn! } }))
        : []),
      ...tenantBucketGuards(input),
    ],
  };
}

export interface TenantStorageArgs {
  install: string;
  tenantId: string;
  bucket: Tenant['bucket'];
  keyArn: pulumi.Input<string>;
  tenantRoleArn: pulumi.Input<string>;
  /** BYOB: named in the bucket policy the customer applies. */
  traceReaderRoleArn?: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  region: string;
  provider: aws.Provider;
}

export class TenantStorage extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  /** '' for a managed bucket, the BYOB prefix (ending in '/') otherwise. */
  readonly prefix: string;
  readonly managed: boolean;
  /** BYOB only: the bucket policy the customer must apply, as JSON. */
  readonly requiredBucketPolicy?: pulumi.Output<string>;

  constructor(name: string, args: TenantStorageArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('claw:aws:TenantStorage', name, {}, opts);
    const child = { parent: this, provider: args.provider };
    this.managed = args.bucket.type === 'managed';

    if (args.bucket.type === 'byob') {
      const raw = args.bucket.prefix ?? '';
      this.prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
      this.bucketName = pulumi.output(args.bucket.name);
      this.bucketArn = pulumi.output(`arn:aws:s3:::${args.bucket.name}`);
      this.requiredBucketPolicy = pulumi
        .all([this.bucketArn, args.keyArn, args.tenantRoleArn, args.traceReaderRoleArn])
        .apply(([bucketArn, keyArn, tenantRoleArn, traceReaderRoleArn]) =>
          JSON.stringify(byobBucketPolicy({ bucketArn, prefix: this.prefix, keyArn, tenantRoleArn, ...(traceReaderRoleArn ? { traceReaderRoleArn } : {}) }), null, 2),
        );
      this.registerOutputs({ bucketName: this.bucketName, requiredBucketPolicy: this.requiredBucketPolicy });
      return;
    }

    this.prefix = '';
    const bucketName = pulumi
      .output(args.accountId)
      .apply((account) => physicalName(['claw', args.install, args.tenantId, account, args.region], 63));
    const bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      { bucket: bucketName, forceDestroy: false, objectLockEnabled: false, tags: tenantTags(args.install, args.tenantId) },
      // The tenant's data outlives its removal from the stack (its key decides whether it stays readable).
      { ...child, retainOnDelete: true },
    );
    const ownership = new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } },
      child,
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      child,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-sse`,
      {
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: args.keyArn }, bucketKeyEnabled: true }],
      },
      child,
    );
    new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } }, child);
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          { id: 'abort-incomplete-uploads', status: 'Enabled', filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
          { id: 'expire-noncurrent-versions', status: 'Enabled', filter: {}, noncurrentVersionExpiration: { noncurrentDays: 30 } },
          { id: 'expire-athena-results', status: 'Enabled', filter: { prefix: PREFIXES.athenaResults }, expiration: { days: 30 } },
        ],
      },
      child,
    );
    const policy = pulumi
      .all([bucket.arn, args.keyArn, args.tenantRoleArn])
      .apply(([bucketArn, keyArn, tenantRoleArn]) =>
        JSON.stringify({ Version: '2012-10-17', Statement: tenantBucketGuards({ bucketArn, prefix: '', keyArn, tenantRoleArn }) }),
      );
    // The public-access block must exist first, or a policy could briefly be evaluated without it.
    new aws.s3.BucketPolicy(`${name}-policy`, { bucket: bucket.id, policy }, { ...child, dependsOn: [publicAccess, ownership] });

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.registerOutputs({ bucketName: this.bucketName });
  }
}
