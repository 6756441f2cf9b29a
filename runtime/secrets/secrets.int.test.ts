/**
 * The same behaviour from both secret stores: envelope-encrypted rows in Postgres (the
 * fixture's real PostgreSQL) and OpenBao/Vault KV v2 (a loopback STAND-IN, see
 * testing/kv2-standin.ts: no OpenBao binary is installed here).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { localTenantKeyring, type EnvelopeKeyring } from '../crypto/index.js';
import { DbSecretStore } from './db.js';
import { VaultSecretStore } from './vault.js';
import { startKv2StandIn, type Kv2StandIn } from './testing/kv2-standin.js';
import type { SecretStore } from '../ports.js';

const VALUE = 'xoxb-very-secret-token-5c1e';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code ?? `not a ClawError: ${String(err)}`;
  }
  return 'no error';
}

interface Backend {
  name: string;
  store: SecretStore;
  keyring: EnvelopeKeyring;
  /** Every stored value as the backend holds it (to grep for plaintext). */
  rawValues(): Promise<string[]>;
  /** Copy acme's stored ciphertext of `name` to tenant `to` under `asName`, as an attacker with storage access could. */
  copy(name: string, to: string, asName: string): Promise<void>;
}

function conformance(make: () => Promise<Backend>) {
  let b: Backend;
  beforeAll(async () => {
    b = await make();
  });

  it('sets, gets, lists names only, removes', async () => {
    await b.store.set('acme', 'SLACK_BOT_TOKEN', VALUE);
    await b.store.set('acme', 'OTHER', 'v2');
    expect(await b.store.get('acme', 'SLACK_BOT_TOKEN')).toBe(VALUE);
    expect(await b.store.list('acme')).toEqual(['OTHER', 'SLACK_BOT_TOKEN']);
    expect(JSON.stringify(await b.store.list('acme'))).not.toContain(VALUE);
    expect(await b.store.get('globex', 'SLACK_BOT_TOKEN')).toBeUndefined();
    expect(await b.store.list('globex')).toEqual([]);
    await b.store.set('acme', 'OTHER', 'v3');
    expect(await b.store.get('acme', 'OTHER')).toBe('v3');
    // When each changed, never what it holds.
    const changed = await b.store.listChanged!('acme');
    expect(changed.map((c) => c.name)).toEqual(['OTHER', 'SLACK_BOT_TOKEN']);
    for (const c of changed) expect(Math.abs(Date.parse(c.updatedAt) - Date.now())).toBeLessThan(60_000);
    expect(JSON.stringify(changed)).not.toContain(VALUE);
    expect(await b.store.remove('acme', 'OTHER')).toBe(true);
    expect(await b.store.remove('acme', 'OTHER')).toBe(false);
    expect(await b.store.get('acme', 'OTHER')).toBeUndefined();
  });

  it('stores ciphertext only', async () => {
    const raw = (await b.rawValues()).join('\n');
    expect(raw.length).toBeGreaterThan(0);
    expect(raw).not.toContain(VALUE);
    expect(raw).not.toContain('very-secret');
  });

  it("refuses acme's ciphertext copied under globex, and a value moved to another name", async () => {
    await b.copy('SLACK_BOT_TOKEN', 'globex', 'SLACK_BOT_TOKEN');
    expect(await codeOf(b.store.get('globex', 'SLACK_BOT_TOKEN'))).toBe('CIPHERTEXT_TENANT_MISMATCH');
    await b.copy('SLACK_BOT_TOKEN', 'acme', 'GITHUB_TOKEN');
    expect(await codeOf(b.store.get('acme', 'GITHUB_TOKEN'))).toBe('CIPHERTEXT_CORRUPT');
  });

  it('rejects bad names with a clear code and never echoes values in errors', async () => {
    expect(await codeOf(b.store.set('acme', 'bad name!', VALUE))).toBe('SECRET_NAME_INVALID');
    try {
      await b.store.set('acme', 'bad name!', VALUE);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(VALUE);
    }
  });

  it('after shredding acme its secrets do not decrypt; globex still works', async () => {
    await b.store.set('globex', 'TOKEN', 'globex-value');
    await b.keyring.destroy('acme');
    expect(await codeOf(b.store.get('acme', 'SLACK_BOT_TOKEN'))).toBe('TENANT_KEY_DESTROYED');
    expect(await b.store.get('globex', 'TOKEN')).toBe('globex-value');
  });
}

async function freshKeyring(): Promise<EnvelopeKeyring> {
  const keyring = localTenantKeyring(mkdtempSync(join(tmpdir(), 'claw-secrets-')));
  await keyring.createTenantKey('acme');
  await keyring.createTenantKey('globex');
  return keyring;
}

describe('DbSecretStore on PostgreSQL', () => {
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  let store: DbSecretStore;
  afterAll(async () => {
    await store?.close();
    await client.end();
  });
  conformance(async () => {
    await client.connect();
    await client.query('drop table if exists claw_secrets');
    const keyring = await freshKeyring();
    store = await DbSecretStore.open(inject('postgresUrl'), keyring);
    return {
      name: 'db',
      store,
      keyring,
      rawValues: async () => (await client.query<{ v: string }>("select encode(value_ct, 'escape') as v from claw_secrets")).rows.map((r) => r.v),
      copy: async (name, to, asName) => {
        await client.query(
          `insert into claw_secrets (tenant_id, name, value_ct) select $2, $3, value_ct from claw_secrets where tenant_id = 'acme' and name = $1
           on conflict (tenant_id, name) do update set value_ct = excluded.value_ct`,
          [name, to, asName],
        );
      },
    };
  });
});

describe('VaultSecretStore on a KV v2 stand-in (mount per tenant)', () => {
  let standIn: Kv2StandIn;
  afterAll(async () => standIn?.stop());
  conformance(async () => {
    standIn = await startKv2StandIn({ tokens: { 'root-token': ['*'] }, mounts: ['|claw-acme', '|claw-globex'] });
    const keyring = await freshKeyring();
    const store = new VaultSecretStore({ address: standIn.address, auth: { kind: 'token', token: 'root-token' }, keyring });
    return {
      name: 'vault',
      store,
      keyring,
      rawValues: async () => [...standIn.stored.values()].flat().map((v) => JSON.stringify(v)),
      copy: async (name, to, asName) => {
        standIn.stored.set(`|claw-${to}|${asName}`, standIn.stored.get(`|claw-acme|${name}`)!);
      },
    };
  });

  it('keeps each tenant in its own mount, and a token scoped to one mount cannot touch another', async () => {
    const paths = standIn.requests.map((r) => r.path);
    expect(paths.some((p) => p.startsWith('/v1/claw-acme/'))).toBe(true);
    expect(paths.some((p) => p.startsWith('/v1/claw-globex/'))).toBe(true);
    const scoped = await startKv2StandIn({ tokens: { 'acme-only': ['|claw-acme'] }, mounts: ['|claw-acme', '|claw-globex'] });
    try {
      const store = new VaultSecretStore({ address: scoped.address, auth: { kind: 'token', token: 'acme-only' }, keyring: await freshKeyring() });
      await store.set('acme', 'A', 'x');
      expect(await codeOf(store.get('globex', 'A'))).toBe('SECRET_BACKEND_DENIED');
    } finally {
      await scoped.stop();
    }
  });
});

describe("VaultSecretStore with a path per tenant in one KV mount (the stacks' OpenBao layout)", () => {
  let standIn: Kv2StandIn;
  afterAll(async () => standIn?.stop());
  conformance(async () => {
    standIn = await startKv2StandIn({ tokens: { 'runtime-token': ['|claw'] }, mounts: ['|claw'] });
    const keyring = await freshKeyring();
    const store = new VaultSecretStore({ address: standIn.address, auth: { kind: 'token', token: 'runtime-token' }, layout: { kind: 'path', mount: 'claw' }, keyring });
    return {
      name: 'vault-path',
      store,
      keyring,
      rawValues: async () => [...standIn.stored.values()].flat().map((v) => JSON.stringify(v)),
      copy: async (name, to, asName) => {
        standIn.stored.set(`|claw|${to}/${asName}`, standIn.stored.get(`|claw|acme/${name}`)!);
      },
    };
  });

  it("addresses claw/data/<tenant>/<name>: one tenant's list never shows another's names", async () => {
    const paths = standIn.requests.map((r) => r.path);
    expect(paths.some((p) => p.startsWith('/v1/claw/data/acme/'))).toBe(true);
    expect(paths.some((p) => p.startsWith('/v1/claw/data/globex/'))).toBe(true);
    expect(paths.every((p) => /^\/v1\/claw\/(data|metadata)\/[a-z0-9-]+\//.test(p))).toBe(true);
  });
});

describe('VaultSecretStore with a namespace per tenant and Kubernetes auth', () => {
  it('logs in with the service-account token and addresses claw/<tenant> namespaces', async () => {
    const standIn = await startKv2StandIn({
      tokens: { 'k8s-issued': ['claw/acme|secret'] },
      kubernetes: { role: 'claw-runtime', jwt: 'sa-jwt', token: 'k8s-issued' },
      mounts: ['claw/acme|secret'],
    });
    try {
      const jwtPath = join(mkdtempSync(join(tmpdir(), 'claw-sa-')), 'token');
      writeFileSync(jwtPath, 'sa-jwt\n');
      const store = new VaultSecretStore({
        address: standIn.address,
        auth: { kind: 'kubernetes', role: 'claw-runtime', jwtPath },
        layout: { kind: 'namespace' },
        keyring: await freshKeyring(),
      });
      await store.set('acme', 'API_KEY', 'k');
      expect(await store.get('acme', 'API_KEY')).toBe('k');
      expect(standIn.requests.find((r) => r.path === '/v1/auth/kubernetes/login')).toBeDefined();
      expect(standIn.requests.filter((r) => r.path.startsWith('/v1/secret/')).every((r) => r.namespace === 'claw/acme')).toBe(true);
      expect(await codeOf(store.get('globex', 'API_KEY'))).toBe('SECRET_BACKEND_DENIED');
    } finally {
      await standIn.stop();
    }
  });
});
