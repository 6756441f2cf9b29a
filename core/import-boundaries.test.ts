import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// Layers must not run upward (so the runtime images need not copy components/ or policies/), and
// test stand-ins must never be reachable from production code.
const ROOT = join(import.meta.dirname, '..');
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'bench']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIP_DIRS.has(entry.name) ? [] : tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

const isTestSupport = (rel: string) =>
  /\.test\.ts$/.test(rel) || /(^|\/)testing(\/|\.ts$)/.test(rel) || rel.startsWith('test/') ||
  // The second component synthesis harness; it is test support despite its name.
  rel === 'policies/infra/synth.ts';

// Known upward imports still to be moved to a neutral contracts module. This list may only
// shrink: the test fails when an entry no longer violates, so it cannot go stale.
const KNOWN_UPWARD = new Set([
  'runtime/crypto/aws-kms.ts',
  'runtime/crypto/gcp-kms.ts',
  'runtime/sandbox/kubernetes.ts',
]);

describe('import boundaries', () => {
  const files = [...tsFiles(join(ROOT, 'runtime')), ...tsFiles(join(ROOT, 'cli')), ...tsFiles(join(ROOT, 'core')),
    ...tsFiles(join(ROOT, 'stacks')), ...tsFiles(join(ROOT, 'components')), ...tsFiles(join(ROOT, 'policies'))];

  it('no production file under runtime/ imports components/, stacks/ or policies/infra', () => {
    const upward = files
      .map((f) => relative(ROOT, f))
      .filter((rel) => rel.startsWith('runtime/') && !isTestSupport(rel))
      .filter((rel) => importsOf(join(ROOT, rel)).some((spec) => /(^|\/)(components|stacks|policies\/infra)\//.test(spec)));
    expect(upward.filter((rel) => !KNOWN_UPWARD.has(rel))).toEqual([]);
    expect([...KNOWN_UPWARD].filter((rel) => !upward.includes(rel))).toEqual([]);
  });

  it('no production file imports a testing/ path, a test file or test fixtures', () => {
    const offenders = files
      .map((f) => relative(ROOT, f))
      .filter((rel) => !isTestSupport(rel))
      .flatMap((rel) => importsOf(join(ROOT, rel))
        .filter((spec) => /(^|\/)testing(\/|\.js$)|\.test(\.js)?$|test\/fixtures/.test(spec))
        .map((spec) => `${rel} -> ${spec}`));
    expect(offenders).toEqual([]);
  });
});
