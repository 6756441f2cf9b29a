/**
 * Who may decrypt which tenant's payloads in the Temporal UI: bearer tokens, each mapped
 * to the tenants it is entitled to. Only SHA-256 hashes of tokens are stored (a file, mode
 * 0600: `<stateDir>/codec-server/tokens.json`, or CLAW_CODEC_TOKENS_FILE, e.g. a mounted
 * Kubernetes Secret), so the file itself grants nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ClawError } from '../../core/errors.js';
import { WIRING_ENV } from '../../contracts/wiring.js';

const TokenFileSchema = z.object({
  tokens: z.array(z.object({ name: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), tenants: z.array(z.string().min(1)).min(1), createdAt: z.string() })),
});
export type TokenFile = z.output<typeof TokenFileSchema>;

export interface Caller {
  name: string;
  tenants: ReadonlySet<string>;
}

/** CLAW_CODEC_TOKENS_FILE (the cloud's mounted Secret), else the state dir's file. */
export function tokensPath(stateDir: string, env: Record<string, string | undefined> = process.env): string {
  return env[WIRING_ENV.codecTokensFile]?.trim() || join(stateDir, 'codec-server', 'tokens.json');
}

const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

function readTokens(path: string): TokenFile {
  if (!existsSync(path)) return { tokens: [] };
  try {
    return TokenFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new ClawError('CODEC_TOKENS_INVALID', `the codec-server token file ${path} is damaged`, { hint: 'issue the tokens again with `claw tenant codec-token`', cause: err });
  }
}

function writeTokens(path: string, file: TokenFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Issue a token for `name` entitled to `tenants` (replacing name's previous one); returns the token (shown once, never stored). */
export function issueToken(path: string, name: string, tenants: string[]): string {
  const token = `claw_codec_${randomBytes(32).toString('base64url')}`;
  const file = readTokens(path);
  file.tokens = file.tokens.filter((t) => t.name !== name);
  file.tokens.push({ name, sha256: hash(token), tenants: [...new Set(tenants)].sort(), createdAt: new Date().toISOString() });
  writeTokens(path, file);
  return token;
}

/** Revoke `name`'s token; false if it had none. A running codec-server notices on its next request. */
export function revokeToken(path: string, name: string): boolean {
  const file = readTokens(path);
  const kept = file.tokens.filter((t) => t.name !== name);
  if (kept.length === file.tokens.length) return false;
  writeTokens(path, { ...file, tokens: kept });
  return true;
}

/** Who holds a token and for which tenants (never the hashes). */
export function listTokens(path: string): { name: string; tenants: string[]; createdAt: string }[] {
  return readTokens(path).tokens.map(({ name, tenants, createdAt }) => ({ name, tenants, createdAt }));
}

/** Resolves bearer tokens to callers; re-reads the file when it changes (no restart to revoke). */
export class TokenStore {
  private loaded?: { mtimeMs: number; byHash: Map<string, Caller> };

  constructor(private readonly path: string) {}

  private byHash(): Map<string, Caller> {
    const mtimeMs = existsSync(this.path) ? statSync(this.path).mtimeMs : 0;
    if (this.loaded?.mtimeMs !== mtimeMs) {
      const byHash = new Map(readTokens(this.path).tokens.map((t) => [t.sha256, { name: t.name, tenants: new Set(t.tenants) }] as const));
      this.loaded = { mtimeMs, byHash };
    }
    return this.loaded.byHash;
  }

  /** The caller of an `Authorization: Bearer <token>` header, or undefined. */
  authenticate(authorization: string | undefined): Caller | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m) return undefined;
    return this.byHash().get(hash(m[1]!));
  }
}
