/**
 * Streams a large generated object into the directory blob store and back out, sampling
 * this process's RSS, and prints one JSON line: bytes, sha256 in/out, peak RSS, seconds.
 * Run as a child process so the measurement is of this work alone:
 *
 *   node bin/run-ts.js runtime/blobs/testing/big-blob-child.ts <stateDir> [MiB=1024]
 */
import { createHash, randomBytes } from 'node:crypto';
import { localTenantKeyring } from '../../crypto/index.js';
import { openDirectoryBlobStore } from '../index.js';

const stateDir = process.argv[2];
const mib = Number(process.argv[3] ?? 1024);
if (!stateDir || !Number.isInteger(mib) || mib <= 0) {
  console.error('usage: big-blob-child.ts <stateDir> [MiB]');
  process.exit(2);
}

let peakRss = process.memoryUsage().rss;
/** memoryUsage() at the RSS peak: says whether the peak is heap, buffers or baseline. */
let atPeak = process.memoryUsage();
const sample = () => {
  const usage = process.memoryUsage();
  if (usage.rss > peakRss) {
    peakRss = usage.rss;
    atPeak = usage;
  }
};
const sampler = setInterval(sample, 25);

const BLOCK = 1024 * 1024;
const seed = randomBytes(BLOCK);
const hashIn = createHash('sha256');

/** `mib` blocks, each the seed with its index stamped in, so no two blocks are equal. */
async function* source(): AsyncGenerator<Uint8Array> {
  const block = Buffer.allocUnsafe(BLOCK);
  for (let i = 0; i < mib; i++) {
    // A fresh copy per block would be the generator's garbage, not the store's: refill one.
    seed.copy(block);
    block.writeUInt32BE(i, (i * 4099) % (BLOCK - 4));
    hashIn.update(block);
    sample();
    yield block;
  }
}

const baselineRss = process.memoryUsage().rss;
const started = Date.now();
const keyring = localTenantKeyring(stateDir);
await keyring.createTenantKey('bigco');
const store = openDirectoryBlobStore(stateDir, keyring);
const { size } = await store.put('bigco', 'big/object.bin', source());
const wroteAt = Date.now();
const writePeakRss = peakRss;

const hashOut = createHash('sha256');
let bytesOut = 0;
for await (const chunk of await store.get('bigco', 'big/object.bin')) {
  hashOut.update(chunk);
  bytesOut += chunk.byteLength;
  sample();
}
clearInterval(sampler);
sample();
process.stdout.write(
  `${JSON.stringify({
    bytesIn: size,
    bytesOut,
    sha256In: hashIn.digest('hex'),
    sha256Out: hashOut.digest('hex'),
    peakRssBytes: peakRss,
    baselineRssBytes: baselineRss,
    writePeakRssBytes: writePeakRss,
    atPeak: { heapTotal: atPeak.heapTotal, external: atPeak.external, arrayBuffers: atPeak.arrayBuffers },
    writeSeconds: (wroteAt - started) / 1000,
    readSeconds: (Date.now() - wroteAt) / 1000,
  })}\n`,
);
