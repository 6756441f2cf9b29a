/**
 * The gcp target's ports. Keys are never created here (`createKeys: false`): the stack
 * creates them (invariant 6). Every component impersonates the tenant's service account for
 * that tenant's key and data (the component's own Workload Identity token mints it).
 *   keys      Cloud KMS, the tenant's keyRef
 *   blobs     GCS bucket/prefix, CMEK under the tenant's key
 *   lake      BigQuery dataset
 *   runs      the gateway's: BigQuery jobs.query in the tenant's dataset as the tenant's
 *             trace reader it impersonates (tenants.json `traceReader`: dataViewer on that
 *             dataset, decrypt on its key), when its tenants.json names the dataset
 *   sandbox   program tools as pods in the gVisor pool (cloudSandbox)
 */
import { DEFAULT_CACHE, EnvelopeKeyring } from '../crypto/envelope.js';
import { openBlobStore } from '../blobs/index.js';
import { impersonatedToken } from './identities.js';
import { keysOf, lakeNotWired, routeByIdentity, wiredLookup, RoutedBlobStore, RoutedLakeWriter, RoutedRunReader, RoutedTenantKeyring, TenantRouter } from './routing.js';
import type { BuiltPorts } from './ports.js';
import type { RuntimeWiring, TenantWiringEntry } from './wiring.js';

/** `projects/p/locations/l/keyRings/r/cryptoKeys/k` → its parts. */
function cryptoKeyParts(name: string): { project: string; location: string; keyRing: string } {
  const [, project, , location, , keyRing] = name.split('/');
  return { project: project!, location: location!, keyRing: keyRing! };
}

export async function gcpPorts(w: RuntimeWiring): Promise<BuiltPorts> {
  const keys = keysOf(w.tenants);
  const { GcpKmsBackend, gceMetadataToken } = await import('../crypto/gcp-kms.js');
  // The component's own token (Workload Identity through the metadata server) mints the tenant identities' tokens.
  const own = gceMetadataToken();
  const identityOf = (t: TenantWiringEntry) => t.serviceAccount;
  const tokenFor = (serviceAccount: string | undefined) => (serviceAccount ? impersonatedToken(serviceAccount, own) : own);
  const keyringAs = (of: (t: TenantWiringEntry) => string | undefined) => (serviceAccount: string | undefined) => {
    // The managed key ring only names keys of tenants outside `keys`, which the router refuses anyway.
    const first = w.tenants.find((t) => of(t) === serviceAccount)!;
    return new EnvelopeKeyring(new GcpKmsBackend({ ...cryptoKeyParts(first.keyRef), keys, createKeys: false, token: tokenFor(serviceAccount) }), DEFAULT_CACHE);
  };
  const keyrings = await routeByIdentity(w.tenants, identityOf, keyringAs(identityOf));
  const tenantKeyring = new RoutedTenantKeyring(new TenantRouter('gcp', keyrings));
  const identities = Object.fromEntries(w.tenants.map((t) => [t.id, t.serviceAccount ?? null]));
  const summary: BuiltPorts['summary'] = { tenantKeyring: { kind: 'gcp-kms', createKeys: false, keys, identities } };
  if (w.component !== 'worker' && w.component !== 'gateway') return { tenantKeyring, summary };
  // The tenant's lake, as tenants.json names it: always in the worker's, in the gateway's where the stack gives it.
  const lakeOf = wiredLookup(w.tenants, 'gcp', (t) => {
    if (!t.dataset) throw lakeNotWired(t.id, 'gcp');
    const [projectId, datasetId] = t.dataset.split(':') as [string, string];
    return { projectId, datasetId, kmsKeyName: t.keyRef };
  });
  const { GcpLake } = await import('../traces/gcp-lake.js');
  const lakeFor = (serviceAccount: string | undefined) => new GcpLake({ tenant: lakeOf, accessToken: tokenFor(serviceAccount) });
  if (w.component === 'gateway') {
    // The admin API's runs: BigQuery in each tenant's dataset as its trace reader (read-only,
    // decrypt on its key); without one, the gateway's ingest identity, which reads nothing.
    const { LakeRunReader } = await import('../traces/lake-runs.js');
    const readerOf = (t: TenantWiringEntry) => t.traceReader ?? identityOf(t);
    const readerKeyring = keyringAs(readerOf);
    const readers = await routeByIdentity(w.tenants, readerOf, (serviceAccount) => {
      const isReader = w.tenants.some((t) => t.traceReader !== undefined && t.traceReader === serviceAccount);
      return new LakeRunReader(lakeFor(serviceAccount), isReader ? readerKeyring(serviceAccount) : tenantKeyring);
    });
    const lakes = w.tenants.filter((t) => t.dataset).map((t) => {
      const { projectId, datasetId } = lakeOf(t.id);
      return [t.id, { projectId, datasetId, identity: t.traceReader ?? null }];
    });
    return { tenantKeyring, runReader: new RoutedRunReader(new TenantRouter('gcp', readers)), summary: { ...summary, runReader: { kind: 'gcp', tenants: Object.fromEntries(lakes) } } };
  }

  const gcsLocation = wiredLookup(w.tenants, 'gcp', (t) => ({ bucket: t.bucket!, prefix: t.prefix ?? '', kmsKeyName: t.keyRef }));
  const stores = await routeByIdentity(w.tenants, identityOf, (serviceAccount) => openBlobStore({ kind: 'gcs', keyring: tenantKeyring, location: gcsLocation, token: tokenFor(serviceAccount) }));
  const lakes = await routeByIdentity(w.tenants, identityOf, lakeFor);
  return {
    tenantKeyring,
    blobStore: new RoutedBlobStore(new TenantRouter('gcp', stores)),
    lakeWriter: new RoutedLakeWriter(new TenantRouter('gcp', lakes)),
    summary: {
      ...summary,
      blobStore: { kind: 'gcs', tenants: Object.fromEntries(w.tenants.map((t) => [t.id, gcsLocation(t.id)])) },
      lakeWriter: { kind: 'gcp', tenants: Object.fromEntries(w.tenants.map((t) => [t.id, lakeOf(t.id)])) },
    },
  };
}
