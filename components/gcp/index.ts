/** GCP components of an install (composed by stacks/gcp.ts). */
export * from '../../contracts/gcp.js';
export { Network, type NetworkArgs } from './network.js';
export { GkeCluster, type GkeClusterArgs, sandboxTaint } from './cluster.js';
export { ComponentIdentities, TenantIdentities, TENANT_ROLE_OF } from './iam.js';
export { PlatformKeys, TenantKey, KEY_ROLE_OF, ROTATION_PERIOD } from './keys.js';
export { TenantBucket, type RequiredBinding } from './storage.js';
export { TenantDataset } from './lakehouse.js';
export { MetadataDb, DATABASES, DB_USERS } from './database.js';
export { GatewayIngress, NEG_ANNOTATION } from './ingress.js';
