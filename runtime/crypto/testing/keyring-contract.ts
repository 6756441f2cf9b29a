/**
 * What every tenant keyring must do, whatever root-key backend is underneath (local
 * keyring file, AWS KMS, Cloud KMS): one suite, run by each backend's test file with a
 * harness that opens keyrings over the same root-key store. Each `open()` is a separate
 * "process": its own backend object and cold caches.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { inspect, type CacheLimits, type EnvelopeKeyring } from '../index.js';
import type { RootKeyCalls } from './counting-backend.js';

export interface KeyringHarness {
  /** A keyring over the shared root-key store, as a fresh process would open it. */
  open(limits?: CacheLimits): EnvelopeKeyring;
  /** Root-key calls (wraps, unwraps) made against the store so far, by every keyring opened. */
  rootKeyCalls(): RootKeyCalls;
  /** Within how long a running process must notice a shred made by another one. */
  shredNoticeMs: number;
  /** The key version a ciphertext's data key is wrapped under, for backends whose rotation adds versions. */
  keyVersionOf?(sealed: Uint8Array): string;
  /** Prove from the store's side that the tenant's key material is gone (or can never be used again). */
  assertShredded?(tenantId: string): Promise<void>;
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

/** The ClawError an operation fails with, as `{ code, text }` (text: everything it would print), or 'no error'. */
export async function failureOf(promise: Promise<unknown>): Promise<{ code: string; text: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code?: string; message?: string; hint?: string; details?: unknown };
    return { code: e.code ?? `not a ClawError: ${String(err)}`, text: `${e.message} ${e.hint ?? ''} ${JSON.stringify(e.details ?? {})}` };
  }
  return { code: 'no error', text: '' };
}

export async function codeOf(promise: Promise<unknown>): Promise<string> {
  return (await failureOf(promise)).code;
}

/** The clear header of an envelope. */
export function headerOf(sealed: Uint8Array): { t: string; p: string; k: { p: string; i: string; c: string }[]; s: string } {
  const b = Buffer.from(sealed);
  return JSON.parse(b.subarray(7, 7 + b.readUInt16BE(5)).toString('utf8'));
}

/** Re-serialize an envelope's clear header, as an attacker with write access to storage could. */
export function rewriteHeader(sealed: Uint8Array, change: (header: Record<string, unknown>) => Record<string, unknown>): Buffer {
  const b = Buffer.from(sealed);
  const length = b.readUInt16BE(5);
  const header = Buffer.from(JSON.stringify(change(JSON.parse(b.subarray(7, 7 + length).toString('utf8')))));
  const size = Buffer.alloc(2);
  size.writeUInt16BE(header.length);
  return Buffer.concat([b.subarray(0, 5), size, header, b.subarray(7 + length)]);
}

export function describeKeyringContract(name: string, makeHarness: () => Promise<KeyringHarness> | KeyringHarness): void {
  describe(`tenant keyring contract: ${name}`, () => {
    let h: KeyringHarness;
    let keyring: EnvelopeKeyring;
    // Fresh tenant names per test: the store (moto, a stand-in) is shared by the whole file.
    let acme: string;
    let globex: string;

    beforeEach(async () => {
      h = await makeHarness();
      const run = randomBytes(4).toString('hex');
      acme = `acme-${run}`;
      globex = `globex-${run}`;
      keyring = h.open();
      await keyring.createTenantKey(acme);
      await keyring.createTenantKey(globex);
      await keyring.createTenantKey(acme); // idempotent
    });

    it('round-trips; the ciphertext holds no plaintext and names only tenant and purpose', async () => {
      const crypto = await keyring.forTenant(acme);
      const sealed = Buffer.from(await crypto.encrypt(text('the launch code is 0000'), 'payload'));
      expect(sealed.includes(Buffer.from('launch code'))).toBe(false);
      expect(inspect(sealed)).toEqual({ tenantId: acme, purpose: 'payload', framed: false });
      expect(str(await crypto.decrypt(sealed, 'payload'))).toBe('the launch code is 0000');
      const cold = await h.open().forTenant(acme);
      expect(str(await cold.decrypt(sealed, 'payload'))).toBe('the launch code is 0000');
      const empty = await crypto.encrypt(new Uint8Array(0), 'record');
      expect((await cold.decrypt(empty, 'record')).length).toBe(0);
    });

    it("refuses another tenant's ciphertext, also when its header is edited to claim the reader", async () => {
      const sealed = await (await keyring.forTenant(acme)).encrypt(text('acme secret'), 'secret');
      const globexCrypto = await keyring.forTenant(globex);
      expect(await codeOf(globexCrypto.decrypt(sealed, 'secret'))).toBe('CIPHERTEXT_TENANT_MISMATCH');
      // The clear header now says globex; the wrapped data key still names acme's root key.
      const relabelled = rewriteHeader(sealed, (header) => ({ ...header, t: globex }));
      expect(inspect(relabelled).tenantId).toBe(globex);
      expect(await codeOf(globexCrypto.decrypt(relabelled, 'secret'))).toBe('CIPHERTEXT_TENANT_MISMATCH');
      expect(await codeOf((await h.open().forTenant(globex)).decrypt(relabelled, 'secret'))).toBe('CIPHERTEXT_TENANT_MISMATCH');
      // Swapping in globex's own wrapped key does not help either: the body key commitment differs.
      const globexSealed = await globexCrypto.encrypt(text('globex'), 'secret');
      const grafted = rewriteHeader(sealed, (header) => ({ ...header, t: globex, k: headerOf(globexSealed).k }));
      expect(await codeOf((await h.open().forTenant(globex)).decrypt(grafted, 'secret'))).toBe('CIPHERTEXT_CORRUPT');
    });

    it('binds the purpose: a secret cannot be read back as a payload, even relabelled', async () => {
      const crypto = await keyring.forTenant(acme);
      const sealed = await crypto.encrypt(text('x'), 'secret');
      expect(await codeOf(crypto.decrypt(sealed, 'payload'))).toBe('CIPHERTEXT_PURPOSE_MISMATCH');
      // The wrap is bound to the original context, so the root key refuses the edited one.
      const relabelled = rewriteHeader(sealed, (header) => ({ ...header, p: 'payload' }));
      expect(await codeOf((await h.open().forTenant(acme)).decrypt(relabelled, 'payload'))).toBe('CIPHERTEXT_CORRUPT');
    });

    it('fails closed on corrupted and truncated ciphertext, warm and cold, and on a damaged wrapped key', async () => {
      const crypto = await keyring.forTenant(acme);
      const sealed = Buffer.from(await crypto.encrypt(randomBytes(4096), 'blob'));
      const flipped = Buffer.from(sealed);
      flipped[flipped.length - 100]! ^= 1;
      expect(await codeOf(crypto.decrypt(flipped, 'blob'))).toBe('CIPHERTEXT_CORRUPT');
      const badMagic = Buffer.from(sealed);
      badMagic[0] = 0x58;
      expect(await codeOf(crypto.decrypt(badMagic, 'blob'))).toBe('CIPHERTEXT_CORRUPT');
      expect(await codeOf(crypto.decrypt(sealed.subarray(0, 20), 'blob'))).toBe('CIPHERTEXT_TRUNCATED');
      expect(await codeOf(crypto.decrypt(sealed.subarray(0, sealed.length - 1), 'blob'))).toBe('CIPHERTEXT_CORRUPT');
      const cold = await h.open().forTenant(acme);
      expect(await codeOf(cold.decrypt(flipped, 'blob'))).toBe('CIPHERTEXT_CORRUPT');
      const damagedKey = rewriteHeader(sealed, (header) => {
        const k = headerOf(sealed).k.map((edk) => {
          const c = Buffer.from(edk.c, 'base64');
          c[c.length - 1]! ^= 1;
          return { ...edk, c: c.toString('base64') };
        });
        return { ...header, k };
      });
      expect(await codeOf((await h.open().forTenant(acme)).decrypt(damagedKey, 'blob'))).toBe('CIPHERTEXT_CORRUPT');
    });

    it('streams: frames round-trip; a cut-short stream fails closed', async () => {
      const crypto = await keyring.forTenant(acme);
      const plain = randomBytes(2 * 256 * 1024 + 777);
      const sealed = await collect(crypto.encryptStream([plain.subarray(0, 1000), plain.subarray(1000)], 'blob'));
      const cold = await h.open().forTenant(acme);
      expect((await collect(cold.decryptStream([sealed], 'blob'))).equals(plain)).toBe(true);
      expect(await codeOf(collect(cold.decryptStream([sealed.subarray(0, sealed.length - 10)], 'blob')))).toBe('CIPHERTEXT_TRUNCATED');
    });

    it('caches data keys: 10,000 messages cost one wrap, a cold reader one unwrap', async () => {
      const crypto = await keyring.forTenant(acme);
      const before = { ...h.rootKeyCalls() };
      const sealed: Uint8Array[] = [];
      for (let i = 0; i < 10_000; i++) sealed.push(await crypto.encrypt(text(`message ${i}`), 'payload'));
      expect(h.rootKeyCalls().wrap - before.wrap).toBe(1);
      expect(crypto.stats.keyringCalls).toBe(1);
      const cold = await h.open().forTenant(acme);
      for (const s of sealed) await cold.decrypt(s, 'payload');
      expect(h.rootKeyCalls().unwrap - before.unwrap).toBe(1);
      expect(cold.stats.keyringCalls).toBe(1);
    });

    it('renews a data key when its message budget runs out', async () => {
      const crypto = await h.open({ maxAgeMs: 60_000, maxMessages: 10, maxEntries: 100 }).forTenant(acme);
      const before = h.rootKeyCalls().wrap;
      for (let i = 0; i < 25; i++) await crypto.encrypt(text('m'), 'payload');
      expect(h.rootKeyCalls().wrap - before).toBe(3);
    });

    it('rotates: new data keys from now on, old ciphertext still readable', async () => {
      const crypto = await keyring.forTenant(acme);
      const before = await crypto.encrypt(text('old'), 'record');
      await keyring.rotate(acme);
      const after = await crypto.encrypt(text('new'), 'record');
      expect(headerOf(after).s).not.toBe(headerOf(before).s);
      expect(headerOf(after).k[0]!.c).not.toBe(headerOf(before).k[0]!.c);
      if (h.keyVersionOf) expect(h.keyVersionOf(after)).not.toBe(h.keyVersionOf(before));
      const cold = await h.open().forTenant(acme);
      expect(str(await cold.decrypt(before, 'record'))).toBe('old');
      expect(str(await cold.decrypt(after, 'record'))).toBe('new');
    });

    it('shreds: every read says TENANT_KEY_DESTROYED, other tenants unaffected', async () => {
      const acmeCrypto = await keyring.forTenant(acme);
      const a = await acmeCrypto.encrypt(text('acme data'), 'blob');
      const g = await (await keyring.forTenant(globex)).encrypt(text('globex data'), 'blob');
      await keyring.destroy(acme);
      if (h.assertShredded) await h.assertShredded(acme);
      expect(await codeOf(keyring.forTenant(acme))).toBe('TENANT_KEY_DESTROYED');
      // The crypto object obtained before shredding cannot read either (its cache is cleared).
      expect(await codeOf(acmeCrypto.decrypt(a, 'blob'))).toBe('TENANT_KEY_DESTROYED');
      expect(await codeOf(acmeCrypto.encrypt(text('more'), 'blob'))).toBe('TENANT_KEY_DESTROYED');
      // Nor can another process, and the key cannot be re-created under the same tenant.
      expect(await codeOf(h.open().forTenant(acme))).toBe('TENANT_KEY_DESTROYED');
      expect(await codeOf(keyring.createTenantKey(acme))).toBe('TENANT_KEY_DESTROYED');
      await keyring.destroy(acme); // idempotent
      expect(str(await (await h.open().forTenant(globex)).decrypt(g, 'blob'))).toBe('globex data');
    });

    it('a running process notices a shred made elsewhere', async () => {
      const worker = await h.open().forTenant(acme);
      const sealed = await worker.encrypt(text('cached'), 'payload');
      await h.open().destroy(acme);
      const deadline = Date.now() + h.shredNoticeMs;
      let code = 'no error';
      while (Date.now() < deadline) {
        code = await codeOf(worker.decrypt(sealed, 'payload'));
        if (code === 'TENANT_KEY_DESTROYED') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(code).toBe('TENANT_KEY_DESTROYED');
      expect(await codeOf(worker.encrypt(text('more'), 'payload'))).toBe('TENANT_KEY_DESTROYED');
    });

    it('says the key is missing for an unknown tenant', async () => {
      expect(await codeOf(keyring.forTenant(`initech-${randomBytes(4).toString('hex')}`))).toBe('TENANT_KEY_MISSING');
    });

    it('puts no plaintext and no wrapped key into its errors', async () => {
      const marker = `marker-${randomBytes(6).toString('hex')}`;
      const sealed = await (await keyring.forTenant(acme)).encrypt(text(marker), 'secret');
      const wrapped = headerOf(sealed).k.map((k) => k.c);
      const failures = [
        await failureOf((await keyring.forTenant(globex)).decrypt(sealed, 'secret')),
        await failureOf((await h.open().forTenant(acme)).decrypt(rewriteHeader(sealed, (x) => ({ ...x, p: 'payload' })), 'payload')),
      ];
      await keyring.destroy(acme);
      failures.push(await failureOf((await h.open().forTenant(globex)).decrypt(sealed, 'secret')));
      failures.push(await failureOf(keyring.forTenant(acme)));
      for (const failure of failures) {
        expect(failure.code).not.toBe('no error');
        expect(failure.text).not.toContain(marker);
        for (const c of wrapped) expect(failure.text).not.toContain(c);
      }
    });
  });
}
