/**
 * `claw tenant rotate-key` and `claw tenant shred` through the real CLI process
 * (node bin/claw.js) with a temp --state-dir and the shared PostgreSQL as the metadata
 * store (DATABASE_URL): blobs in the directory store, secrets in the DB secret store,
 * and a stored run message, seeded here with the same adapters the platform uses.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parsePrefix } from '../../runtime/crypto/envelope.js';
import { localTenantKeyring } from '../../runtime/crypto/index.js';
import { openDirectoryBlobStore, readAll } from '../../runtime/blobs/index.js';
import { DbSecretStore } from '../../runtime/secrets/db.js';
import { MetadataStore } from '../../runtime/store/metadata.js';

const SECRET_VALUE = 'sk-live-shred-test-value-never-printed-91c2';
const CANARY = 'CANARY-tenant-content-5be1';
const suffix = Math.random().toString(36).slice(2, 8);
const ROT = `rot-${suffix}`;
const DOOMED = `doomed-${suffix}`;
const KEEPER = `keeper-${suffix}`;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const stateDir = mkdtempSync(join(tmpdir(), 'claw-cli-tenant-'));

function claw(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/claw.js', '--state-dir', stateDir, '--config', join(stateDir, 'none.yaml'), ...args], {
      env: { ...process.env, DATABASE_URL: inject('postgresUrl'), CLAW_DEBUG: '', CI: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lastJson(result: Result): Record<string, any> {
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

function expectNoLeak(result: Result): void {
  expect(result.stdout + result.stderr).not.toContain(SECRET_VALUE);
  expect(result.stdout + result.stderr).not.toContain(CANARY);
}

/** The name of the key that generated a ciphertext's data key, e.g. 'acme/v2'. */
function generator(ciphertext: Uint8Array): string {
  return parsePrefix(ciphertext).header.k[0]!.i.split('\u0000')[0]!;
}

let pool: pg.Pool;
let store: MetadataStore;
let secrets: DbSecretStore;

beforeAll(async () => {
  const url = inject('postgresUrl');
  const keyring = localTenantKeyring(stateDir);
  const blobs = openDirectoryBlobStore(stateDir, keyring);
  store = await MetadataStore.connect(url, { keyring, max: 2 });
  secrets = await DbSecretStore.open(url, keyring);
  pool = new pg.Pool({ connectionString: url, max: 1 });
  for (const tenant of [ROT, DOOMED, KEEPER]) {
    await keyring.createTenantKey(tenant);
    await store.upsertTenant({ id: tenant, name: tenant });
    await blobs.put(tenant, 'docs/plan.txt', Buffer.from(`${tenant} plan ${CANARY}`));
    await secrets.set(tenant, 'API_TOKEN', SECRET_VALUE);
    await store.startRun({ id: `run-${tenant}`, tenantId: tenant, agentId: 'helper', workflowId: `wf-${tenant}`, message: `hello ${CANARY}` });
  }
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([store?.close(), secrets?.close(), pool?.end()]);
  rmSync(stateDir, { recursive: true, force: true });
});

const secretCiphertext = async (tenant: string) =>
  (await pool.query<{ value_ct: Buffer }>('select value_ct from claw_secrets where tenant_id = $1 and name = $2', [tenant, 'API_TOKEN'])).rows[0]!.value_ct;
const runCiphertext = async (tenant: string) =>
  (await pool.query<{ message_ct: Buffer }>('select message_ct from runs where tenant_id = $1', [tenant])).rows[0]!.message_ct;
const blobFile = (tenant: string) => readFileSync(join(stateDir, 'blobs', tenant, 'docs', 'plan.txt'));

describe('claw tenant rotate-key (real CLI process)', () => {
  it('rotates (old data stays readable), then --reencrypt rewrites blobs, secrets and run records under the new key', async () => {
    const rotate = await claw(['--json', 'tenant', 'rotate-key', ROT]);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(lastJson(rotate)).toEqual({ type: 'tenant.key.rotated', tenant: ROT, keyVersion: 2 });
    expect(generator(blobFile(ROT))).toBe(`${ROT}/v1`); // untouched: still the old key, still readable
    const keyring = localTenantKeyring(stateDir);
    expect((await readAll(await openDirectoryBlobStore(stateDir, keyring).get(ROT, 'docs/plan.txt'))).toString()).toContain('plan');

    const reencrypt = await claw(['--json', 'tenant', 'rotate-key', ROT, '--reencrypt']);
    expect(reencrypt.code, reencrypt.stderr).toBe(0);
    expect(lastJson(reencrypt)).toMatchObject({ type: 'tenant.key.rotated', tenant: ROT, keyVersion: 3, reencrypted: { blobs: 1, secrets: 1, runs: 1 } });
    expect(lastJson(reencrypt).reencrypted.notCovered).toEqual(['trace content in the lake', 'Temporal payloads in workflow history']);
    expect(generator(blobFile(ROT))).toBe(`${ROT}/v3`);
    expect(generator(await secretCiphertext(ROT))).toBe(`${ROT}/v3`);
    expect(generator(await runCiphertext(ROT))).toBe(`${ROT}/v3`);
    expect((await MetadataStore.connect(inject('postgresUrl'), { keyring: localTenantKeyring(stateDir), max: 1 }).then(async (s) => {
      try {
        return await s.runContent({ id: `run-${ROT}`, tenantId: ROT });
      } finally {
        await s.close();
      }
    })).message).toBe(`hello ${CANARY}`);
    const fresh = localTenantKeyring(stateDir);
    expect((await readAll(await openDirectoryBlobStore(stateDir, fresh).get(ROT, 'docs/plan.txt'))).toString()).toBe(`${ROT} plan ${CANARY}`);
    const reader = await DbSecretStore.open(inject('postgresUrl'), fresh);
    expect(await reader.get(ROT, 'API_TOKEN')).toBe(SECRET_VALUE);
    await reader.close();
    for (const run of [rotate, reencrypt]) expectNoLeak(run);

    const unknown = await claw(['tenant', 'rotate-key', `nobody-${suffix}`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error TENANT_KEY_MISSING: /);
  }, 300_000);
});

describe('claw tenant shred (real CLI process)', () => {
  it('refuses without a typed confirmation (stable codes) and changes nothing', async () => {
    const refused = await claw(['--non-interactive', 'tenant', 'shred', DOOMED]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^error CONFIRMATION_REQUIRED: .*--confirm/);
    const wrong = await claw(['--json', 'tenant', 'shred', DOOMED, '--confirm', KEEPER]);
    expect(wrong.code).toBe(1);
    expect(lastJson(wrong)).toMatchObject({ type: 'error', code: 'CONFIRMATION_MISMATCH' });
    await localTenantKeyring(stateDir).forTenant(DOOMED); // still there
  }, 300_000);

  it('destroys the key and proves it: blob, secret and run message fail with TENANT_KEY_DESTROYED, other tenants still decrypt', async () => {
    const shred = await claw(['--json', 'tenant', 'shred', DOOMED, '--confirm', DOOMED]);
    expect(shred.code, shred.stderr).toBe(0);
    const result = lastJson(shred);
    expect(result).toMatchObject({ type: 'tenant.shredded', tenant: DOOMED, alreadyShredded: false, kindsAbsent: [] });
    expect(result.proof).toEqual([
      { kind: 'blob', ref: 'docs/plan.txt', result: 'TENANT_KEY_DESTROYED' },
      { kind: 'secret', ref: 'API_TOKEN', result: 'TENANT_KEY_DESTROYED' },
      { kind: 'run', ref: `run-${DOOMED}`, result: 'TENANT_KEY_DESTROYED' },
    ]);
    const others = Object.fromEntries((result.others as { tenant: string; checked: { kind: string }[] }[]).map((o) => [o.tenant, o.checked.map((c) => c.kind)]));
    expect(others[KEEPER]).toEqual(['blob', 'secret', 'run']);
    expect(others[ROT]).toEqual(['blob', 'secret', 'run']);
    expectNoLeak(shred);

    // Independently of the command's own report: a fresh reader in this process.
    const keyring = localTenantKeyring(stateDir);
    const blobs = openDirectoryBlobStore(stateDir, keyring);
    await expect(blobs.get(DOOMED, 'docs/plan.txt')).rejects.toMatchObject({ code: 'TENANT_KEY_DESTROYED' });
    const reader = await MetadataStore.connect(inject('postgresUrl'), { keyring, max: 1 });
    await expect(reader.runContent({ id: `run-${DOOMED}`, tenantId: DOOMED })).rejects.toMatchObject({ code: 'TENANT_KEY_DESTROYED' });
    expect((await reader.runContent({ id: `run-${KEEPER}`, tenantId: KEEPER })).message).toContain('hello');
    await reader.close();
    expect((await readAll(await blobs.get(KEEPER, 'docs/plan.txt'))).toString()).toContain(KEEPER);

    // Again, human output: idempotent, says it was already shredded.
    const again = await claw(['tenant', 'shred', DOOMED, '--confirm', DOOMED]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`already shredded; checked again ${DOOMED}`);
    expect(again.stdout).toContain('stored run message');
    expect(again.stdout).toContain('TENANT_KEY_DESTROYED');
    expectNoLeak(again);
  }, 300_000);
});
