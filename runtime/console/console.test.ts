/**
 * The console's build: its API types are the ones the admin API's OpenAPI document gives
 * (regenerate with `npm run console:api`), and the bundle builds with no reference
 * to anything off this origin.
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';
import { API_TYPES_FILE, apiTypes } from '../../scripts/console-api.js';
import { buildConsole } from './serve.js';

describe('the console build', () => {
  it('api-types.ts is generated from the current OpenAPI document (npm run console:api)', async () => {
    expect(readFileSync(API_TYPES_FILE, 'utf8')).toBe(await apiTypes());
  });

  it('bundles to one script and one stylesheet, loading nothing from elsewhere', async () => {
    const assets = await buildConsole();
    expect([...assets.files.keys()].sort()).toEqual(['main.css', 'main.js']);
    const js = assets.files.get('main.js')!.body;
    // No CDN, no remote fonts or imports: every URL in the bundle is relative or built at run time.
    const text = `${js.toString('utf8')}${assets.files.get('main.css')!.body.toString('utf8')}`;
    expect(text.match(/(?:src|href|url\()\s*[=(]?\s*["']?https?:\/\/[^"')\s]+/g) ?? []).toEqual([]);
  }, 60_000);
});
