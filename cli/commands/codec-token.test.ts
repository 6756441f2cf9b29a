/**
 * `claw tenant codec-token`: issues a token entitled to named tenants (printed once, only its
 * hash kept), lists holders without secrets, revokes; the codec-server's TokenStore agrees.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STARTER_AGENT, STARTER_CONFIG } from '../../core/config/starter.js';
import { TokenStore, tokensPath } from '../../runtime/codec-server/tokens.js';
import { runCli } from '../installer/testing/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'claw-codec-token-'));
const config = join(dir, 'claw.yaml');
writeFileSync(config, STARTER_CONFIG);
mkdirSync(join(dir, 'agents'));
writeFileSync(join(dir, 'agents', 'helper.yaml'), STARTER_AGENT);
const stateDir = join(dir, 'state');
const g = ['--config', config, '--state-dir', stateDir];
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const jsonLast = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

describe('claw tenant codec-token', () => {
  it('issues a token for the named tenants that the codec-server accepts; only its hash is stored', async () => {
    const run = await runCli([...g, '--json', 'tenant', 'codec-token', '--tenant', 'acme', '--name', 'alice']);
    expect(run.exitCode).toBe(0);
    const issued = jsonLast(run.stdout);
    expect(issued).toMatchObject({ type: 'codec.token', name: 'alice', tenants: ['acme'], file: tokensPath(stateDir, {}) });
    expect(issued.token).toMatch(/^claw_codec_[A-Za-z0-9_-]{43}$/);
    const file = tokensPath(stateDir, {});
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(issued.token);
    const caller = new TokenStore(file).authenticate(`Bearer ${issued.token}`);
    expect(caller?.name).toBe('alice');
    expect([...caller!.tenants]).toEqual(['acme']);

    const list = await runCli([...g, 'tenant', 'codec-token', '--list']);
    expect(list.stdout).toMatch(/^alice\s+acme/m);
    expect(list.stdout).not.toContain(issued.token);

    const revoked = await runCli([...g, 'tenant', 'codec-token', '--revoke', '--name', 'alice']);
    expect(revoked.stdout).toContain("revoked alice's codec-server token");
    expect(new TokenStore(file).authenticate(`Bearer ${issued.token}`)).toBeUndefined();
  });

  it('writes to --tokens-file (the file for the cloud Secret) instead of the local one', async () => {
    const file = join(dir, 'for-the-secret.json');
    const run = await runCli([...g, '--json', 'tenant', 'codec-token', '--tenant', 'acme', '--name', 'ops', '--tokens-file', file]);
    expect(new TokenStore(file).authenticate(`Bearer ${jsonLast(run.stdout).token}`)?.name).toBe('ops');
  });

  it.each([
    [['--tenant', 'acme'], 'CODEC_TOKEN_NAME_REQUIRED'],
    [['--name', 'bob'], 'CODEC_TOKEN_TENANT_REQUIRED'],
    [['--tenant', 'globex', '--name', 'bob'], 'UNKNOWN_TENANT'],
  ])('%j fails with %s and issues nothing', async (args, code) => {
    const run = await runCli([...g, 'tenant', 'codec-token', ...args]);
    expect(run.error).toMatchObject({ code });
    expect(new TokenStore(tokensPath(stateDir, {})).authenticate('Bearer x')).toBeUndefined();
  });
});
