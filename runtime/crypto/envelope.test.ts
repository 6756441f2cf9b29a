import { describe, expect, it, beforeEach } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { localTenantKeyring, keyringPath, inspect, type EnvelopeKeyring } from './index.js';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code ?? `not a ClawError: ${String(err)}`;
  }
  return 'no error';
}

describe('local tenant keyring and envelope', () => {
  let stateDir: string;
  let keyring: EnvelopeKeyring;
  beforeEach(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'claw-crypto-'));
    keyring = localTenantKeyring(stateDir);
    await keyring.createTenantKey('acme');
    await keyring.createTenantKey('globex');
  });

  it('keeps root keys in a 0600 file under the state dir, never in the ciphertext', async () => {
    const mode = statSync(keyringPath(stateDir)).mode & 0o777;
    expect(mode).toBe(0o600);
    expect(statSync(join(stateDir, 'keys')).mode & 0o777).toBe(0o700);
    const acme = await keyring.forTenant('acme');
    const sealed = Buffer.from(await acme.encrypt(text('the launch code is 0000'), 'payload'));
    expect(sealed.includes(Buffer.from('launch code'))).toBe(false);
    const file = JSON.parse(readFileSync(keyringPath(stateDir), 'utf8'));
    const rootKey = Buffer.from(file.tenants.acme.versions[0].key, 'base64');
    expect(sealed.includes(rootKey)).toBe(false);
    expect(inspect(sealed)).toEqual({ tenantId: 'acme', purpose: 'payload', framed: false });
    expect(str(await acme.decrypt(sealed, 'payload'))).toBe('the launch code is 0000');
  });

  it("refuses another tenant's ciphertext, also when its header is edited to claim the reader", async () => {
    const acme = await keyring.forTenant('acme');
    const globex = await keyring.forTenant('globex');
    const sealed = Buffer.from(await acme.encrypt(text('acme secret'), 'secret'));
    expect(await codeOf(globex.decrypt(sealed, 'secret'))).toBe('CIPHERTEXT_TENANT_MISMATCH');
    // Rewrite the clear header to say "globex": the wrapped key still names acme's root key.
    const withLength = rewriteHeader(sealed, (header) => ({ ...header, t: 'globex' }));
    expect(inspect(withLength).tenantId).toBe('globex');
    expect(await codeOf(globex.decrypt(withLength, 'secret'))).toBe('CIPHERTEXT_TENANT_MISMATCH');
  });

  it('binds the purpose: a secret cannot be read back as a payload', async () => {
    const acme = await keyring.forTenant('acme');
    const sealed = await acme.encrypt(text('x'), 'secret');
    expect(await codeOf(acme.decrypt(sealed, 'payload'))).toBe('CIPHERTEXT_PURPOSE_MISMATCH');
    // Editing the clear purpose does not help: the wrap is bound to the original context.
    const relabelled = rewriteHeader(Buffer.from(sealed), (header) => ({ ...header, p: 'payload' }));
    const cold = await localTenantKeyring(stateDir).forTenant('acme');
    expect(await codeOf(cold.decrypt(relabelled, 'payload'))).toBe('CIPHERTEXT_CORRUPT');
  });

  it('fails closed on corrupted and truncated ciphertext', async () => {
    const acme = await keyring.forTenant('acme');
    const sealed = Buffer.from(await acme.encrypt(randomBytes(4096), 'blob'));
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 100]! ^= 1;
    expect(await codeOf(acme.decrypt(flipped, 'blob'))).toBe('CIPHERTEXT_CORRUPT');
    const badHeader = Buffer.from(sealed);
    badHeader[0] = 0x58;
    expect(await codeOf(acme.decrypt(badHeader, 'blob'))).toBe('CIPHERTEXT_CORRUPT');
    expect(await codeOf(acme.decrypt(sealed.subarray(0, 20), 'blob'))).toBe('CIPHERTEXT_TRUNCATED');
    expect(await codeOf(acme.decrypt(sealed.subarray(0, sealed.length - 1), 'blob'))).toBe('CIPHERTEXT_CORRUPT');
    // A fresh keyring object (no cached data key) must fail the same way, after a real unwrap.
    const cold = await localTenantKeyring(stateDir).forTenant('acme');
    expect(await codeOf(cold.decrypt(flipped, 'blob'))).toBe('CIPHERTEXT_CORRUPT');
  });

  it('streams: frames round-trip; truncation, reordering and trailing bytes fail closed', async () => {
    const acme = await keyring.forTenant('acme');
    const plain = randomBytes(3 * 256 * 1024 + 1234);
    const chunks = [plain.subarray(0, 1000), plain.subarray(1000, 700_000), plain.subarray(700_000)];
    const sealed = await collect(acme.encryptStream(chunks, 'blob'));
    expect((await collect(acme.decryptStream([sealed], 'blob'))).equals(plain)).toBe(true);
    // Reading in odd-sized pieces changes nothing.
    const pieces = Array.from({ length: Math.ceil(sealed.length / 7777) }, (_, i) => sealed.subarray(i * 7777, (i + 1) * 7777));
    expect((await collect(acme.decryptStream(pieces, 'blob'))).equals(plain)).toBe(true);
    // Cut at a frame boundary: every frame present authenticates, but the final one is missing.
    const frameSize = 5 + 12 + 256 * 1024 + 16;
    const prefixLength = 7 + sealed.readUInt16BE(5);
    expect(await codeOf(collect(acme.decryptStream([sealed.subarray(0, prefixLength + 2 * frameSize)], 'blob')))).toBe('CIPHERTEXT_TRUNCATED');
    expect(await codeOf(collect(acme.decryptStream([sealed.subarray(0, sealed.length - 10)], 'blob')))).toBe('CIPHERTEXT_TRUNCATED');
    const swapped = Buffer.concat([
      sealed.subarray(0, prefixLength),
      sealed.subarray(prefixLength + frameSize, prefixLength + 2 * frameSize),
      sealed.subarray(prefixLength, prefixLength + frameSize),
      sealed.subarray(prefixLength + 2 * frameSize),
    ]);
    expect(await codeOf(collect(acme.decryptStream([swapped], 'blob')))).toBe('CIPHERTEXT_CORRUPT');
    expect(await codeOf(collect(acme.decryptStream([sealed, Buffer.from('x')], 'blob')))).toBe('CIPHERTEXT_CORRUPT');
    const empty = await collect(acme.encryptStream([], 'blob'));
    expect((await collect(acme.decryptStream([empty], 'blob'))).length).toBe(0);
    expect(await codeOf(collect(acme.decryptStream([], 'blob')))).toBe('CIPHERTEXT_TRUNCATED');
  });

  it('caches data keys: 10,000 messages cost one wrap, a cold reader one unwrap', async () => {
    const acme = await keyring.forTenant('acme');
    const sealed: Uint8Array[] = [];
    for (let i = 0; i < 10_000; i++) sealed.push(await acme.encrypt(text(`message ${i}`), 'payload'));
    expect(acme.stats.keyringCalls).toBe(1);
    const cold = await localTenantKeyring(stateDir).forTenant('acme');
    for (const s of sealed) await cold.decrypt(s, 'payload');
    expect(cold.stats.keyringCalls).toBe(1);
  });

  it('renews a data key when its age or message budget runs out', async () => {
    const small = localTenantKeyring(stateDir, { maxAgeMs: 60_000, maxMessages: 10, maxEntries: 100 });
    const acme = await small.forTenant('acme');
    for (let i = 0; i < 25; i++) await acme.encrypt(text('m'), 'payload');
    expect(acme.stats.keyringCalls).toBe(3);
  });

  it('rotates: new data keys under the new version, old ciphertext still readable', async () => {
    const acme = await keyring.forTenant('acme');
    const before = await acme.encrypt(text('old'), 'record');
    await keyring.rotate('acme');
    const after = await acme.encrypt(text('new'), 'record');
    expect(JSON.stringify(inspectHeader(after))).toContain('acme/v2');
    expect(JSON.stringify(inspectHeader(before))).toContain('acme/v1');
    const cold = await localTenantKeyring(stateDir).forTenant('acme');
    expect(str(await cold.decrypt(before, 'record'))).toBe('old');
    expect(str(await cold.decrypt(after, 'record'))).toBe('new');
  });

  it('shreds: the key material is gone, every read says TENANT_KEY_DESTROYED, other tenants unaffected', async () => {
    const acme = await keyring.forTenant('acme');
    const globex = await keyring.forTenant('globex');
    const a = await acme.encrypt(text('acme data'), 'blob');
    const g = await globex.encrypt(text('globex data'), 'blob');
    const keyBefore = JSON.parse(readFileSync(keyringPath(stateDir), 'utf8')).tenants.acme.versions[0].key;
    await keyring.destroy('acme');
    const raw = readFileSync(keyringPath(stateDir), 'utf8');
    expect(raw.includes(keyBefore)).toBe(false);
    expect(await codeOf(keyring.forTenant('acme'))).toBe('TENANT_KEY_DESTROYED');
    // Even the crypto object obtained before shredding cannot read (its cache is cleared).
    expect(await codeOf(acme.decrypt(a, 'blob'))).toBe('TENANT_KEY_DESTROYED');
    // A keyring object that missed the shred (another process) stops within a second.
    const other = localTenantKeyring(stateDir);
    await other.forTenant('globex');
    expect(await codeOf(other.forTenant('acme'))).toBe('TENANT_KEY_DESTROYED');
    // And another process (a fresh keyring over the same file) cannot either.
    expect(await codeOf(localTenantKeyring(stateDir).forTenant('acme'))).toBe('TENANT_KEY_DESTROYED');
    expect(await codeOf(keyring.createTenantKey('acme'))).toBe('TENANT_KEY_DESTROYED');
    expect(str(await (await localTenantKeyring(stateDir).forTenant('globex')).decrypt(g, 'blob'))).toBe('globex data');
  });

  it('a running process notices a shred made elsewhere within about a second', async () => {
    const worker = await localTenantKeyring(stateDir).forTenant('acme');
    const sealed = await worker.encrypt(text('cached'), 'payload');
    await localTenantKeyring(stateDir).destroy('acme');
    await new Promise((r) => setTimeout(r, 1100));
    expect(await codeOf(worker.decrypt(sealed, 'payload'))).toBe('TENANT_KEY_DESTROYED');
    expect(await codeOf(worker.encrypt(text('more'), 'payload'))).toBe('TENANT_KEY_DESTROYED');
  });

  it('says which key is missing for an unknown tenant', async () => {
    expect(await codeOf(keyring.forTenant('initech'))).toBe('TENANT_KEY_MISSING');
  });
});

/** Re-serialize an envelope's clear header, as an attacker with write access to storage could. */
function rewriteHeader(sealed: Buffer, change: (header: Record<string, unknown>) => Record<string, unknown>): Buffer {
  const length = sealed.readUInt16BE(5);
  const header = Buffer.from(JSON.stringify(change(JSON.parse(sealed.subarray(7, 7 + length).toString('utf8')))));
  const size = Buffer.alloc(2);
  size.writeUInt16BE(header.length);
  return Buffer.concat([sealed.subarray(0, 5), size, header, sealed.subarray(7 + length)]);
}

function inspectHeader(sealed: Uint8Array): unknown {
  const b = Buffer.from(sealed);
  return JSON.parse(b.subarray(7, 7 + b.readUInt16BE(5)).toString('utf8'));
}
