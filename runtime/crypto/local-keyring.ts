/**
 * The local target's root keys: one AES-256 key per tenant and key version, in a keyring
 * file under the state dir (`<stateDir>/keys/keyring.json`, mode 0600, directory 0700).
 * Data keys are wrapped with the ESDK raw AES keyring (AES-256-GCM, the encryption context
 * as AAD), named `<tenant>/v<version>` in the `claw-local` namespace.
 *
 * Rotation adds a version (new data keys use it; old versions still unwrap). Shredding
 * overwrites and removes every version and leaves a tombstone, so later reads say
 * TENANT_KEY_DESTROYED rather than "missing".
 *
 * Several processes (CLI, worker, gateway) share the file: writes take a lock file and
 * replace the file atomically; readers re-read it when its mtime changes.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync, fsyncSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { MultiKeyringNode, type KeyringNode } from '@aws-crypto/material-management-node';
import { RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from '@aws-crypto/raw-aes-keyring-node';
import { ClawError, isClawError } from '../../core/errors.js';
import { corrupt, keyDestroyed, keyMissing, tenantMismatch } from './errors.js';
import type { RootKeyBackend, WrappedKeyRef } from './envelope.js';

export const LOCAL_KEY_NAMESPACE = 'claw-local';

const KeyringFileSchema = z.object({
  version: z.literal(1),
  tenants: z.record(
    z.string(),
    z.object({
      /** Key versions, oldest first; the last is current. */
      versions: z.array(z.object({ version: z.number().int().positive(), key: z.string(), createdAt: z.string() })),
      destroyedAt: z.string().optional(),
    }),
  ),
});
type KeyringFile = z.output<typeof KeyringFileSchema>;

export function keyringPath(stateDir: string): string {
  return join(stateDir, 'keys', 'keyring.json');
}

export class LocalKeyringBackend implements RootKeyBackend {
  readonly kind = 'local' as const;
  private readonly path: string;
  private cache?: { mtimeMs: number; size: number; file: KeyringFile };
  private readonly keyrings = new Map<string, { stamp: string; keyring: KeyringNode }>();

  constructor(stateDir: string) {
    this.path = keyringPath(stateDir);
  }

  private read(): KeyringFile {
    if (!existsSync(this.path)) return { version: 1, tenants: {} };
    const stat = statSync(this.path);
    if (this.cache && this.cache.mtimeMs === stat.mtimeMs && this.cache.size === stat.size) return this.cache.file;
    if ((stat.mode & 0o077) !== 0) {
      throw new ClawError('KEYRING_FILE_INVALID', `the keyring file ${this.path} is readable by other users (mode ${(stat.mode & 0o777).toString(8)})`, {
        hint: `run: chmod 600 ${this.path}`,
      });
    }
    let file: KeyringFile;
    try {
      file = KeyringFileSchema.parse(JSON.parse(readFileSync(this.path, 'utf8')));
    } catch (err) {
      throw new ClawError('KEYRING_FILE_INVALID', `the keyring file ${this.path} is damaged`, {
        hint: 'restore it from a backup; without it the local tenants\' data cannot be decrypted',
        cause: err,
      });
    }
    this.cache = { mtimeMs: stat.mtimeMs, size: stat.size, file };
    return file;
  }

  /** Read-modify-write under an exclusive lock file; the new file replaces the old atomically. */
  private update(change: (file: KeyringFile) => void): void {
    const dir = join(this.path, '..');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const lock = `${this.path}.lock`;
    const deadline = Date.now() + 10_000;
    let fd: number | undefined;
    while (fd === undefined) {
      try {
        fd = openSync(lock, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // A lock older than 30 s belongs to a process that died mid-write.
        try {
          if (Date.now() - statSync(lock).mtimeMs > 30_000) unlinkSync(lock);
        } catch {
          /* it went away: retry */
        }
        if (Date.now() > deadline) throw new ClawError('KEYRING_LOCKED', `the keyring file is locked (${lock})`, { hint: 'another claw process is changing keys; retry, or remove the lock file if none is running' });
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    try {
      this.cache = undefined;
      const file = structuredClone(this.read());
      change(file);
      const tmp = `${this.path}.${process.pid}.tmp`;
      const out = openSync(tmp, 'w', 0o600);
      writeSync(out, `${JSON.stringify(file, null, 2)}\n`);
      fsyncSync(out);
      closeSync(out);
      renameSync(tmp, this.path);
      this.cache = undefined;
      this.keyrings.clear();
    } finally {
      closeSync(fd);
      unlinkSync(lock);
    }
  }

  private entry(tenantId: string) {
    const entry = this.read().tenants[tenantId];
    if (!entry) throw keyMissing(tenantId, 'no key in the local keyring');
    if (entry.destroyedAt) throw keyDestroyed(tenantId);
    if (entry.versions.length === 0) throw keyMissing(tenantId, 'the local keyring entry has no key versions');
    return entry;
  }

  async keyring(tenantId: string): Promise<KeyringNode> {
    const entry = this.entry(tenantId);
    const stamp = entry.versions.map((v) => v.version).join(',');
    const known = this.keyrings.get(tenantId);
    if (known?.stamp === stamp) return known.keyring;
    const rings = entry.versions.map(
      (v) =>
        new RawAesKeyringNode({
          keyName: `${tenantId}/v${v.version}`,
          keyNamespace: LOCAL_KEY_NAMESPACE,
          unencryptedMasterKey: new Uint8Array(Buffer.from(v.key, 'base64')), // the ESDK wants an unshared buffer
          wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
        }),
    );
    // The newest version generates; every version can unwrap.
    const keyring = new MultiKeyringNode({ generator: rings[rings.length - 1]!, children: rings.slice(0, -1) });
    this.keyrings.set(tenantId, { stamp, keyring });
    return keyring;
  }

  revalidate(tenantId: string): void {
    this.entry(tenantId);
  }

  async createTenantKey(tenantId: string): Promise<void> {
    const existing = this.read().tenants[tenantId];
    if (existing?.destroyedAt) throw keyDestroyed(tenantId);
    if (existing) return;
    this.update((file) => {
      if (file.tenants[tenantId]) return;
      file.tenants[tenantId] = { versions: [{ version: 1, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() }] };
    });
  }

  async rotate(tenantId: string): Promise<void> {
    this.entry(tenantId);
    this.update((file) => {
      const entry = file.tenants[tenantId]!;
      const next = Math.max(...entry.versions.map((v) => v.version)) + 1;
      entry.versions.push({ version: next, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() });
    });
  }

  async destroy(tenantId: string): Promise<void> {
    if (!this.read().tenants[tenantId]) throw keyMissing(tenantId, 'no key in the local keyring');
    this.update((file) => {
      const entry = file.tenants[tenantId]!;
      entry.versions = [];
      entry.destroyedAt ??= new Date().toISOString();
    });
  }

  /** Key versions of a tenant (numbers only), for `claw tenant` status. */
  versions(tenantId: string): number[] {
    return this.entry(tenantId).versions.map((v) => v.version);
  }

  async explain(tenantId: string, err: unknown, phase: 'wrap' | 'unwrap', edks: WrappedKeyRef[] = []): Promise<ClawError> {
    if (isClawError(err)) return err;
    if (phase === 'wrap') return new ClawError('KEYRING_ERROR', `could not wrap a data key for tenant '${tenantId}'`, { cause: err });
    // Nothing unwrapped: say whose key the data names, or that its version is gone.
    // Raw AES provider info is the key name, then binary tag/iv lengths (starting with a NUL byte).
    const names = edks.filter((k) => k.providerId === LOCAL_KEY_NAMESPACE).map((k) => k.providerInfo.split('\u0000')[0]!);
    const own = names.filter((name) => name.startsWith(`${tenantId}/v`));
    if (names.length > 0 && own.length === 0) return tenantMismatch(tenantId, names[0]!.split('/')[0]!);
    const versions = new Set(this.entry(tenantId).versions.map((v) => `${tenantId}/v${v.version}`));
    if (own.length > 0 && !own.some((name) => versions.has(name))) return keyMissing(tenantId, `key version ${own[0]!.split('/')[1]} is not in the local keyring`);
    return corrupt(`no key of tenant '${tenantId}' unwraps its data key`, err);
  }
}
