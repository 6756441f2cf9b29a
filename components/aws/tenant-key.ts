/**
 * A tenant's root key (DESIGN.md invariant 1): a KMS key per tenant with rotation on,
 * an alias, and a key policy that names only that tenant's role for use. Two shared
 * runtime roles get narrow, context-bound rights: the gateway may only *encrypt* for the
 * tenant (it signs incoming messages into Temporal payloads), the codec server may only
 * *decrypt payloads* of the tenant (the Temporal UI). Neither can read blobs or traces.
 * The tenant's trace reader (the role the gateway assumes for the runs pages) may use the
 * key through S3 only (the lake's objects, Athena's results) and decrypt trace content
 * keys only (purpose 'trace'): never a blob's, secret's or payload's key.
 *
 * BYOK: no key of ours. The same rights are given as KMS grants on the customer's key
 * (an alias ARN is resolved to its key ARN first: grants need the key itself).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Tenant } from '../../core/config/schema.js';
import { ON_REMOVE_TAG, tenantTags } from '../../contracts/aws.js';

import { ENCRYPTION_CONTEXT, kmsContextConditionKey } from '../../contracts/encryption.js';

/** Encryption-context keys the runtime binds every envelope to (contracts/encryption.ts). */
const CONTEXT_TENANT = ENCRYPTION_CONTEXT.tenant;
const CONTEXT_PURPOSE = ENCRYPTION_CONTEXT.purpose;

/** What the tenant's own role may do with its key (S3, Athena and the codec go through it). */
export const TENANT_KEY_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:DescribeKey',
] as const;
export const GATEWAY_KEY_ACTIONS = ['kms:Encrypt', 'kms:GenerateDataKey'] as const;
export const CODEC_KEY_ACTIONS = ['kms:Decrypt'] as const;
/** The trace reader: SSE-KMS of the lake objects and query results, through S3 only. */
export const READER_S3_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'] as const;
/** The trace reader: sealed trace content (its content keys are wrapped under purpose 'trace'). */
export const READER_CONTENT_KEY_ACTIONS = ['kms:Decrypt'] as const;

/**
 * Key administration without use: the account can manage the key and schedule its
 * deletion, not encrypt or decrypt. (No kms:CreateGrant: a grant would delegate use.
 * PutKeyPolicy stays, or the key could never be managed again; changes are in CloudTrail.)
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CreateAlias', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*',
  'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource',
  'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:RotateKeyOnDemand',
] as const;

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: { AWS?: string | string[]; Service?: string | string[] } | '*';
  Action: string | string[];
  /** Absent in trust policies. */
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface TenantKeyPolicyInput {
  tenantId: string;
  partition: string;
  accountId: string;
  tenantRoleArn: string;
  gatewayRoleArn: string;
  codecServerRoleArn: string;
  /** The tenant's trace reader (components/aws/iam.ts traceReaderRole) and the region its S3 calls come through. */
  traceReader?: { roleArn: string; region: string };
}

/** The key policy of one tenant's key. Pure, so tests and the guardrails can read it. */
export function tenantKeyPolicy(input: TenantKeyPolicyInput): PolicyDocument {
  const tenantContext = { [kmsContextConditionKey('tenant')]: input.tenantId };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'KeyAdministration',
        Effect: 'Allow',
        Principal: { AWS: `arn:${input.partition}:iam::${input.accountId}:root` },
        Action: [...KEY_ADMIN_ACTIONS],
        Resource: '*', // in a key policy '*' means "this key"
      },
      {
        Sid: 'TenantWorkloadUse',
        Effect: 'Allow',
        Principal: { AWS: input.tenantRoleArn },
        Action: [...TENANT_KEY_ACTIONS],
        Resource: '*',
      },
      {
        Sid: 'GatewayEncryptOnly',
        Effect: 'Allow',
        Principal: { AWS: input.gatewayRoleArn },
        Action: [...GATEWAY_KEY_ACTIONS],
        Resource: '*',
        Condition: { StringEquals: tenantContext },
      },
      {
        Sid: 'CodecServerDecryptPayloadsOnly',
        Effect: 'Allow',
        Principal: { AWS: input.codecServerRoleArn },
        Action: [...CODEC_KEY_ACTIONS],
        Resource: '*',
        Condition: { StringEquals: { ...tenantContext, [`kms:EncryptionContext:${CONTEXT_PURPOSE}`]: 'payload' } },
      },
      ...(input.traceReader ? traceReaderKeyStatements(input, input.traceReader) : []),
    ],
  };
}

function traceReaderKeyStatements(input: TenantKeyPolicyInput, reader: { roleArn: string; region: string }): PolicyStatement[] {
  const principal = { AWS: reader.roleArn };
  return [
    {
      Sid: 'TraceReaderThroughS3',
      Effect: 'Allow',
      Principal: principal,
      Action: [...READER_S3_KEY_ACTIONS],
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': `s3.${reader.region}.amazonaws.com`, 'kms:CallerAccount': input.accountId } },
    },
    {
      Sid: 'TraceReaderContentKeysOnly',
      Effect: 'Allow',
      Principal: principal,
      Action: [...READER_CONTENT_KEY_ACTIONS],
      Resource: '*',
      Condition: { StringEquals: { [kmsContextConditionKey('tenant')]: input.tenantId, [`kms:EncryptionContext:${CONTEXT_PURPOSE}`]: 'trace' } },
    },
    { Sid: 'TraceReaderKeyState', Effect: 'Allow', Principal: principal, Action: ['kms:DescribeKey'], Resource: '*' },
  ];
}

/** KMS grant operations are the plain API names, without the 'kms:' prefix. */
const grantOps = (actions: readonly string[]) => actions.map((a) => a.replace(/^kms:/, ''));

function keyGrant(
  name: string,
  suffix: string,
  args: { install: string; tenantId: string; keyArn: pulumi.Input<string>; grantee: pulumi.Input<string>; actions: readonly string[]; context?: pulumi.Input<Record<string, pulumi.Input<string>>> },
  opts: pulumi.CustomResourceOptions,
): aws.kms.Grant {
  return new aws.kms.Grant(
    `${name}-${suffix}`,
    {
      name: `claw-${args.install}-${args.tenantId}-${suffix}`,
      keyId: args.keyArn,
      granteePrincipal: args.grantee,
      operations: grantOps(args.actions),
      constraints: args.context ? [{ encryptionContextSubset: args.context }] : undefined,
      retireOnDelete: true,
    },
    opts,
  );
}

/**
 * BYOK: the trace reader's rights on the customer's key as grants (a grant cannot condition
 * on kms:ViaService, so the S3 one is bound to the bucket's encryption context instead: S3
 * Bucket Keys, which the managed bucket enables and the runtime's uploads ask for, make
 * that context the bucket ARN).
 */
export function traceReaderGrants(
  name: string,
  args: { install: string; tenantId: string; keyArn: pulumi.Input<string>; traceReaderRoleArn: pulumi.Input<string>; bucketArn: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): aws.kms.Grant[] {
  const common = { install: args.install, tenantId: args.tenantId, keyArn: args.keyArn, grantee: args.traceReaderRoleArn };
  return [
    keyGrant(name, 'grant-reader-s3', { ...common, actions: READER_S3_KEY_ACTIONS, context: pulumi.output(args.bucketArn).apply((arn) => ({ 'aws:s3:arn': arn })) }, opts),
    keyGrant(name, 'grant-reader-traces', { ...common, actions: READER_CONTENT_KEY_ACTIONS, context: { [CONTEXT_TENANT]: args.tenantId, [CONTEXT_PURPOSE]: 'trace' } }, opts),
    keyGrant(name, 'grant-reader-state', { ...common, actions: ['kms:DescribeKey'] }, opts),
  ];
}

export interface TenantKeyArgs {
  install: string;
  tenantId: string;
  key: Tenant['key'];
  /** claw.yaml's `onRemove`: whether the key is deleted when the tenant leaves the stack. */
  onRemove?: Tenant['onRemove'];
  partition: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  tenantRoleArn: pulumi.Input<string>;
  gatewayRoleArn: pulumi.Input<string>;
  codecServerRoleArn: pulumi.Input<string>;
  /** Managed keys: the tenant's trace reader, named in the key policy (BYOK: traceReaderGrants, once the bucket is known). */
  traceReader?: { roleArn: pulumi.Input<string>; region: string };
  provider: aws.Provider;
}

export class TenantKey extends pulumi.ComponentResource {
  /** The key every tenant resource encrypts under: ours, or the customer's (BYOK). */
  readonly keyArn: pulumi.Output<string>;
  readonly managed: boolean;
  readonly aliasName?: string;

  constructor(name: string, args: TenantKeyArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('claw:aws:TenantKey', name, {}, opts);
    const child = { parent: this, provider: args.provider };
    this.managed = args.key.type === 'managed';

    if (args.key.type === 'managed') {
      const policy = pulumi
        .all([args.partition, args.accountId, args.tenantRoleArn, args.gatewayRoleArn, args.codecServerRoleArn, args.traceReader?.roleArn])
        .apply(([partition, accountId, tenantRoleArn, gatewayRoleArn, codecServerRoleArn, readerRoleArn]) =>
          JSON.stringify(
            tenantKeyPolicy({
              tenantId: args.tenantId, partition, accountId, tenantRoleArn, gatewayRoleArn, codecServerRoleArn,
              ...(readerRoleArn && args.traceReader ? { traceReader: { roleArn: readerRoleArn, region: args.traceReader.region } } : {}),
            }),
          ),
        );
      const key = new aws.kms.Key(
        `${name}-key`,
        {
          description: `Claw ${args.install}: root key of tenant ${args.tenantId}`,
          keyUsage: 'ENCRYPT_DECRYPT',
          customerMasterKeySpec: 'SYMMETRIC_DEFAULT',
          enableKeyRotation: true,
          rotationPeriodInDays: 365,
          // Destroying this key crypto-shreds the tenant; give a mistaken deletion a month.
          deletionWindowInDays: 30,
          policy,
          // Marked where the customer sees it: the key goes when the tenant leaves the stack.
          tags: { ...tenantTags(args.install, args.tenantId), ...(args.onRemove === 'shred' ? { [ON_REMOVE_TAG]: 'shred' } : {}) },
        },
        // Removing the tenant leaves its key in the account unless it is to be shredded.
        { ...child, retainOnDelete: args.onRemove !== 'shred' },
      );
      this.aliasName = `alias/claw/${args.install}/${args.tenantId}`;
      new aws.kms.Alias(`${name}-alias`, { name: this.aliasName, targetKeyId: key.keyId }, child);
      this.keyArn = key.arn;
    } else {
      const resolved = aws.kms.getKeyOutput({ keyId: args.key.ref }, child);
      this.keyArn = resolved.arn;
      const common = { install: args.install, tenantId: args.tenantId, keyArn: this.keyArn };
      keyGrant(name, 'grant-tenant', { ...common, grantee: args.tenantRoleArn, actions: TENANT_KEY_ACTIONS }, child);
      keyGrant(name, 'grant-gateway', { ...common, grantee: args.gatewayRoleArn, actions: GATEWAY_KEY_ACTIONS, context: { [CONTEXT_TENANT]: args.tenantId } }, child);
      keyGrant(name, 'grant-codec', { ...common, grantee: args.codecServerRoleArn, actions: CODEC_KEY_ACTIONS, context: { [CONTEXT_TENANT]: args.tenantId, [CONTEXT_PURPOSE]: 'payload' } }, child);
    }
    this.registerOutputs({ keyArn: this.keyArn });
  }
}
