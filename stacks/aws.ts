/**
 * The AWS program: a pure function of the loaded claw.yaml (DESIGN.md invariant 6).
 * `claw install` runs it as a Pulumi inline program; `claw plan --offline`, the tests and
 * bench/synth.bench.ts run it under mocks (policies/infra/synth.ts).
 *
 *   network ─ cluster (system + tainted gVisor sandbox pool) ─ runtime identities (Pod Identity)
 *   platform key (EKS secrets, RDS, EBS) · unseal key (OpenBao)
 *   metadata DB (RDS Postgres; Temporal's databases on it)
 *   per tenant: role · key (or BYOK grants) · bucket (or BYOB reference) · lake (Glue/Iceberg/Athena)
 *   Kubernetes: sandbox namespace · Temporal · OpenBao · runtime Deployments · ALB with TLS
 *
 * The config is checked again here, and every problem is one ClawError naming the field,
 * *before* any resource is declared.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { ClawError } from '../core/errors.js';
import { formatPath } from '../core/config/load.js';
import { ClawConfigSchema, type ClawConfig } from '../core/config/schema.js';
import { Cluster, clusterRole } from '../components/aws/cluster.js';
import { RuntimeIdentity } from '../components/aws/iam.js';
import { GatewayIngress } from '../components/aws/ingress.js';
import { MetadataDb } from '../components/aws/metadata-db.js';
import { installTags } from '../contracts/aws.js';
import { Network } from '../components/aws/network.js';
import { platformKey, platformKeyPolicy, unsealKeyPolicy } from '../components/aws/platform-keys.js';
import { AwsTenant } from '../components/aws/tenant.js';
import { kubernetesLayer } from './kubernetes-layer.js';

export type AwsConfig = ClawConfig & { target: 'aws'; aws: NonNullable<ClawConfig['aws']> };

function invalid(field: string, message: string, hint: string): ClawError {
  return new ClawError('CONFIG_INVALID', `${field}: ${message}`, { hint, details: { field } });
}

const arnRegion = (arn: string) => arn.split(':')[3];

/** Everything an AWS install needs from claw.yaml, checked up front. */
export function validateAwsConfig(config: ClawConfig): AwsConfig {
  // A config built in code (not by loadConfig) gets the same schema check.
  const parsed = ClawConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = formatPath(issue.path) || '(top level)';
    throw invalid(field, issue.message, `fix '${field}' in claw.yaml and run 'claw config validate'`);
  }
  if (config.target !== 'aws' || !config.aws) {
    throw new ClawError('CONFIG_TARGET_MISMATCH', `the aws stack needs target 'aws' with an 'aws:' section (target is '${config.target}')`, {
      hint: "set 'target: aws' and 'aws: { region: ... }' in claw.yaml",
    });
  }
  const region = config.aws.region;
  if (!config.aws.certificateArn && !config.aws.domain) {
    throw invalid('aws.certificateArn', 'the gateway serves HTTPS only and has no certificate', "set aws.certificateArn to an ACM certificate ARN, or aws.domain to have one requested");
  }
  if (config.aws.certificateArn && arnRegion(config.aws.certificateArn) !== region) {
    throw invalid('aws.certificateArn', `the certificate is in ${arnRegion(config.aws.certificateArn)}, the install in ${region}`, `an ALB needs an ACM certificate in ${region}`);
  }
  for (const component of ['worker', 'gateway', 'codecServer'] as const) {
    if (!config.images[component]) {
      throw invalid(`images.${component}`, 'a cloud install runs images pinned by digest and this one is missing', `set images.${component}: <registry>/<name>@sha256:<digest> (see 'claw images')`);
    }
  }
  config.tenants.forEach((tenant, i) => {
    if (tenant.key.type === 'byok' && arnRegion(tenant.key.ref) !== region) {
      throw invalid(
        `tenants[${i}].key.ref`,
        `tenant '${tenant.id}' brings a key in ${arnRegion(tenant.key.ref)}, but S3 and Athena in ${region} can only use a key in ${region}`,
        `create (or replicate, with a multi-Region key) the key in ${region} and use that ARN`,
      );
    }
  });
  return config as AwsConfig;
}

export interface AwsTenantOutputs {
  key: pulumi.Output<string>;
  managedKey: boolean;
  bucket: pulumi.Output<string>;
  prefix: string;
  managedBucket: boolean;
  roleArn: pulumi.Output<string>;
  /** The read-only role the gateway assumes to query this tenant's lake (the runs pages). */
  traceReaderRoleArn: pulumi.Output<string>;
  database: string;
  workgroup: string;
  /** BYOB: the bucket policy the customer applies to their bucket. */
  requiredBucketPolicy?: pulumi.Output<string>;
}

export interface AwsStackOutputs {
  gatewayUrl: pulumi.Output<string>;
  codecServerUrl: pulumi.Output<string>;
  temporalAddress: pulumi.Output<string>;
  runtimeNamespace: pulumi.Output<string>;
  kubeconfig: pulumi.Output<string>;
  clusterName: pulumi.Output<string>;
  certificateValidation?: pulumi.Output<{ name: string; type: string; value: string }[]>;
  tenants: Record<string, AwsTenantOutputs>;
}

export function awsStack(config: ClawConfig): AwsStackOutputs {
  const cfg = validateAwsConfig(config);
  const install = cfg.name;
  const region = cfg.aws.region;

  // Every role the stack creates carries the customer's permissions boundary, when there is one.
  const boundary = cfg.aws.permissionsBoundary;
  if (boundary) {
    pulumi.runtime.registerStackTransformation((args) =>
      args.type === 'aws:iam/role:Role' ? { props: { ...args.props, permissionsBoundary: boundary }, opts: args.opts } : undefined,
    );
  }
  const provider = new aws.Provider('aws', { region, defaultTags: { tags: installTags(install) } });
  const onAws = { provider };
  const account = aws.getCallerIdentityOutput({}, onAws);
  const partition = aws.getPartitionOutput({}, onAws);

  const network = new Network('network', { install, region, vpcCidr: cfg.aws.vpcCidr, availabilityZones: cfg.aws.availabilityZones, provider });

  const eksRole = clusterRole('cluster-role', install, onAws);
  const platform = platformKey(
    'platform-key',
    {
      install,
      purpose: 'platform',
      description: `Claw ${install}: EKS secrets, metadata DB, node volumes`,
      policy: pulumi
        .all([partition.partition, account.accountId, eksRole.arn])
        .apply(([p, accountId, clusterRoleArn]) => JSON.stringify(platformKeyPolicy({ partition: p, accountId, region, clusterRoleArn }))),
    },
    onAws,
  );

  const cluster = new Cluster('cluster', {
    install,
    region,
    vpcId: network.vpcId,
    privateSubnetIds: network.privateSubnetIds,
    platformKeyArn: platform.key.arn,
    clusterRole: eksRole,
    gvisorVersion: cfg.versions.gvisor,
    ...(cfg.aws.authorizedNetworks ? { publicAccessCidrs: cfg.aws.authorizedNetworks } : {}),
    provider,
  });

  const identities = new RuntimeIdentity('runtime', { install, clusterName: cluster.name, accountId: account.accountId, partition: partition.partition, provider });
  const unseal = platformKey(
    'unseal-key',
    {
      install,
      purpose: 'openbao-unseal',
      description: `Claw ${install}: OpenBao auto-unseal`,
      policy: pulumi
        .all([partition.partition, account.accountId, identities.openbaoRoleArn])
        .apply(([p, accountId, roleArn]) => JSON.stringify(unsealKeyPolicy(p, accountId, roleArn))),
    },
    onAws,
  );

  const db = new MetadataDb('metadata', {
    install,
    vpcId: network.vpcId,
    privateSubnetIds: network.privateSubnetIds,
    clientSecurityGroupId: cluster.securityGroupId,
    platformKeyArn: platform.key.arn,
    provider,
  });

  const tenants = cfg.tenants.map(
    (tenant) =>
      new AwsTenant(tenant.id, {
        install,
        tenant,
        region,
        partition: partition.partition,
        accountId: account.accountId,
        workerRoleArn: identities.workerRoleArn,
        gatewayRoleArn: identities.gatewayRoleArn,
        gatewayRoleName: identities.gatewayRoleName,
        codecServerRoleArn: identities.codecServerRoleArn,
        provider,
      }),
  );

  const ingress = new GatewayIngress('gateway', {
    install,
    vpcId: network.vpcId,
    vpcCidr: network.vpcCidr,
    publicSubnetIds: network.publicSubnetIds,
    nodeSecurityGroupId: cluster.securityGroupId,
    systemAutoscalingGroup: cluster.systemNodeGroup.resources.apply((r) => r[0]?.autoscalingGroups?.[0]?.name ?? ''),
    certificateArn: cfg.aws.certificateArn,
    domain: cfg.aws.domain,
    provider,
  });

  // ------------------------------------------------------------- Kubernetes
  const k8sProvider = cluster.k8sProvider;
  // RDS keeps the master password in Secrets Manager; it reaches Kubernetes only as a Secret.
  const dbPassword = pulumi.secret(
    aws.secretsmanager
      .getSecretVersionOutput({ secretId: db.masterSecretArn }, onAws)
      .secretString.apply((s) => String((JSON.parse(s) as { password?: string }).password ?? '')),
  );
  const { temporal, runtime } = kubernetesLayer({
    config: cfg,
    provider: k8sProvider,
    sandboxHandler: 'runsc',
    temporalPostgres: { host: db.address, port: 5432, user: db.username, password: dbPassword, tls: true },
    openbao: { seal: { type: 'awskms', region, kmsKeyId: unseal.key.keyId } },
    runtime: {
      database: { host: db.address, port: 5432, name: db.databaseName, user: db.username, password: dbPassword, tls: { mode: 'verify-full', caPem: db.caBundle } },
      // TenantRuntimeRef as the tenant's components named it, lake names included (the runtime never re-derives them).
      tenants: tenants.map((t) => ({
        id: t.runtime.id,
        keyRef: t.runtime.keyRef,
        bucket: t.runtime.bucket,
        prefix: t.runtime.prefix || undefined,
        roleArn: t.runtime.roleArn,
        traceReader: t.runtime.traceReader,
        database: t.runtime.database,
        workgroup: t.runtime.workgroup,
      })),
    },
  });

  return {
    gatewayUrl: ingress.url,
    codecServerUrl: ingress.codecServerUrl,
    temporalAddress: temporal.address,
    runtimeNamespace: runtime.namespace,
    kubeconfig: cluster.kubeconfig,
    clusterName: cluster.name,
    ...(ingress.certificateValidation ? { certificateValidation: ingress.certificateValidation } : {}),
    tenants: Object.fromEntries(
      tenants.map((t) => [
        t.runtime.id,
        {
          key: t.key.keyArn,
          managedKey: t.key.managed,
          bucket: t.storage.bucketName,
          prefix: t.storage.prefix,
          managedBucket: t.storage.managed,
          roleArn: t.roleArn,
          traceReaderRoleArn: t.traceReaderRoleArn,
          database: t.lakehouse.databaseName,
          workgroup: t.lakehouse.workgroupName,
          ...(t.storage.requiredBucketPolicy ? { requiredBucketPolicy: t.storage.requiredBucketPolicy } : {}),
        },
      ]),
    ),
  };
}
