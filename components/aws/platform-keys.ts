/**
 * Install-level keys (not tenant keys): the platform key encrypts the EKS secrets, the
 * metadata database, its managed master password, and the nodes' EBS volumes; the unseal
 * key lets OpenBao auto-unseal. Both rotate yearly and name their users explicitly.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { installTags } from '../../contracts/aws.js';
import { KEY_ADMIN_ACTIONS, type PolicyDocument } from './tenant-key.js';

const USE_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey'];

export interface PlatformKeyPolicyInput {
  partition: string;
  accountId: string;
  region: string;
  clusterRoleArn: string;
}

export function platformKeyPolicy(p: PlatformKeyPolicyInput): PolicyDocument {
  const root = `arn:${p.partition}:iam::${p.accountId}:root`;
  const autoscaling = `arn:${p.partition}:iam::${p.accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'KeyAdministration', Effect: 'Allow', Principal: { AWS: root }, Action: [...KEY_ADMIN_ACTIONS], Resource: '*' },
      // EKS envelope-encrypts Kubernetes Secrets with the cluster role's credentials.
      { Sid: 'EksSecrets', Effect: 'Allow', Principal: { AWS: p.clusterRoleArn }, Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:CreateGrant'], Resource: '*' },
      // RDS, Secrets Manager and EC2 (EBS) use the key on the caller's behalf, only via the service.
      {
        Sid: 'AccountUseViaServices',
        Effect: 'Allow',
        Principal: { AWS: root },
        Action: [...USE_ACTIONS, 'kms:CreateGrant'],
        Resource: '*',
        Condition: {
          StringEquals: {
            'kms:CallerAccount': p.accountId,
            'kms:ViaService': [`rds.${p.region}.amazonaws.com`, `secretsmanager.${p.region}.amazonaws.com`, `ec2.${p.region}.amazonaws.com`],
          },
        },
      },
      // Node groups launch encrypted volumes through the Auto Scaling service-linked role.
      { Sid: 'AutoScalingVolumes', Effect: 'Allow', Principal: { AWS: autoscaling }, Action: USE_ACTIONS, Resource: '*' },
      {
        Sid: 'AutoScalingVolumeGrants',
        Effect: 'Allow',
        Principal: { AWS: autoscaling },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: { Bool: { 'kms:GrantIsForAWSResource': true } },
      },
    ],
  };
}

export function unsealKeyPolicy(partition: string, accountId: string, openbaoRoleArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'KeyAdministration', Effect: 'Allow', Principal: { AWS: `arn:${partition}:iam::${accountId}:root` }, Action: [...KEY_ADMIN_ACTIONS], Resource: '*' },
      { Sid: 'OpenBaoAutoUnseal', Effect: 'Allow', Principal: { AWS: openbaoRoleArn }, Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'], Resource: '*' },
    ],
  };
}

export function platformKey(
  name: string,
  args: { install: string; purpose: string; description: string; policy: pulumi.Input<string> },
  opts: pulumi.CustomResourceOptions,
): { key: aws.kms.Key; alias: aws.kms.Alias } {
  const key = new aws.kms.Key(
    name,
    { description: args.description, enableKeyRotation: true, rotationPeriodInDays: 365, deletionWindowInDays: 30, policy: args.policy, tags: installTags(args.install) },
    opts,
  );
  const alias = new aws.kms.Alias(name, { name: `alias/claw/${args.install}/${args.purpose}`, targetKeyId: key.keyId }, opts);
  return { key, alias };
}
