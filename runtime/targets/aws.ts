/**
 * The aws target's ports. Keys are never created here (`createKeys: false`): the stack
 * creates them (invariant 6). The worker assumes each tenant's role (only that role is
 * granted the tenant's key, bucket and lake); the gateway and codec-server use their own
 * identity, whose key grants are bound to the tenant's encryption context, except for the
 * gateway's runs, which assume the tenant's read-only trace reader.
 *   keys      AWS KMS, the tenant's keyRef
 *   blobs     S3 bucket/prefix, SSE-KMS under the tenant's key
 *   lake      S3 + Glue Iceberg + Athena
 *   runs      the gateway's: Athena in the tenant's workgroup as the tenant's trace reader
 *             (tenants.json `traceReader`: read-only, its lake and key only), when its
 *             tenants.json names the tenant's lake
 *   sandbox   program tools as pods in the gVisor pool (cloudSandbox)
 */
import { DEFAULT_CACHE, EnvelopeKeyring } from '../crypto/envelope.js';
import { openBlobStore } from '../blobs/index.js';
import { tenantRoleCredentials } from './identities.js';
import { keysOf, lakeNotWired, routeByIdentity, wiredLookup, RoutedBlobStore, RoutedLakeWriter, RoutedRunReader, RoutedTenantKeyring, TenantRouter } from './routing.js';
import type { BuiltPorts } from './ports.js';
import type { RuntimeWiring, TenantWiringEntry } from './wiring.js';

export async function awsPorts(w: RuntimeWiring): Promise<BuiltPorts> {
  const region = w.region!;
  const keys = keysOf(w.tenants);
  // Only the worker's wiring names tenant roles; the gateway and codec-server use their own (key grants bound to the tenant).
  const roleOf = (t: TenantWiringEntry) => (w.component === 'worker' ? t.roleArn : undefined);
  const credentialsFor = (roleArn: string | undefined, session = `claw-${w.component}`) => (roleArn ? tenantRoleCredentials(roleArn, region, session) : undefined);
  const { AwsKmsBackend } = await import('../crypto/aws-kms.js');
  const keyringAs = (credentials: ReturnType<typeof credentialsFor>) =>
    new EnvelopeKeyring(
      new AwsKmsBackend({ region, keys, createKeys: false, ...(w.install ? { install: w.install } : {}), ...(credentials ? { credentials } : {}) }),
      DEFAULT_CACHE,
    );
  const keyrings = await routeByIdentity(w.tenants, roleOf, (roleArn) => keyringAs(credentialsFor(roleArn)));
  const tenantKeyring = new RoutedTenantKeyring(new TenantRouter('aws', keyrings));
  const identities = Object.fromEntries(w.tenants.map((t) => [t.id, roleOf(t) ?? null]));
  const summary: BuiltPorts['summary'] = { tenantKeyring: { kind: 'aws-kms', region, createKeys: false, ...(w.install ? { install: w.install } : {}), keys, identities } };
  if (w.component !== 'worker' && w.component !== 'gateway') return { tenantKeyring, summary };
  // The tenant's lake, as tenants.json names it: always in the worker's, in the gateway's where the stack gives it.
  const lakeOf = wiredLookup(w.tenants, 'aws', (t) => {
    if (!t.bucket || !t.database || !t.workgroup) throw lakeNotWired(t.id, 'aws');
    return { bucket: t.bucket, prefix: t.prefix ?? '', kmsKeyArn: t.keyRef, database: t.database, workgroup: t.workgroup };
  });
  const [{ AwsLake }, { S3Client }, { AthenaClient }, { GlueClient }] = await Promise.all([
    import('../traces/aws-lake.js'), import('@aws-sdk/client-s3'), import('@aws-sdk/client-athena'), import('@aws-sdk/client-glue'),
  ]);
  // Every client under the identity: the lake's Glue checks too, not only S3 and Athena.
  const lakeFor = (roleArn: string | undefined, credentials = credentialsFor(roleArn)) => {
    const common = { region, ...(credentials ? { credentials } : {}) };
    return new AwsLake({ region, tenant: lakeOf, s3: new S3Client(common), athena: new AthenaClient(common), glue: new GlueClient(common) });
  };
  if (w.component === 'gateway') {
    // The admin API's runs: Athena in each tenant's workgroup as its trace reader (read-only;
    // its key only through S3 and for trace content keys). Without one, the gateway's own
    // identity, which the stack grants no lake.
    const { LakeRunReader } = await import('../traces/lake-runs.js');
    const readers = await routeByIdentity(w.tenants, (t) => t.traceReader, (roleArn) => {
      const credentials = credentialsFor(roleArn, 'claw-gateway-runs');
      return new LakeRunReader(lakeFor(roleArn, credentials), roleArn ? keyringAs(credentials) : tenantKeyring);
    });
    const lakes = w.tenants.filter((t) => t.bucket && t.database && t.workgroup).map((t) => [t.id, { database: t.database!, workgroup: t.workgroup!, identity: t.traceReader ?? null }]);
    return { tenantKeyring, runReader: new RoutedRunReader(new TenantRouter('aws', readers)), summary: { ...summary, runReader: { kind: 'aws', region, tenants: Object.fromEntries(lakes) } } };
  }

  const s3Location = wiredLookup(w.tenants, 'aws', (t) => ({ bucket: t.bucket!, prefix: t.prefix ?? '', kmsKeyId: t.keyRef }));
  const stores = await routeByIdentity(w.tenants, roleOf, (roleArn) => {
    const credentials = credentialsFor(roleArn);
    return openBlobStore({ kind: 's3', keyring: tenantKeyring, location: s3Location, region, ...(credentials ? { credentials } : {}) });
  });
  const lakes = await routeByIdentity(w.tenants, roleOf, lakeFor);
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

