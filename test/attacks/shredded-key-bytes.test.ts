/**
 * After `claw tenant shred`, an attacker with the state directory looks for the key bytes.
 * What this proves: no file under the state dir's keys/ holds the destroyed key any more
 * (the keyring file was rewritten and atomically replaced, the old inode unlinked). What it
 * does not prove: that the filesystem or disk kept no copy of the old blocks (no
 * filesystem-level test can; media sanitization is the disk's and the operator's).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalKeyringBackend, keyringPath } from '../../runtime/crypto/local-keyring.js';

const stateDir = mkdtempSync(join(tmpdir(), 'claw-shred-attack-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

function everyFile(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? everyFile(path) : [path];
  });
}

describe('shredded key bytes', () => {
  it('no file under keys/ holds a shredded tenant key; the other tenant keeps its own', async () => {
    const backend = new LocalKeyringBackend(stateDir);
    await backend.createTenantKey('doomed');
    await backend.rotate('doomed');
    await backend.createTenantKey('kept');
    const file = JSON.parse(readFileSync(keyringPath(stateDir), 'utf8'));
    const doomedKeys: string[] = file.tenants.doomed.versions.map((v: { key: string }) => v.key);
    const keptKey: string = file.tenants.kept.versions[0].key;
    expect(doomedKeys).toHaveLength(2);

    await backend.destroy('doomed');

    const leftovers = everyFile(join(stateDir, 'keys')).map((path) => readFileSync(path));
    for (const key of doomedKeys) {
      for (const encoding of ['base64', 'hex'] as const) {
        const needle = Buffer.from(key, 'base64').toString(encoding);
        for (const content of leftovers) expect(content.toString('utf8').includes(needle)).toBe(false);
      }
      for (const content of leftovers) expect(content.includes(Buffer.from(key, 'base64'))).toBe(false);
    }
    expect(leftovers.some((c) => c.toString('utf8').includes(keptKey))).toBe(true);
    await expect(backend.keyring('doomed')).rejects.toMatchObject({ code: 'TENANT_KEY_DESTROYED' });
  });
});
