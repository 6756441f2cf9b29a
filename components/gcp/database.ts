/**
 * The metadata DB: Cloud SQL for PostgreSQL, private IP only (no public address), TLS
 * required, encrypted with the install's platform key (CMEK), regional HA, daily backups
 * with point-in-time recovery. Separate databases for the runtime and for Temporal's
 * persistence and visibility stores, each with its own user and a generated password.
 */
import * as pulumi from '@pulumi/pulumi';
import * as gcp from '@pulumi/gcp';
import * as random from '@pulumi/random';

export const DATABASES = { runtime: 'claw', temporal: 'temporal', temporalVisibility: 'temporal_visibility' } as const;
export const DB_USERS = { runtime: 'claw', temporal: 'temporal' } as const;

export interface MetadataDbArgs {
  provider: gcp.Provider;
  project: string;
  region: string;
  networkId: pulumi.Input<string>;
  /** The private services peering; the instance waits for it. */
  privateServicesConnection: pulumi.Resource;
  kmsKeyId: pulumi.Input<string>;
  tier?: string;
  backupRetentionDays?: number;
}

export function instanceSettings(args: MetadataDbArgs): gcp.types.input.sql.DatabaseInstanceSettings {
  return {
    tier: args.tier ?? 'db-custom-2-7680',
    edition: 'ENTERPRISE',
    availabilityType: 'REGIONAL',
    diskAutoresize: true,
    deletionProtectionEnabled: true,
    ipConfiguration: { ipv4Enabled: false, privateNetwork: args.networkId, sslMode: 'ENCRYPTED_ONLY' },
    backupConfiguration: {
      enabled: true,
      pointInTimeRecoveryEnabled: true,
      startTime: '03:00',
      transactionLogRetentionDays: 7,
      backupRetentionSettings: { retainedBackups: args.backupRetentionDays ?? 14, retentionUnit: 'COUNT' },
    },
    databaseFlags: [
      { name: 'log_connections', value: 'on' },
      { name: 'log_disconnections', value: 'on' },
      { name: 'cloudsql.enable_pgaudit', value: 'on' },
    ],
    insightsConfig: { queryInsightsEnabled: true, recordApplicationTags: false, recordClientAddress: false },
  };
}

export class MetadataDb extends pulumi.ComponentResource {
  /** Private IP the runtime and Temporal connect to. */
  readonly host: pulumi.Output<string>;
  readonly passwords: Record<keyof typeof DB_USERS, pulumi.Output<string>>;
  readonly instanceName: pulumi.Output<string>;
  /**
   * The instance's own server CA (PEM). The runtime verifies the server against it with
   * sslmode=verify-ca: the server certificate names the instance, not its private IP.
   */
  readonly serverCaPem: pulumi.Output<string>;

  constructor(name: string, args: MetadataDbArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:gcp:MetadataDb', name, {}, opts);
    if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a gcp provider is required' });
    if (!args.kmsKeyId) throw new pulumi.InputPropertyError({ propertyPath: 'kmsKeyId', reason: 'the metadata DB is encrypted with a platform key (CMEK)' });
    const child = { parent: this, provider: args.provider };

    const agent = new gcp.projects.ServiceIdentity(`${name}-sql-agent`, { project: args.project, service: 'sqladmin.googleapis.com' }, child);
    const agentGrant = new gcp.kms.CryptoKeyIAMMember(`${name}-sql-agent-key`, {
      cryptoKeyId: args.kmsKeyId,
      role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
      member: agent.member,
    }, child);

    const instance = new gcp.sql.DatabaseInstance(`${name}`, {
      name,
      region: args.region,
      databaseVersion: 'POSTGRES_16',
      encryptionKeyName: args.kmsKeyId,
      deletionProtection: true,
      settings: instanceSettings(args),
    }, { ...child, dependsOn: [agentGrant, args.privateServicesConnection] });

    for (const [key, database] of Object.entries(DATABASES)) {
      new gcp.sql.Database(`${name}-${key}`, { name: database, instance: instance.name }, child);
    }
    const passwords = {} as Record<keyof typeof DB_USERS, pulumi.Output<string>>;
    for (const [key, user] of Object.entries(DB_USERS) as [keyof typeof DB_USERS, string][]) {
      const password = new random.RandomPassword(`${name}-${key}-password`, { length: 32, special: false }, { parent: this });
      new gcp.sql.User(`${name}-${key}-user`, { name: user, instance: instance.name, password: password.result }, child);
      passwords[key] = pulumi.secret(password.result);
    }

    this.host = instance.privateIpAddress;
    this.instanceName = instance.name;
    this.serverCaPem = instance.serverCaCerts.apply((certs) => certs[0]?.cert ?? '');
    this.passwords = passwords;
    this.registerOutputs({ host: this.host, instanceName: this.instanceName });
  }
}
