/**
 * Everything one tenant owns on AWS, under one component whose name is the tenant id
 * (`claw:aws:Tenant`; the offline planner groups resources by it): the tenant's role,
 * key (or BYOK grants), bucket (or BYOB reference), lake, and the role's policy; and its
 * trace reader, the read-only role the gateway assumes (and only it) for the runs pages.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Tenant } from '../../core/config/schema.js';
import { gatewayReaderPolicy, tenantRole, tenantRolePolicy, traceReaderPolicy, traceReaderRole } from './iam.js';
import { TenantKey, traceReaderGrants } from './tenant-key.js';
import { TenantLakehouse } from './lakehouse.js';
import { TenantStorage } from './tenant-storage.js';

export interface AwsTenantArgs {
  install: string;
  tenant: Tenant;
  region: string;
  partition: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  workerRoleArn: pulumi.Input<string>;
  gatewayRoleArn: pulumi.Input<string>;
  /** The gateway role's name: it gets the right to assume this tenant's trace reader. */
  gatewayRoleName: pulumi.Input<string>;
  codecServerRoleArn: pulumi.Input<string>;
  provider: aws.Provider;
}

/** What the runtime needs to serve a tenant (its tenants.json entries: components/k8s/runtime.ts tenantsFor). */
export interface TenantRuntimeRef {
  id: string;
  keyRef: pulumi.Output<string>;
  bucket: pulumi.Output<string>;
  prefix: string;
  /** The worker's tenant role. */
  roleArn: pulumi.Output<string>;
  /** The gateway's: the tenant's read-only trace reader. */
  traceReader: pulumi.Output<string>;
  database: string;
  workgroup: string;
}

export class AwsTenant extends pulumi.ComponentResource {
  readonly key: TenantKey;
  readonly storage: TenantStorage;
  readonly lakehouse: TenantLakehouse;
  readonly roleArn: pulumi.Output<string>;
  readonly traceReaderRoleArn: pulumi.Output<string>;
  readonly runtime: TenantRuntimeRef;

  /** `name` must be the tenant id. */
  constructor(name: string, args: AwsTenantArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('claw:aws:Tenant', name, {}, opts);
    if (name !== args.tenant.id) {
      throw new pulumi.InputPropertyError({ propertyPath: 'tenant.id', reason: `the component name '${name}' must be the tenant id '${args.tenant.id}'` });
    }
    const child = { parent: this, provider: args.provider };
    const common = { install: args.install, tenantId: args.tenant.id };

    const role = tenantRole(`${name}-role`, { ...common, workerRoleArn: args.workerRoleArn }, child);
    this.roleArn = role.arn;
    const reader = traceReaderRole(`${name}-trace-reader`, { ...common, gatewayRoleArn: args.gatewayRoleArn }, child);
    this.traceReaderRoleArn = reader.arn;
    this.key = new TenantKey(
      name,
      {
        ...common, key: args.tenant.key, onRemove: args.tenant.onRemove, partition: args.partition, accountId: args.accountId,
        tenantRoleArn: role.arn, gatewayRoleArn: args.gatewayRoleArn, codecServerRoleArn: args.codecServerRoleArn,
        traceReader: { roleArn: reader.arn, region: args.region }, provider: args.provider,
      },
      { parent: this },
    );
    this.storage = new TenantStorage(
      name,
      { ...common, bucket: args.tenant.bucket, keyArn: this.key.keyArn, tenantRoleArn: role.arn, traceReaderRoleArn: reader.arn, accountId: args.accountId, region: args.region, provider: args.provider },
      { parent: this },
    );
    // BYOK: the reader's grants need the bucket (its S3 grant is bound to the bucket's context).
    if (!this.key.managed) {
      traceReaderGrants(name, { ...common, keyArn: this.key.keyArn, traceReaderRoleArn: reader.arn, bucketArn: this.storage.bucketArn }, { parent: this.key, provider: args.provider });
    }
    this.lakehouse = new TenantLakehouse(
      name,
      { ...common, keyArn: this.key.keyArn, bucketName: this.storage.bucketName, prefix: this.storage.prefix, provider: args.provider },
      { parent: this },
    );
    const lake = pulumi.all([args.partition, args.accountId, this.key.keyArn, this.storage.bucketArn]).apply(([partition, accountId, keyArn, bucketArn]) => ({
      partition,
      region: args.region,
      accountId,
      keyArn,
      bucketArn,
      prefix: this.storage.prefix,
      databaseName: this.lakehouse.databaseName,
      tableName: this.lakehouse.tableName,
      workgroupName: this.lakehouse.workgroupName,
    }));
    new aws.iam.RolePolicy(`${name}-role-policy`, { role: role.name, policy: lake.apply((p) => JSON.stringify(tenantRolePolicy(p))) }, child);
    new aws.iam.RolePolicy(`${name}-trace-reader-policy`, { role: reader.name, policy: lake.apply((p) => JSON.stringify(traceReaderPolicy(p))) }, child);
    // The gateway may assume this reader and no other role of the tenant's.
    new aws.iam.RolePolicy(
      `${name}-gateway-assume-reader`,
      { name: `claw-trace-reader-${args.tenant.id}`, role: args.gatewayRoleName, policy: reader.arn.apply((arn) => JSON.stringify(gatewayReaderPolicy(arn))) },
      child,
    );

    this.runtime = {
      id: args.tenant.id,
      keyRef: this.key.keyArn,
      bucket: this.storage.bucketName,
      prefix: this.storage.prefix,
      roleArn: role.arn,
      traceReader: reader.arn,
      database: this.lakehouse.databaseName,
      workgroup: this.lakehouse.workgroupName,
    };
    this.registerOutputs({ keyArn: this.key.keyArn, bucket: this.storage.bucketName, roleArn: this.roleArn, traceReaderRoleArn: this.traceReaderRoleArn });
  }
}
