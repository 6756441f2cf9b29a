import { describe, expect, inject, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localTenantKeyring } from '../../runtime/crypto/index.js';

const VALUE = 'sk-test-value-that-must-not-leak-8d2f';

describe('claw secrets (real CLI process, real PostgreSQL)', () => {
  it('set reads stdin, list prints names only, rm removes; the value is never printed', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'claw-cli-secrets-'));
    await localTenantKeyring(stateDir).createTenantKey('acme');
    const claw = (args: string[], input?: string) =>
      spawnSync(process.execPath, ['bin/claw.js', '--state-dir', stateDir, '--config', join(stateDir, 'none.yaml'), ...args], {
        input,
        encoding: 'utf8',
        env: { ...process.env, DATABASE_URL: inject('postgresUrl') },
      });
    const set = claw(['secrets', 'set', 'OPENAI_API_KEY', '--tenant', 'acme'], `${VALUE}\n`);
    expect(set.stderr).toBe('');
    expect(set.status).toBe(0);
    expect(set.stdout).toContain('stored OPENAI_API_KEY');
    const list = claw(['--json', 'secrets', 'list', '--tenant', 'acme']);
    expect(JSON.parse(list.stdout)).toMatchObject({ type: 'secret.list', names: expect.arrayContaining(['OPENAI_API_KEY']) });
    const empty = claw(['secrets', 'set', 'EMPTY', '--tenant', 'acme'], '');
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain('SECRET_VALUE_EMPTY');
    const unknown = claw(['secrets', 'list', '--tenant', 'nobody']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/TENANT_KEY_MISSING/);
    const rm = claw(['secrets', 'rm', 'OPENAI_API_KEY', '--tenant', 'acme']);
    expect(rm.status).toBe(0);
    for (const run of [set, list, empty, unknown, rm]) expect(run.stdout + run.stderr).not.toContain(VALUE);
  }, 300_000); // each CLI process loads the whole program through tsx: slow on a shared machine

  it("set and rm are in the tenant's audit log with who did them, and the chain verifies (claw audit, as processes)", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'claw-cli-secrets-audit-'));
    const tenant = `audited-${Date.now().toString(36)}`;
    await localTenantKeyring(stateDir).createTenantKey(tenant);
    const claw = (args: string[], input?: string) =>
      spawnSync(process.execPath, ['bin/claw.js', '--state-dir', stateDir, '--config', join(stateDir, 'none.yaml'), ...args], {
        input,
        encoding: 'utf8',
        env: { ...process.env, DATABASE_URL: inject('postgresUrl'), CLAW_USER: 'erin@acme.example' },
      });
    expect(claw(['secrets', 'set', 'GITHUB_TOKEN', '--tenant', tenant], `${VALUE}\n`).status).toBe(0);
    expect(claw(['secrets', 'rm', 'GITHUB_TOKEN', '--tenant', tenant]).status).toBe(0);
    const listed = claw(['--json', 'audit', 'list', '--tenant', tenant]);
    expect(listed.status, listed.stderr).toBe(0);
    const entries = JSON.parse(listed.stdout).entries as { actor: { id: string }; action: string; resource: string }[];
    expect(entries.map((e) => [e.actor.id, e.action, e.resource])).toEqual([
      ['erin@acme.example', 'secret.set', 'secret/GITHUB_TOKEN'],
      ['erin@acme.example', 'secret.remove', 'secret/GITHUB_TOKEN'],
    ]);
    expect(listed.stdout).not.toContain(VALUE);
    const verified = claw(['audit', 'verify', '--tenant', tenant]);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(`audit log of ${tenant}: 2 entries, chain intact`);
  }, 300_000);
});

