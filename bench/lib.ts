/**
 * Benchmarks print each figure next to a baseline measured in the same run, and write
 * the results to bench/results/<name>.json with a description of the machine.
 * Targets are reported (met / missed), never asserted: benchmarks are not tests.
 */
import { cpus, loadavg, totalmem, platform, release } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The same measurement of the baseline, in the same run. */
  baseline?: { name: string; value: number };
  /** e.g. '<= 2x', '< 50 us', '>= 0.8x' — checked against `ratio` when it ends with 'x'. */
  target?: string;
  note?: string;
}

/** The load average when the bench process started: figures from a busy machine say so. */
const loadAtStart = loadavg();

export function machine(): Record<string, unknown> {
  const cpu = cpus();
  const load = (l: number[]) => l.map((x) => Number(x.toFixed(2)));
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    loadAverage: { start: load(loadAtStart), end: load(loadavg()) },
  };
}

export function ratio(figure: Figure): number | undefined {
  return figure.baseline ? figure.value / figure.baseline.value : undefined;
}

/** Whether a figure meets its target: 'x' targets compare the ratio, others the value. */
export function meets(figure: Figure): boolean | undefined {
  if (!figure.target) return undefined;
  const m = /^(<=|<|>=|>)\s*([\d.]+)\s*(x|.*)$/.exec(figure.target.trim());
  if (!m) return undefined;
  const subject = m[3] === 'x' ? ratio(figure) : figure.value;
  if (subject === undefined) return undefined;
  const bound = Number(m[2]);
  return { '<=': subject <= bound, '<': subject < bound, '>=': subject >= bound, '>': subject > bound }[m[1] as '<='];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** Time `fn` `iterations` times after `warmup` runs; returns sorted durations in ms. */
export async function sample(fn: () => Promise<unknown> | unknown, iterations: number, warmup = Math.min(10, iterations)): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

function format(figure: Figure): string {
  const r = ratio(figure);
  const ok = meets(figure);
  const parts = [`${figure.name}: ${figure.value.toFixed(3)} ${figure.unit}`];
  if (figure.baseline) parts.push(`baseline ${figure.baseline.name} ${figure.baseline.value.toFixed(3)} ${figure.unit}`, `ratio ${r!.toFixed(2)}x`);
  if (figure.target) parts.push(`target ${figure.target}: ${ok === undefined ? 'n/a' : ok ? 'met' : 'MISSED'}`);
  if (figure.note) parts.push(figure.note);
  return parts.join(' | ');
}

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Print every figure and write bench/results/<bench>.json. */
export function report(bench: string, figures: Figure[]): void {
  console.log(`# ${bench}`);
  for (const f of figures) console.log(format(f));
  mkdirSync(resultsDir, { recursive: true });
  const out = {
    bench,
    date: new Date().toISOString(),
    machine: machine(),
    figures: figures.map((f) => ({ ...f, ratio: ratio(f), met: meets(f) })),
  };
  writeFileSync(join(resultsDir, `${bench}.json`), `${JSON.stringify(out, null, 2)}\n`);
}
