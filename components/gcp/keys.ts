/**
 * Keys. Platform keys (GKE secrets, metadata DB, OpenBao unseal) live in the install's
 * platform key ring. Each tenant's root key is a CryptoKey of its own in the tenants key
 * ring, rotated every 90 days, usable only by that tenant's identities (and, added by the
 * storage and lakehouse components, the Google service agents that encrypt its bucket and
 * dataset). BYOK: no key of ours; the same bindings go on the customer's key.
 */
import * as pulumi from '@pulumi/pulumi';
import * as gcp from '@pulumi/gcp';
import type { Tenant } from '../../core/config/schema.js';
import type { RuntimeComponentName } from '../../contracts/kubernetes.js';
import { tenantKeyName, tenantLabels } from '../../contracts/gcp.js';

export const ROTATION_PERIOD = `${90 * 24 * 3600}s`;

/** What each tenant identity may do with the tenant key: the gateway may only encrypt. */
/** The trace reader: decrypt only (the content keys of sealed trace content, when the runs pages ask to decrypt). */
export const TRACE_READER_KEY_ROLE = 'roles/cloudkms.cryptoKeyDecrypter';

export const KEY_ROLE_OF: Record<RuntimeComponentName, string> = {
  worker: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
  gateway: 'roles/cloudkms.cryptoKeyEncrypter',
  codecServer: 'roles/cloudkms.cryptoKeyDecrypter',
};

function cryptoKeyArgs(keyRing: pulumi.Input<string>, name: string, protectionLevel: string, labels: Record<string, string>): gcp.kms.CryptoKeyArgs {
  return {
    name,
    keyRing,
    purpose: 'ENCRYPT_DECRYPT',
    rotationPeriod: ROTATION_PERIOD,
    versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel },
    destroyScheduledDuration: `${30 * 24 * 3600}s`,
    labels,
  };
}

export interface PlatformKeysArgs {
  provider: gcp.Provider;
  install: string;
  region: string;
  protectionLevel?: 'SOFTWARE' | 'HSM';
}

export const PLATFORM_KEYS = ['gke-secrets', 'metadata-db', 'openbao-unseal'] as const;
export type PlatformKeyName = (typeof PLATFORM_KEYS)[number];

export class PlatformKeys extends pulumi.ComponentResource {
  readonly keyRingId: pulumi.Output<string>;
  readonly keyRingName: string;
  readonly keys: Record<PlatformKeyName, gcp.kms.CryptoKey>;
  readonly tenantKeyRingId: pulumi.Output<string>;

  constructor(name: string, args: PlatformKeysArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:gcp:PlatformKeys', name, {}, opts);
    if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a gcp provider is required' });
    const child = { parent: this, provider: args.provider };
    // Key rings cannot be deleted in Cloud KMS; names carry the install name so a
    // reinstall under a new name never collides with an old ring.
    this.keyRingName = `claw-${args.install}-platform`;
    const ring = new gcp.kms.KeyRing(`${name}-platform`, { name: this.keyRingName, location: args.region }, { ...child, retainOnDelete: true });
    const tenantRing = new gcp.kms.KeyRing(`${name}-tenants`, { name: `claw-${args.install}-tenants`, location: args.region }, { ...child, retainOnDelete: true });
    const keys = {} as Record<PlatformKeyName, gcp.kms.CryptoKey>;
    for (const key of PLATFORM_KEYS) {
      keys[key] = new gcp.kms.CryptoKey(`${name}-${key}`, cryptoKeyArgs(ring.id, key, args.protectionLevel ?? 'SOFTWARE', { 'claw-install': args.install }), child);
    }
    this.keyRingId = ring.id;
    this.tenantKeyRingId = tenantRing.id;
    this.keys = keys;
    this.registerOutputs({ keyRingId: this.keyRingId, tenantKeyRingId: this.tenantKeyRingId });
  }
}

export interface TenantKeyArgs {
  provider: gcp.Provider;
  tenant: Pick<Tenant, 'id' | 'key'> & Partial<Pick<Tenant, 'onRemove'>>;
  /** The tenants key ring (managed keys only). */
  keyRingId: pulumi.Input<string>;
  /** The tenant's identities; only these get roles on the key. */
  identities: Record<RuntimeComponentName, pulumi.Input<string>>;
  /** The tenant's trace reader (components/gcp/iam.ts): decrypt only. */
  traceReader?: pulumi.Input<string>;
  protectionLevel?: 'SOFTWARE' | 'HSM';
}

export class TenantKey extends pulumi.ComponentResource {
  /** Full CryptoKey resource name, ours or the customer's. */
  readonly keyRef: pulumi.Output<string>;
  readonly managed: boolean;

  constructor(name: string, args: TenantKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:gcp:TenantKey', name, {}, opts);
    if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a gcp provider is required' });
    if (!args.tenant?.id) throw new pulumi.InputPropertyError({ propertyPath: 'tenant.id', reason: 'the tenant is required' });
    const child = { parent: this, provider: args.provider };
    this.managed = args.tenant.key.type === 'managed';
    if (args.tenant.key.type === 'byok') {
      this.keyRef = pulumi.output(args.tenant.key.ref);
    } else {
      // Deleting a CryptoKey destroys all its versions (Cloud KMS keeps no key without them):
      // removing the tenant leaves it alone unless it is to be shredded.
      const key = new gcp.kms.CryptoKey(`${name}`, cryptoKeyArgs(args.keyRingId, tenantKeyName(args.tenant.id), args.protectionLevel ?? 'SOFTWARE', {
        ...tenantLabels(args.tenant.id),
        // Marked where the customer sees it: the key goes when the tenant leaves the stack.
        ...(args.tenant.onRemove === 'shred' ? { 'claw-on-remove': 'shred' } : {}),
      }), {
        ...child,
        retainOnDelete: args.tenant.onRemove !== 'shred',
      });
      this.keyRef = key.id;
    }
    for (const component of ['worker', 'gateway', 'codecServer'] as const) {
      new gcp.kms.CryptoKeyIAMMember(`${name}-${component}`, {
        cryptoKeyId: this.keyRef,
        role: KEY_ROLE_OF[component],
        member: pulumi.interpolate`serviceAccount:${args.identities[component]}`,
      }, child);
    }
    if (args.traceReader !== undefined) {
      new gcp.kms.CryptoKeyIAMMember(`${name}-trace-reader`, {
        cryptoKeyId: this.keyRef,
        role: TRACE_READER_KEY_ROLE,
        member: pulumi.interpolate`serviceAccount:${args.traceReader}`,
      }, child);
    }
    this.registerOutputs({ keyRef: this.keyRef });
  }
}
