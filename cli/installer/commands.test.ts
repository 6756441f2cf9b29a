/**
 * The installer commands end to end against the fake engine (CLAW_ENGINE=fake), in process:
 * parsing, output, exit codes, saved plans, drift, destroy guards, tenants edits, upgrade
 * with a health-gated rollback.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load.js';
import { EXIT } from '../../core/errors.js';
import { cloudUp } from './cloud.js';
import { FakeEngine, setFakeFaults, type FakeState } from './fake-engine.js';
import { stackSpec } from './workspace.js';
import { AWS_CONFIG, runCli, tempInstall } from './testing/helpers.js';
import { Command } from 'commander';

const previousEngine = process.env.CLAW_ENGINE;
beforeAll(() => {
  process.env.CLAW_ENGINE = 'fake';
});
afterAll(() => {
  process.env.CLAW_ENGINE = previousEngine;
});

function fakeState(config: string, stateDir: string): FakeState {
  const parsed = parseConfig(readFileSync(config, 'utf8'), config);
  return new FakeEngine(stackSpec(parsed, stateDir), parsed).read();
}

function specOf(config: string, stateDir: string) {
  return stackSpec(parseConfig(readFileSync(config, 'utf8'), config), stateDir);
}

const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('claw plan / install / up --plan', () => {
  it('plan lists the changes; --detailed-exitcode exits 2 with changes and 0 without', async () => {
    const t = tempInstall();
    const g = ['--config', t.config, '--state-dir', t.stateDir];
    const plan = await runCli([...g, 'plan', '--detailed-exitcode']);
    expect(plan.exitCode).toBe(EXIT.changesPending);
    expect(plan.stdout).toMatch(/plan for demo \(aws, engine: fake.*\): 7 to create/);
    expect(plan.stdout).toContain('create  acme-key (claw:aws:TenantKey)');

    const plain = await runCli([...g, 'plan']);
    expect(plain.exitCode).toBe(EXIT.ok);

    const install = await runCli([...g, '--yes', 'install', '--skip-preflight']);
    expect(install.exitCode).toBe(0);
    expect(install.stdout).toContain('installed demo on aws (7 to create');
    // plain progress (not a TTY): one line per finished step, on stderr
    expect(install.stderr.match(/\] created /g)).toHaveLength(7);

    const after = await runCli([...g, 'plan', '--detailed-exitcode']);
    expect(after.exitCode).toBe(EXIT.ok);
    expect(after.stdout).toContain('no changes');
  });

  it('install without --yes in a non-interactive run fails with CONFIRMATION_REQUIRED and applies nothing', async () => {
    const t = tempInstall();
    const run = await runCli(['--config', t.config, '--state-dir', t.stateDir, '--non-interactive', 'install', '--skip-preflight']);
    expect(run.exitCode).toBe(EXIT.error);
    expect((run.error as { code: string }).code).toBe('CONFIRMATION_REQUIRED');
    expect((run.error as { hint: string }).hint).toContain('--yes');
    expect(Object.keys(fakeState(t.config, t.stateDir).resources ?? {})).toHaveLength(0);
  });

  it('a saved plan applies exactly; it is refused once claw.yaml changed (PLAN_STALE) or the stack moved (PLAN_MISMATCH)', async () => {
    const t = tempInstall();
    const g = ['--config', t.config, '--state-dir', t.stateDir];
    const planFile = join(t.dir, 'plan.json');
    const plan = await runCli([...g, '--json', 'plan', '--out', planFile]);
    const saved = JSON.parse(readFileSync(planFile, 'utf8'));
    expect(saved).toMatchObject({ kind: 'claw.plan', install: 'demo', target: 'aws', changes: { create: 7 } });
    expect(jsonLines(plan.stdout).at(-1)).toMatchObject({ type: 'plan.result', out: planFile });

    // up --plan through the seam FOUNDATION's `claw up` calls
    const cmd = new Command('up').option('--state-dir <d>').option('--config <c>').option('--json').option('--yes');
    cmd.parse(['node', 'up', '--state-dir', t.stateDir, '--config', t.config, '--json'], { from: 'node' });
    const config = parseConfig(readFileSync(t.config, 'utf8'), t.config);
    const writes: string[] = [];
    const origOut = process.stdout.write.bind(process.stdout);
    const origErr = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((c: string) => (writes.push(String(c)), true)) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await cloudUp(cmd, config, { plan: planFile });
    } finally {
      process.stdout.write = origOut;
      process.stderr.write = origErr;
    }
    expect(jsonLines(writes.join('')).at(-1)).toMatchObject({ type: 'up.result', changes: { create: 7 } });
    expect(Object.keys(fakeState(t.config, t.stateDir).resources)).toHaveLength(7);

    // the same plan again: the stack has moved on (nothing left to create)
    await expect(cloudUp(cmd, config, { plan: planFile })).rejects.toMatchObject({ code: 'PLAN_MISMATCH' });

    // a plan made, then claw.yaml edited
    await runCli([...g, 'plan', '--out', planFile]);
    writeFileSync(t.config, readFileSync(t.config, 'utf8').replace('name: Acme Corp', 'name: Acme Inc'));
    const stale = parseConfig(readFileSync(t.config, 'utf8'), t.config);
    await expect(cloudUp(cmd, stale, { plan: planFile })).rejects.toMatchObject({ code: 'PLAN_STALE' });
  });

  it('the local target is refused with TARGET_NOT_CLOUD', async () => {
    const t = tempInstall('name: here\ntarget: local\n');
    const run = await runCli(['--config', t.config, '--state-dir', t.stateDir, 'plan']);
    expect((run.error as { code: string }).code).toBe('TARGET_NOT_CLOUD');
  });

  it('no secrets provider: STATE_SECRETS_PROVIDER_MISSING (never a silent passphrase)', async () => {
    const t = tempInstall('name: demo\ntarget: aws\naws: { region: us-east-1 }\n');
    const run = await runCli(['--config', t.config, '--state-dir', t.stateDir, 'plan']);
    expect((run.error as { code: string }).code).toBe('STATE_SECRETS_PROVIDER_MISSING');
    expect((run.error as { hint: string }).hint).toContain('awskms://');
  });
});

describe('claw drift / refresh', () => {
  it('exits 4 on drift, names the resource, and 0 after a refresh adopted it', async () => {
    const t = tempInstall();
    const g = ['--config', t.config, '--state-dir', t.stateDir];
    await runCli([...g, '--yes', 'install', '--skip-preflight']);
    expect((await runCli([...g, 'drift'])).exitCode).toBe(EXIT.ok);
    const bucket = Object.keys(fakeState(t.config, t.stateDir).resources).find((u) => u.endsWith('acme-bucket'))!;
    setFakeFaults(specOf(t.config, t.stateDir), { drifted: [bucket] });
    const drift = await runCli([...g, 'drift']);
    expect(drift.exitCode).toBe(EXIT.drift);
    expect(drift.stdout).toContain('acme-bucket (claw:aws:TenantBucket)');
    const json = await runCli([...g, '--json', 'drift']);
    expect(jsonLines(json.stdout).at(-1)).toMatchObject({ type: 'drift.result', drifted: 1 });
    expect((await runCli([...g, 'refresh'])).exitCode).toBe(0);
    expect((await runCli([...g, 'drift'])).exitCode).toBe(EXIT.ok);
  });
});

describe('claw destroy', () => {
  it('refuses while tenants hold data, needs the typed name, and destroys with --shred --confirm', async () => {
    const t = tempInstall();
    const g = ['--config', t.config, '--state-dir', t.stateDir];
    await runCli([...g, '--yes', 'install', '--skip-preflight']);
    const refused = await runCli([...g, '--yes', 'destroy']);
    expect(refused.error).toMatchObject({ code: 'TENANTS_HOLD_DATA' });
    expect((refused.error as Error).message).toContain('acme');

    const unconfirmed = await runCli([...g, '--yes', '--non-interactive', 'destroy', '--shred']);
    expect(unconfirmed.error).toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
    expect((unconfirmed.error as { hint: string }).hint).toContain('--confirm demo');

    const wrong = await runCli([...g, 'destroy', '--shred', '--confirm', 'prod']);
    expect(wrong.error).toMatchObject({ code: 'CONFIRMATION_MISMATCH' });
    expect(Object.keys(fakeState(t.config, t.stateDir).resources)).toHaveLength(7);

    const done = await runCli([...g, 'destroy', '--shred', '--confirm', 'demo']);
    expect(done.exitCode).toBe(0);
    // First the tenant key is marked to go with the stack (an update), then everything goes.
    expect(done.stdout).toContain('marked the keys of acme to go with the stack (1 to update)');
    expect(done.stdout).toContain('7 to delete');
    expect(done.stdout).toContain('tenants acme: key deleted with the stack');
    expect(parseConfig(readFileSync(t.config, 'utf8'), t.config).tenants[0]!.onRemove).toBe('shred');
    expect(Object.keys(fakeState(t.config, t.stateDir).resources)).toHaveLength(0);
  });

  it('--shred refuses an install with a BYOK tenant before changing anything', async () => {
    const t = tempInstall(AWS_CONFIG.replace('    name: Acme Corp\n', `    name: Acme Corp\n    key: { type: byok, ref: 'arn:aws:kms:us-east-1:444455556666:key/7b0c2d1e-9f3a-4b5c-8d6e-1a2b3c4d5e6f' }\n`));
    const g = ['--config', t.config, '--state-dir', t.stateDir];
    await runCli([...g, '--yes', 'install', '--skip-preflight']);
    const before = readFileSync(t.config, 'utf8');
    const refused = await runCli([...g, 'destroy', '--shred', '--confirm', 'demo']);
    expect(refused.error).toMatchObject({ code: 'TENANT_SHRED_BYOK', details: { tenants: ['acme'] } });
    expect(readFileSync(t.config, 'utf8')).toBe(before);
    expect(Object.keys(fakeState(t.config, t.stateDir).resources)).toHaveLength(7);
  });
});

describe('claw tenants', () => {
  it('add and remove edit claw.yaml keeping its comments, and apply', async () => {
    const t = tempInstall();
    const g = ['--config', t.config, '--state-dir', t.stateDir, '--yes'];
    await runCli([...g, 'install', '--skip-preflight']);
    const add = await runCli([...g, 'tenants', 'add', 'globex', '--name', 'Globex']);
    expect(add.exitCode).toBe(0);
    expect(add.stdout).toContain('applied: 2 to create, 1 to update');
    const text = readFileSync(t.config, 'utf8');
    expect(text).toContain('# the first customer');
    expect(text).toMatch(/region: us-east-1 +# where it runs/);
    expect(parseConfig(text, t.config).tenants.map((x) => x.id)).toEqual(['acme', 'globex']);

    const list = await runCli([...g, '--json', 'tenants', 'list']);
    expect(jsonLines(list.stdout)[0]).toMatchObject({ type: 'tenants.list', tenants: [{ id: 'acme', deployed: true }, { id: 'globex', deployed: true }] });

    const dup = await runCli([...g, 'tenants', 'add', 'acme']);
    expect(dup.error).toMatchObject({ code: 'TENANT_EXISTS' });

    const remove = await runCli([...g, 'tenants', 'remove', 'globex']);
    expect(remove.stdout).toContain('removed tenant globex');
    expect(readFileSync(t.config, 'utf8')).toContain('# the first customer');
    expect(parseConfig(readFileSync(t.config, 'utf8'), t.config).tenants.map((x) => x.id)).toEqual(['acme']);

    const unknown = await runCli([...g, 'tenants', 'remove', 'nobody']);
    expect(unknown.error).toMatchObject({ code: 'UNKNOWN_TENANT' });
  });

  it('remove keeps the key unless --shred, which marks the key to go with the tenant before removing it', async () => {
    const t = tempInstall();
    const g = ['--config', t.config, '--state-dir', t.stateDir, '--yes'];
    await runCli([...g, 'install', '--skip-preflight']);
    await runCli([...g, 'tenants', 'add', 'globex']);
    await runCli([...g, 'tenants', 'add', 'initech']);
    const keyOf = (id: string) => Object.values(fakeState(t.config, t.stateDir).resources).find((r) => r.type === 'claw:aws:TenantKey' && r.inputs.tenant === id);

    const kept = await runCli([...g, 'tenants', 'remove', 'initech']);
    expect(kept.stdout).toContain('removed tenant initech: key, bucket and traces kept in your account');

    // --no-apply only marks it; the mark shows on the key once applied.
    const marked = await runCli([...g, '--json', 'tenants', 'remove', 'globex', '--shred', '--confirm', 'globex', '--no-apply']);
    expect(jsonLines(marked.stdout).at(-1)).toMatchObject({ type: 'tenants.marked', tenant: 'globex', onRemove: 'shred' });
    expect(parseConfig(readFileSync(t.config, 'utf8'), t.config).tenants.find((x) => x.id === 'globex')?.onRemove).toBe('shred');
    await runCli([...g, 'up']);
    expect(keyOf('globex')?.inputs.onRemove).toBe('shred');

    // A marked tenant is not removed by accident without --shred.
    const unmarkedRemove = await runCli([...g, 'tenants', 'remove', 'globex']);
    expect(unmarkedRemove.error).toMatchObject({ code: 'TENANT_MARKED_FOR_SHRED' });
    expect(keyOf('globex')).toBeDefined();

    const shredded = await runCli([...g, 'tenants', 'remove', 'globex', '--shred', '--confirm', 'globex']);
    expect(shredded.exitCode).toBe(0);
    expect(shredded.stdout).toContain('removed tenant globex: key deleted with the stack');
    expect(keyOf('globex')).toBeUndefined();
    expect(parseConfig(readFileSync(t.config, 'utf8'), t.config).tenants.map((x) => x.id)).toEqual(['acme']);
    // The comments of the file survive both edits.
    expect(readFileSync(t.config, 'utf8')).toContain('# the first customer');
  });

  it('add and remove on the local target are refused before claw.yaml is edited', async () => {
    const t = tempInstall(AWS_CONFIG.replace('target: aws', 'target: local'));
    const before = readFileSync(t.config, 'utf8');
    for (const args of [['tenants', 'add', 'globex'], ['tenants', 'remove', 'acme']]) {
      const run = await runCli(['--config', t.config, '--state-dir', t.stateDir, '--yes', ...args]);
      expect(run.error).toMatchObject({ code: 'TARGET_NOT_CLOUD' });
    }
    expect(readFileSync(t.config, 'utf8')).toBe(before);
  });

  it('remove --shred of a BYOK tenant is refused and changes nothing', async () => {
    const t = tempInstall();
    const g = ['--config', t.config, '--state-dir', t.stateDir, '--yes'];
    await runCli([...g, 'install', '--skip-preflight']);
    await runCli([...g, 'tenants', 'add', 'globex', '--byok', 'arn:aws:kms:us-east-1:444455556666:key/7b0c2d1e-9f3a-4b5c-8d6e-1a2b3c4d5e6f']);
    const before = readFileSync(t.config, 'utf8');
    const refused = await runCli([...g, 'tenants', 'remove', 'globex', '--shred', '--confirm', 'globex']);
    expect(refused.error).toMatchObject({ code: 'TENANT_SHRED_BYOK' });
    expect((refused.error as { hint: string }).hint).toContain('schedule the key');
    expect(readFileSync(t.config, 'utf8')).toBe(before);
  });
});

describe('claw upgrade / rollback', () => {
  it('upgrades, then rolls back to the recorded previous release', async () => {
    const t = tempInstall();
    const g = ['--config', t.config, '--state-dir', t.stateDir, '--yes'];
    await runCli([...g, 'install', '--skip-preflight']);
    const up = await runCli([...g, '--json', 'upgrade', '--to', '0.2.0']);
    expect(jsonLines(up.stdout).at(-1)).toMatchObject({ type: 'upgrade.result', from: '0.1.0', to: '0.2.0', outcome: 'upgraded' });
    expect(readFileSync(t.config, 'utf8')).toMatch(/versions:\n\s+runtime: 0\.2\.0/);
    expect(readFileSync(t.config, 'utf8')).toContain('# the first customer');

    const back = await runCli([...g, 'rollback']);
    expect(back.stdout).toContain('rolled-back (0.2.0 → 0.1.0)');
    const runtime = Object.values(fakeState(t.config, t.stateDir).resources).find((r) => r.type === 'claw:k8s:Runtime');
    expect(runtime?.inputs.version).toBe('0.1.0');
  });

  it('an upgrade whose workloads stay unhealthy is rolled back and fails with UPGRADE_ROLLED_BACK', async () => {
    const t = tempInstall();
    const g = ['--config', t.config, '--state-dir', t.stateDir, '--yes'];
    await runCli([...g, 'install', '--skip-preflight']);
    setFakeFaults(specOf(t.config, t.stateDir), { unhealthyVersions: ['0.2.0'] });
    const up = await runCli([...g, 'upgrade', '--to', '0.2.0']);
    expect(up.exitCode).toBe(EXIT.error);
    expect(up.error).toMatchObject({ code: 'UPGRADE_ROLLED_BACK' });
    expect((up.error as Error).message).toContain('rolled back to 0.1.0');
    expect(parseConfig(readFileSync(t.config, 'utf8'), t.config).versions.runtime).toBe('0.1.0');
    const runtime = Object.values(fakeState(t.config, t.stateDir).resources).find((r) => r.type === 'claw:k8s:Runtime');
    expect(runtime?.inputs.version).toBe('0.1.0');
  });

  it('an unknown release is UNKNOWN_VERSION, listing the known ones', async () => {
    const t = tempInstall();
    const run = await runCli(['--config', t.config, '--state-dir', t.stateDir, 'upgrade', '--to', '9.9.9']);
    expect(run.error).toMatchObject({ code: 'UNKNOWN_VERSION' });
    expect((run.error as { hint: string }).hint).toContain('0.2.0');
  });
});

describe('claw installer-policy', () => {
  it('prints an IAM policy with kms:CreateKey and IAM writes scoped to claw-* roles; a GCP role YAML', async () => {
    const aws = await runCli(['installer-policy', '--target', 'aws']);
    const doc = JSON.parse(aws.stdout);
    expect(doc.Version).toBe('2012-10-17');
    const actions = doc.Statement.flatMap((s: { Action: string[] }) => s.Action);
    expect(actions).toContain('kms:CreateKey');
    expect(actions.some((a: string) => a.includes('*'))).toBe(false);
    const iam = doc.Statement.find((s: { Sid: string }) => s.Sid === 'ClawRolesOnly');
    expect(iam.Resource).toContain('arn:aws:iam::*:role/claw-*');
    const gcp = await runCli(['installer-policy', '--target', 'gcp']);
    // The role's YAML, after a header saying how to bind it (with the condition bounding project IAM).
    expect(gcp.stdout).toMatch(/^# Create the role, then bind it/);
    expect(gcp.stdout).toMatch(/\ntitle: Claw BYOC installer\n/);
    expect(gcp.stdout).toContain('- cloudkms.cryptoKeys.create');
  });
});
