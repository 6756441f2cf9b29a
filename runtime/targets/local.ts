/**
 * The local target's ports: everything on this machine, under the state dir.
 *   keys      <state>/keys (raw AES root keys, one file per tenant)
 *   blobs     <state>/blobs/<tenant>/, sealed under the tenant's key
 *   lake      Parquet under <state>/lake
 *   sandbox   program tools under bubblewrap (the tool runtime's default)
 *   runs      the gateway's: DuckDB over <state>/lake and the worker's WAL
 */
import { localTenantKeyring } from '../crypto/index.js';
import { keyringPath } from '../crypto/local-keyring.js';
import { directoryBlobRoot, openDirectoryBlobStore } from '../blobs/index.js';
import type { BuiltPorts } from './ports.js';
import type { RuntimeWiring } from './wiring.js';

export async function localPorts(w: RuntimeWiring): Promise<BuiltPorts> {
  const tenantKeyring = localTenantKeyring(w.stateDir);
  const keys = { kind: 'local' as const, path: keyringPath(w.stateDir) };
  if (w.component === 'gateway') {
    const [{ localRunReader }, { lakeDir }] = await Promise.all([import('../traces/runs.js'), import('../traces/local-lake.js')]);
    return { tenantKeyring, runReader: localRunReader(w.stateDir, tenantKeyring), summary: { tenantKeyring: keys, runReader: { kind: 'local', dir: lakeDir(w.stateDir) } } };
  }
  if (w.component !== 'worker') return { tenantKeyring, summary: { tenantKeyring: keys } };
  const { LocalLake, lakeDir } = await import('../traces/local-lake.js');
  return {
    tenantKeyring,
    blobStore: openDirectoryBlobStore(w.stateDir, tenantKeyring),
    lakeWriter: new LocalLake(w.stateDir),
    summary: {
      tenantKeyring: keys,
      blobStore: { kind: 'directory', root: directoryBlobRoot(w.stateDir) },
      lakeWriter: { kind: 'local', dir: lakeDir(w.stateDir) },
    },
  };
}
