/**
 * Trace events written per second for one tenant, with encryption, against the same
 * events written without it, in the same run.
 *
 * Measured path: emit (runs of 13 events, 32 runs in flight, as activities would) → seal
 * (AES-256-GCM per event under a data key wrapped by the tenant's local root key) →
 * WAL append + fdatasync (group commit) → flush → Parquet (zstd) via DuckDB; the clock
 * stops when everything has landed. Baselines, same events:
 *  - "plaintext writer": the identical path with content stored unencrypted, so the ratio
 *    is the cost of encryption alone;
 *  - "plain Parquet": the rows (unencrypted) written straight to Parquet by the same lake
 *    writer, no WAL — the literal baseline; the ratio also carries the WAL's fsyncs.
 * Each variant runs ROUNDS times interleaved; figures are medians.
 */
import { LocalLake } from '../runtime/traces/local-lake.js';
import { openTraceWriter } from '../runtime/traces/writer.js';
import { PlaintextCodecForBenchmarks, type TraceCodec } from '../runtime/traces/seal.js';
import { localKeyring, mustShowRun, tempStateDir } from '../runtime/traces/testing/support.js';
import type { TraceEvent } from '../runtime/ports.js';
import { report } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 4_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const runs: TraceEvent[][] = Array.from({ length: RUNS }, (_, i) => mustShowRun('acme', `run-${i}`, new Date(Date.UTC(2026, 10, 25, 12, 0, i))));
const total = runs.reduce((n, r) => n + r.length, 0);

async function writerRate(codec: 'sealed' | 'plain'): Promise<number> {
  const { stateDir, cleanup } = tempStateDir();
  try {
    const keyring = await localKeyring(stateDir, ['acme']);
    const writer = await openTraceWriter({
      stateDir,
      lake: new LocalLake(stateDir),
      keyring,
      ...(codec === 'plain' ? { codecFor: async (): Promise<TraceCodec> => new PlaintextCodecForBenchmarks() } : {}),
    });
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < runs.length) await writer.emit(runs[next++]!);
      }),
    );
    await writer.close();
    return total / ((performance.now() - start) / 1000);
  } finally {
    cleanup();
  }
}

async function plainParquetRate(): Promise<number> {
  const { stateDir, cleanup } = tempStateDir();
  try {
    const codec = new PlaintextCodecForBenchmarks();
    const lake = new LocalLake(stateDir);
    const start = performance.now();
    // Same batching as the writer's flush: one Parquet file per ~20k events.
    const batch = Math.ceil(20_000 / 13);
    for (let i = 0; i < runs.length; i += batch) {
      const rows = await codec.seal(runs.slice(i, i + batch).flat());
      await lake.writeSegment('acme', `${String(i).padStart(15, '0')}-0000`, rows);
    }
    await lake.close();
    return total / ((performance.now() - start) / 1000);
  } finally {
    cleanup();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sealed: number[] = [];
const plainWriter: number[] = [];
const plainParquet: number[] = [];
await writerRate('sealed'); // warm-up: JIT, DuckDB load
for (let round = 0; round < ROUNDS; round++) {
  sealed.push(await writerRate('sealed'));
  plainWriter.push(await writerRate('plain'));
  plainParquet.push(await plainParquetRate());
}

const note = `${total} events per round (${RUNS} runs x 13), ${IN_FLIGHT} runs in flight, median of ${ROUNDS}`;
report('traces-write', [
  {
    name: 'encrypted writer (seal + WAL fsync + Parquet)',
    value: median(sealed),
    unit: 'events/s',
    baseline: { name: 'plaintext writer (WAL fsync + Parquet)', value: median(plainWriter) },
    target: '>= 0.7x',
    note,
  },
  {
    name: 'encrypted writer (seal + WAL fsync + Parquet)',
    value: median(sealed),
    unit: 'events/s',
    baseline: { name: 'plain Parquet only (no encryption, no WAL)', value: median(plainParquet) },
    target: '>= 0.7x',
    note,
  },
]);
