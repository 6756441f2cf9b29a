import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// Layers must not run upward: the runtime images copy bin/, core/, contracts/, runtime/ and
// policies/cedar/ only, with the installer's packages (@pulumi/*) removed (.containerignore,
// runtime/images/Containerfile). Test stand-ins must never be reachable from production code.
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

const isTestSupport = (rel: string) => /\.test\.ts$/.test(rel) || /(^|\/)testing(\/|\.ts$)/.test(rel) || rel.startsWith('test/');

describe('import boundaries', () => {
  const files = [...tsFiles(join(ROOT, 'runtime')), ...tsFiles(join(ROOT, 'cli')), ...tsFiles(join(ROOT, 'core')), ...tsFiles(join(ROOT, 'contracts')),
    ...tsFiles(join(ROOT, 'stacks')), ...tsFiles(join(ROOT, 'components')), ...tsFiles(join(ROOT, 'policies'))];

  const production = (prefix: RegExp) => files.map((f) => relative(ROOT, f)).filter((rel) => prefix.test(rel) && !isTestSupport(rel));
  const importing = (rels: string[], forbidden: RegExp) =>
    rels.flatMap((rel) => importsOf(join(ROOT, rel)).filter((spec) => forbidden.test(spec)).map((spec) => `${rel} -> ${spec}`));

  it('no production file under runtime/ or core/ imports cli/, components/, stacks/ or policies/infra', () => {
    expect(importing(production(/^(runtime|core)\//), /(^|\/)(cli|components|stacks|policies\/infra)\//)).toEqual([]);
  });

  it('contracts/ depends on nothing but itself, node builtins and zod', () => {
    const rels = production(/^contracts\//);
    expect(rels.length).toBeGreaterThan(0);
    expect(importing(rels, /^(?!node:|\.\/|zod$)/)).toEqual([]);
  });

  it('nothing the images run imports @pulumi/* (the image build removes those packages)', () => {
    expect(importing(production(/^(runtime|core|contracts|policies\/cedar)\//), /^@pulumi\//)).toEqual([]);
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
