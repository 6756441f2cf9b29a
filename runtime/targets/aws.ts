/**
 * The aws target's ports. Keys are never created here (`createKeys: false`): the stack
 * creates them (invariant 6). The worker assumes each tenant's role (only that role is
 * granted the tenant's key, bucket and lake); the gateway and codec-server use their own
 * identity, whose key grants are bound to the tenant's encryption context.
 *   keys      AWS KMS, the tenant's keyRef
 *   blobs     S3 bucket/prefix, SSE-KMS under the tenant's key
 *   lake      S3 + Glue Iceberg + Athena
 *   sandbox   program tools as pods in the gVisor pool (cloudSandbox)
 */
import { DEFAULT_CACHE, EnvelopeKeyring } from '../crypto/envelope.js';
import { openBlobStore } from '../blobs/index.js';
import { tenantRoleCredentials } from './identities.js';
import { keysOf, routeByIdentity, wiredLookup, RoutedBlobStore, RoutedLakeWriter, RoutedTenantKeyring, TenantRouter } from './routing.js';
import type { BuiltPorts } from './ports.js';
import type { RuntimeWiring, TenantWiringEntry } from './wiring.js';

export async function awsPorts(w: RuntimeWiring): Promise<BuiltPorts> {
  const region = w.region!;
  const keys = keysOf(w.tenants);
  // Only the worker's wiring names tenant roles; the gateway and codec-server use their own (key grants bound to the tenant).
  const roleOf = (t: TenantWiringEntry) => (w.component === 'worker' ? t.roleArn : undefined);
  const credentialsFor = (roleArn: string | undefined) => (roleArn ? tenantRoleCredentials(roleArn, region, `claw-${w.component}`) : undefined);
  const { AwsKmsBackend } = await import('../crypto/aws-kms.js');
  const keyrings = await routeByIdentity(w.tenants, roleOf, (roleArn) => {
    const credentials = credentialsFor(roleArn);
    return new EnvelopeKeyring(
      new AwsKmsBackend({ region, keys, createKeys: false, ...(w.install ? { install: w.install } : {}), ...(credentials ? { credentials } : {}) }),
      DEFAULT_CACHE,
    );
  });
  const tenantKeyring = new RoutedTenantKeyring(new TenantRouter('aws', keyrings));
  const identities = Object.fromEntries(w.tenants.map((t) => [t.id, roleOf(t) ?? null]));
  const summary: BuiltPorts['summary'] = { tenantKeyring: { kind: 'aws-kms', region, createKeys: false, ...(w.install ? { install: w.install } : {}), keys, identities } };
  if (w.component !== 'worker') return { tenantKeyring, summary };

  const s3Location = wiredLookup(w.tenants, 'aws', (t) => ({ bucket: t.bucket!, prefix: t.prefix ?? '', kmsKeyId: t.keyRef }));
  const lakeOf = wiredLookup(w.tenants, 'aws', (t) => ({ bucket: t.bucket!, prefix: t.prefix ?? '', kmsKeyArn: t.keyRef, database: t.database!, workgroup: t.workgroup! }));
  const stores = await routeByIdentity(w.tenants, roleOf, (roleArn) => {
    const credentials = credentialsFor(roleArn);
    return openBlobStore({ kind: 's3', keyring: tenantKeyring, location: s3Location, region, ...(credentials ? { credentials } : {}) });
  });
  const [{ AwsLake }, { S3Client }, { AthenaClient }] = await Promise.all([import('../traces/aws-lake.js'), import('@aws-sdk/client-s3'), import('@aws-sdk/client-athena')]);
  const lakes = await routeByIdentity(w.tenants, roleOf, (roleArn) => {
    const credentials = credentialsFor(roleArn);
    const common = { region, ...(credentials ? { credentials } : {}) };
    return new AwsLake({ region, tenant: lakeOf, s3: new S3Client(common), athena: new AthenaClient(common) });
  });
  return {
    tenantKeyring,
    blobStore: new RoutedBlobStore(new TenantRouter('aws', stores)),
    lakeWriter: new RoutedLakeWriter(new TenantRouter('aws', lakes)),
    summary: {
      ...summary,
      blobStore: { kind: 's3', region, tenants: Object.fromEntries(w.tenants.map((t) => [t.id, s3Location(t.id)])) },
      lakeWriter: { kind: 'aws', region, tenants: Object.fromEntries(w.tenants.map((t) => [t.id, lakeOf(t.id)])) },
    },
  };
}

