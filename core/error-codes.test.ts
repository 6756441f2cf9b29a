import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectCodes, renderCatalog } from './error-codes.js';

describe('error codes are listed in one place', () => {
  it('docs/errors.md is the catalog of the codes in the source (npm run errors:doc regenerates it)', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'errors.md'), 'utf8');
    expect(doc, 'docs/errors.md is stale: run `npm run errors:doc`').toBe(renderCatalog());
  });

  it('one code per meaning: no code is a near-twin of another (same words in another order)', () => {
    const codes = collectCodes().map((e) => e.code);
    expect(codes.length).toBeGreaterThan(100);
    const key = (c: string) => c.split('_').sort().join('_');
    const twins = codes.filter((c, i) => codes.findIndex((d) => key(d) === key(c)) !== i);
    expect(twins).toEqual([]);
  });
});
