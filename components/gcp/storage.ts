/**
 * A tenant's blob storage: a GCS bucket encrypted by default with the tenant's key
 * (CMEK), uniform bucket-level access, public access prevention enforced, versioning
 * with a lifecycle for old versions, and object access for the tenant's data identity
 * only. BYOB: nothing is created; the component reports the binding the customer must
 * grant on their bucket (printed by `claw plan`).
 */
import * as pulumi from '@pulumi/pulumi';
import * as gcp from '@pulumi/gcp';
import type { Tenant } from '../../core/config/schema.js';
import { tenantLabels } from '../../contracts/gcp.js';

export interface RequiredBinding {
  resource: string;
  role: string;
  member: pulumi.Output<string>;
}

export interface TenantBucketArgs {
  provider: gcp.Provider;
  project: string;
  region: string;
  tenant: Pick<Tenant, 'id' | 'bucket'>;
  /** Managed bucket name (names.ts tenantBucketName). */
  bucketName: string;
  keyRef: pulumi.Input<string>;
  /** The tenant's data identity (the worker impersonates it). */
  dataIdentity: pulumi.Input<string>;
  noncurrentVersionDays?: number;
}

export const OBJECT_ROLE = 'roles/storage.objectAdmin';

export class TenantBucket extends pulumi.ComponentResource {
  readonly bucket: pulumi.Output<string>;
  readonly prefix?: string;
  readonly managed: boolean;
  /** BYOB: what the customer grants on their bucket; empty for managed buckets. */
  readonly requiredBindings: RequiredBinding[];

  constructor(name: string, args: TenantBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:gcp:TenantBucket', name, {}, opts);
    if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a gcp provider is required' });
    if (!args.tenant?.id) throw new pulumi.InputPropertyError({ propertyPath: 'tenant.id', reason: 'the tenant is required' });
    const child = { parent: this, provider: args.provider };
    const member = pulumi.interpolate`serviceAccount:${args.dataIdentity}`;
    this.managed = args.tenant.bucket.type === 'managed';

    if (args.tenant.bucket.type === 'byob') {
      this.bucket = pulumi.output(args.tenant.bucket.name);
      this.prefix = args.tenant.bucket.prefix;
      this.requiredBindings = [{ resource: `gs://${args.tenant.bucket.name}`, role: OBJECT_ROLE, member }];
    } else {
      // GCS encrypts with the key as its service agent; the bucket waits for that grant.
      const agent = gcp.storage.getProjectServiceAccountOutput({ project: args.project }, { provider: args.provider, parent: this });
      const agentGrant = new gcp.kms.CryptoKeyIAMMember(`${name}-gcs-agent`, {
        cryptoKeyId: args.keyRef,
        role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
        member: pulumi.interpolate`serviceAccount:${agent.emailAddress}`,
      }, child);
      const bucket = new gcp.storage.Bucket(`${name}`, {
        name: args.bucketName,
        location: args.region,
        storageClass: 'STANDARD',
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        encryption: { defaultKmsKeyName: args.keyRef },
        versioning: { enabled: true },
        softDeletePolicy: { retentionDurationSeconds: 7 * 24 * 3600 },
        lifecycleRules: [{ action: { type: 'Delete' }, condition: { daysSinceNoncurrentTime: args.noncurrentVersionDays ?? 30 } }],
        labels: tenantLabels(args.tenant.id),
        forceDestroy: false,
        // The tenant's data outlives its removal from the stack (its key decides whether it stays readable).
      }, { ...child, dependsOn: [agentGrant], retainOnDelete: true });
      new gcp.storage.BucketIAMMember(`${name}-data`, { bucket: bucket.name, role: OBJECT_ROLE, member }, child);
      this.bucket = bucket.name;
      this.requiredBindings = [];
    }
    this.registerOutputs({ bucket: this.bucket });
  }
}
