/**
 * Envelope encrypt+decrypt throughput for one tenant at 1 KiB, 64 KiB and 1 MiB, against
 * raw AES-256-GCM from node:crypto doing the same work, in the same run.
 *
 * Envelope path: `EnvelopeCrypto.encrypt` then `.decrypt` (claw envelope: clear header
 * with the wrapped data key, HKDF-derived body key, AES-256-GCM with the header as AAD),
 * data keys cached as in production (root keys in a local keyring file; after the first
 * message no root-key call is made, so this is the per-message cost). Baseline: a fresh
 * IV, createCipheriv / update / final / getAuthTag, then createDecipheriv and back, under
 * one 256-bit key — what a hand-rolled "just AES-GCM" would cost.
 * Each size runs ROUNDS times, the two variants interleaved in small alternating slices
 * (the machine is shared: load that comes and goes hits both alike); figures are medians.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localTenantKeyring } from '../runtime/crypto/index.js';
import { report, type Figure } from './lib.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
/** Alternating slices per round (see pairedRates). */
const SLICES = 32;
/** Bytes moved per variant per round and size (encrypt + decrypt of this much plaintext). */
const BYTES_PER_ROUND = Number(process.env.BENCH_BYTES ?? 64 * 2 ** 20);
const SIZES = [
  { label: '1 KiB', bytes: 1024, target: undefined },
  { label: '64 KiB', bytes: 64 * 1024, target: undefined },
  { label: '1 MiB', bytes: 2 ** 20, target: '>= 0.8x' },
] as const;

const stateDir = mkdtempSync(join(tmpdir(), 'claw-bench-envelope-'));
const keyring = localTenantKeyring(stateDir);
await keyring.createTenantKey('bench');
const crypto = await keyring.forTenant('bench');

const rawKey = createSecretKey(randomBytes(32));
function rawSeal(plain: Uint8Array): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', rawKey, iv);
  const body = cipher.update(plain);
  cipher.final();
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}
function rawOpen(sealed: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', rawKey, sealed.subarray(0, 12));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plain = decipher.update(sealed.subarray(12, sealed.length - 16));
  decipher.final();
  return plain;
}

type RoundTrip = (p: Buffer) => Promise<number> | number;

/** Seconds for `ops` round trips of `plain`. */
async function time(ops: number, plain: Buffer, roundTrip: RoundTrip): Promise<number> {
  let check = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) check += await roundTrip(plain);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (check !== ops * plain.length) throw new Error('round trip lost bytes');
  return seconds;
}

/**
 * MiB/s of both variants over `ops` messages each. The machine is shared, so the two run
 * in small alternating slices (A B B A ...): load that comes and goes hits both alike.
 */
async function pairedRates(ops: number, plain: Buffer, a: RoundTrip, b: RoundTrip): Promise<[number, number]> {
  const slice = Math.max(1, Math.floor(ops / SLICES));
  let ta = 0;
  let tb = 0;
  let done = 0;
  for (let i = 0; done < ops; i++) {
    const n = Math.min(slice, ops - done);
    if (i % 2 === 0) {
      ta += await time(n, plain, a);
      tb += await time(n, plain, b);
    } else {
      tb += await time(n, plain, b);
      ta += await time(n, plain, a);
    }
    done += n;
  }
  const mib = (ops * plain.length) / 2 ** 20;
  return [mib / ta, mib / tb];
}

const envelopeRoundTrip = async (p: Buffer) => (await crypto.decrypt(await crypto.encrypt(p, 'blob'), 'blob')).length;
const rawRoundTrip = (p: Buffer) => rawOpen(rawSeal(p)).length;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const figures: Figure[] = [];
try {
  for (const size of SIZES) {
    const plain = randomBytes(size.bytes);
    const ops = Math.max(16, Math.round(BYTES_PER_ROUND / size.bytes));
    // Warm-up: JIT, the first data key (one root-key wrap), buffer pools.
    await pairedRates(Math.min(ops, 200), plain, envelopeRoundTrip, rawRoundTrip);
    const envelope: number[] = [];
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const [e, r] = await pairedRates(ops, plain, envelopeRoundTrip, rawRoundTrip);
      envelope.push(e);
      raw.push(r);
    }
    figures.push({
      name: `envelope encrypt+decrypt, ${size.label} messages`,
      value: median(envelope),
      unit: 'MiB/s',
      baseline: { name: 'raw AES-256-GCM (node:crypto) encrypt+decrypt', value: median(raw) },
      ...(size.target ? { target: size.target } : {}),
      note: `${ops} messages per round in ${SLICES} alternating slices, median of ${ROUNDS}; data keys cached (${crypto.stats.keyringCalls} root-key call(s) in all)`,
    });
  }
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}

report('envelope', figures);
