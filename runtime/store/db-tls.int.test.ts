/**
 * The metadata store over TLS, against a PostgreSQL that refuses plain TCP the way RDS
 * (rds.force_ssl=1) and Cloud SQL (ENCRYPTED_ONLY) do. Proves that the URL
 * `databaseUrlFrom` builds from CLAW_DB_SSLMODE and CLAW_DB_CA_FILE makes node-postgres:
 *   - without a mode, connect in plain text and be refused (the cloud failure before);
 *   - with verify-full, connect over TLS to a server whose certificate the CA signed and
 *     names the host, and refuse one signed by another CA or not naming the host;
 *   - with verify-ca, check the CA but not the name (Cloud SQL: the instance CA's
 *     certificate does not name the private IP the runtime dials).
 * The server certificate names DNS:localhost only (no IP SAN), so 127.0.0.1 is "the wrong name".
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type RunningServer } from '../../test/fixtures/servers.js';
import { localTenantKeyring } from '../crypto/index.js';
import { databaseUrlFrom } from '../process-config.js';
import { DB_SSL_MODES, WIRING_ENV as E } from '../../contracts/wiring.js';
import { MetadataStore } from './metadata.js';

let dir: string;
let postgres: RunningServer | undefined;
let rightCa: string;
let otherCa: string;

function openssl(...args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/** A self-signed CA: `<name>.crt` and `<name>.key` in `dir`. */
function makeCa(name: string): string {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=claw test ${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`);
  return join(dir, `${name}.crt`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'claw-db-tls-'));
  rightCa = makeCa('ca');
  otherCa = makeCa('other-ca');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName = DNS:localhost\n');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '1', '-days', '2',
    '-extfile', 'server.ext', '-out', 'server.crt');
  postgres = await startPostgres({ tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') } });
});

afterAll(async () => {
  await postgres?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The URL the cloud runtime would build for this server (auth is trust: the password is unused). */
function urlFor(host: string, tls: { mode?: string; caFile?: string } = {}): string {
  const { url, missing, invalid } = databaseUrlFrom({
    [E.dbHost]: host,
    [E.dbPort]: String(postgres!.port),
    [E.dbName]: 'postgres',
    [E.dbUser]: 'claw',
    [E.dbPassword]: 'unused-under-trust',
    [E.dbSslMode]: tls.mode,
    [E.dbCaFile]: tls.caFile,
  });
  expect({ missing, invalid }).toEqual({ missing: [], invalid: undefined });
  return url!;
}

/** Connect (and migrate) as the runtime does, then close; rejects with the store's error. */
async function connectStore(url: string): Promise<void> {
  const store = await MetadataStore.connect(url, { keyring: localTenantKeyring(join(dir, 'state')) });
  await store.close();
}

/** The driver's error underneath the store's STORE_UNAVAILABLE, for its code and message. */
async function connectFailure(url: string): Promise<Error & { code?: string }> {
  const err = await connectStore(url).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err, 'connect should have failed').toBeInstanceOf(Error);
  expect(err!.message).toMatch(/the metadata store is not reachable/);
  return (err!.cause ?? err) as Error & { code?: string };
}

/** Whether this URL's session runs over TLS, from the server's side. */
async function sessionUsesTls(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return rows[0].ssl as boolean;
  } finally {
    await client.end();
  }
}

describe('metadata DB over TLS (a server that rejects plain TCP)', () => {
  it.each([
    ['no CLAW_DB_SSLMODE', {}],
    ['CLAW_DB_SSLMODE=disable', { mode: 'disable', caFile: 'unused' }],
  ])('%s: plain TCP, refused by pg_hba.conf', async (_label, tls) => {
    const url = urlFor('localhost', tls);
    expect(url).not.toContain('sslmode=verify');
    const err = await connectFailure(url);
    // PostgreSQL 14+: '..., no encryption'; older: '..., SSL off'.
    expect(err.message).toMatch(/pg_hba\.conf rejects connection .*(no encryption|SSL off)/);
  });

  it('verify-full with the signing CA and the name in the certificate: connects over TLS', async () => {
    const url = urlFor('localhost', { mode: 'verify-full', caFile: rightCa });
    await connectStore(url);
    expect(await sessionUsesTls(url)).toBe(true);
  });

  it.each(['verify-full', 'verify-ca'])('%s with an unrelated CA: certificate verification fails', async (mode) => {
    const err = await connectFailure(urlFor('localhost', { mode, caFile: otherCa }));
    expect(err.code).toMatch(/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)$/);
  });

  it('a host the certificate does not name: verify-full fails on the name, verify-ca connects over TLS', async () => {
    const err = await connectFailure(urlFor('127.0.0.1', { mode: 'verify-full', caFile: rightCa }));
    expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(err.message).toMatch(/127\.0\.0\.1 is not in the cert's list/);

    const url = urlFor('127.0.0.1', { mode: 'verify-ca', caFile: rightCa });
    await connectStore(url);
    expect(await sessionUsesTls(url)).toBe(true);
  });
});

describe('databaseUrlFrom TLS settings', () => {
  const parts = { [E.dbHost]: 'db.internal', [E.dbName]: 'claw', [E.dbUser]: 'claw', [E.dbPassword]: 'x' };

  it('a verify mode without a CA file: no URL, and CLAW_DB_CA_FILE is named as missing', () => {
    const result = databaseUrlFrom({ ...parts, [E.dbSslMode]: 'verify-full' });
    expect(result.url).toBeUndefined();
    expect(result.missing.join(' ')).toContain(E.dbCaFile);
  });

  it('a mode outside the allowed ones (require): invalid, naming them', () => {
    const result = databaseUrlFrom({ ...parts, [E.dbSslMode]: 'require', [E.dbCaFile]: '/etc/claw-db/ca.pem' });
    expect(result.url).toBeUndefined();
    for (const mode of DB_SSL_MODES) expect(result.invalid).toContain(mode);
  });
});
