/**
 * Fleet waves against the fake engine: 6 installs, the 3rd fails its upgrade. The canary
 * wave succeeds, the failure stops the rollout (in-flight installs finish, nothing new
 * starts), and the summary says upgraded / failed / untouched per install.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load.js';
import { EXIT } from '../../core/errors.js';
import { setFakeFaults } from './fake-engine.js';
import { installStateDir, loadFleet, mapLimit, planWaves, type FleetInstall } from './fleet.js';
import { AWS_CONFIG, runCli } from './testing/helpers.js';
import { stackSpec } from './workspace.js';

const previousEngine = process.env.CLAW_ENGINE;
beforeAll(() => {
  process.env.CLAW_ENGINE = 'fake';
});
afterAll(() => {
  process.env.CLAW_ENGINE = previousEngine;
});

const NAMES = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'vandelay'];

/** A fleet dir with six installs, each installed at 0.1.0 on the fake engine. */
async function sixInstalls(concurrency: number): Promise<{ fleetFile: string; stateDir: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'claw-fleet-'));
  const stateDir = join(dir, 'state');
  for (const name of NAMES) {
    mkdirSync(join(dir, name));
    // Every customer's claw.yaml calls its install 'claw': the fleet keeps their state apart.
    writeFileSync(join(dir, name, 'claw.yaml'), AWS_CONFIG.replace('name: demo', 'name: claw'));
  }
  const fleetFile = join(dir, 'fleet.yaml');
  writeFileSync(
    fleetFile,
    [
      'kind: Fleet',
      `concurrency: ${concurrency}`,
      'waves: { canary: 1 }',
      'installs:',
      ...NAMES.map((n) => `  - { name: ${n}, config: ${n}/claw.yaml, target: aws, profile: ${n}-admin }`),
      '',
    ].join('\n'),
  );
  const fleet = loadFleet(fleetFile);
  for (const entry of fleet.installs) {
    const run = await runCli(['--config', join(dir, entry.name, 'claw.yaml'), '--state-dir', installStateDir(stateDir, entry), '--yes', 'install', '--skip-preflight']);
    expect(run.exitCode).toBe(0);
  }
  return { fleetFile, stateDir, dir };
}

function runtimeVersionOf(dir: string, stateDir: string, entry: FleetInstall): string {
  const file = join(dir, entry.name, 'claw.yaml');
  const spec = stackSpec(parseConfig(readFileSync(file, 'utf8'), file), installStateDir(stateDir, entry));
  const state = JSON.parse(readFileSync(join(spec.installDir, 'fake-engine.json'), 'utf8'));
  return Object.values(state.resources as Record<string, { type: string; inputs: { version?: string } }>).find((r) => r.type === 'claw:k8s:Runtime')!.inputs.version!;
}

describe('planWaves / mapLimit', () => {
  const installs = NAMES.map((name) => ({ name, config: 'x', target: 'aws' as const, canary: false }));

  it('canary first (count or marked installs), then the rest in waves of `size`', () => {
    expect(planWaves({ installs, waves: { canary: 1 } }).map((w) => w.map((i) => i.name))).toEqual([['acme'], ['globex', 'initech', 'umbrella', 'hooli', 'vandelay']]);
    expect(planWaves({ installs, waves: { canary: 2, size: 2 } }).map((w) => w.length)).toEqual([2, 2, 2]);
    const marked = installs.map((i) => ({ ...i, canary: i.name === 'hooli' }));
    expect(planWaves({ installs: marked, waves: { canary: 1 } })[0]!.map((i) => i.name)).toEqual(['hooli']);
  });

  it('never runs more than the limit at once, and starts nothing once stopped', async () => {
    let running = 0;
    let peak = 0;
    let stop = false;
    const started: number[] = [];
    const results = await mapLimit([1, 2, 3, 4, 5, 6, 7, 8], 3, async (n) => {
      started.push(n);
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
      if (n === 4) stop = true;
      return n * 2;
    }, () => stop);
    expect(peak).toBe(3);
    expect(started).not.toContain(8);
    expect([...results.values()]).toContain(8);
  });

  it('a bad fleet file is one FLEET_INVALID error naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'claw-fleet-'));
    writeFileSync(join(dir, 'f.yaml'), 'kind: Fleet\ninstalls:\n  - { name: ab, config: x.yaml, target: azure }\n');
    expect(() => loadFleet(join(dir, 'f.yaml'))).toThrow(expect.objectContaining({ code: 'FLEET_INVALID', message: expect.stringContaining('installs[0].target') }));
  });
});

describe('claw fleet upgrade', () => {
  it('6 installs, the 3rd fails: canary ok, rollout stops, summary upgraded/failed/untouched', async () => {
    const { fleetFile, stateDir, dir } = await sixInstalls(1);
    const fleet = loadFleet(fleetFile);
    const third = fleet.installs[2]!;
    const thirdFile = join(dir, third.name, 'claw.yaml');
    setFakeFaults(stackSpec(parseConfig(readFileSync(thirdFile, 'utf8'), thirdFile), installStateDir(stateDir, third)), { failVersions: ['0.2.0'] });

    const run = await runCli(['--state-dir', stateDir, '--yes', '--json', 'fleet', '--fleet', fleetFile, 'upgrade', '--to', '0.2.0', '--skip-preflight']);
    expect(run.exitCode).toBe(EXIT.error);
    expect(run.error).toMatchObject({ code: 'FLEET_UPGRADE_STOPPED' });
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const summary = lines.find((l) => l.type === 'fleet.upgrade.summary');
    const outcome = Object.fromEntries(summary.rows.map((r: { install: string; outcome: string }) => [r.install, r.outcome]));
    // wave 0 = canary (acme); wave 1 one at a time: globex, then initech fails, nothing after it starts.
    expect(outcome).toEqual({ acme: 'upgraded', globex: 'upgraded', initech: 'failed', umbrella: 'untouched', hooli: 'untouched', vandelay: 'untouched' });
    expect(summary.counts).toEqual({ upgraded: 2, unchanged: 0, failed: 1, untouched: 3 });
    expect(summary.rows.find((r: { install: string }) => r.install === 'initech').code).toBe('UPGRADE_ROLLED_BACK');
    // the canary finished before wave 1 started
    const order = lines.filter((l) => l.type === 'fleet.install.start').map((l) => l.install);
    expect(order[0]).toBe('acme');
    expect(lines.findIndex((l) => l.type === 'fleet.install.done' && l.install === 'acme')).toBeLessThan(lines.findIndex((l) => l.type === 'fleet.install.start' && l.install === 'globex'));

    // what actually runs in each install
    const versions = Object.fromEntries(fleet.installs.map((i) => [i.name, runtimeVersionOf(dir, stateDir, i)]));
    expect(versions).toEqual({ acme: '0.2.0', globex: '0.2.0', initech: '0.1.0', umbrella: '0.1.0', hooli: '0.1.0', vandelay: '0.1.0' });
  });

  it('with concurrency 3, installs in flight finish but none starts after the failure', async () => {
    const { fleetFile, stateDir, dir } = await sixInstalls(3);
    const third = loadFleet(fleetFile).installs[2]!;
    const thirdFile = join(dir, third.name, 'claw.yaml');
    setFakeFaults(stackSpec(parseConfig(readFileSync(thirdFile, 'utf8'), thirdFile), installStateDir(stateDir, third)), { failVersions: ['0.2.0'] });
    const run = await runCli(['--state-dir', stateDir, '--yes', '--json', 'fleet', '--fleet', fleetFile, 'upgrade', '--to', '0.2.0', '--skip-preflight']);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const failedAt = lines.findIndex((l) => l.type === 'fleet.install.done' && l.outcome === 'failed');
    expect(failedAt).toBeGreaterThan(0);
    expect(lines.slice(failedAt).some((l) => l.type === 'fleet.install.start')).toBe(false);
    const summary = lines.find((l) => l.type === 'fleet.upgrade.summary');
    const started = new Set(lines.filter((l) => l.type === 'fleet.install.start').map((l) => l.install));
    for (const row of summary.rows) expect(row.outcome === 'untouched').toBe(!started.has(row.install));
    expect(summary.rows.find((r: { install: string }) => r.install === 'acme').outcome).toBe('upgraded');
  });

  it('prints a summary table in human mode', async () => {
    const { fleetFile, stateDir, dir } = await sixInstalls(1);
    const fleet = loadFleet(fleetFile);
    const third = fleet.installs[2]!;
    const thirdFile = join(dir, third.name, 'claw.yaml');
    setFakeFaults(stackSpec(parseConfig(readFileSync(thirdFile, 'utf8'), thirdFile), installStateDir(stateDir, third)), { failVersions: ['0.2.0'] });
    const run = await runCli(['--state-dir', stateDir, '--yes', 'fleet', '--fleet', fleetFile, 'upgrade', '--to', '0.2.0', '--skip-preflight']);
    expect(run.stdout).toMatch(/INSTALL\s+WAVE\s+RESULT\s+DETAIL/);
    expect(run.stdout).toMatch(/acme\s+canary\s+upgraded/);
    expect(run.stdout).toMatch(/initech\s+1\s+failed\s+upgrade of claw to 0\.2\.0 failed and was rolled back to 0\.1\.0/);
    expect(run.stdout).toMatch(/vandelay\s+1\s+untouched\s+not started/);
    expect(run.stdout).toContain('upgraded 2, unchanged 0, failed 1, untouched 3 — stopped at the first failure');

    // fleet status / plan / drift read every install
    const status = await runCli(['--state-dir', stateDir, '--json', 'fleet', '--fleet', fleetFile, 'status']);
    const rows = JSON.parse(status.stdout.trim().split('\n').at(-1)!).installs;
    expect(rows).toHaveLength(6);
    expect(rows.every((r: { installed: boolean }) => r.installed)).toBe(true);
    const plan = await runCli(['--state-dir', stateDir, 'fleet', '--fleet', fleetFile, 'plan', '--detailed-exitcode']);
    expect(plan.exitCode).toBe(EXIT.ok);
    const drift = await runCli(['--state-dir', stateDir, 'fleet', '--fleet', fleetFile, 'drift']);
    expect(drift.exitCode).toBe(EXIT.ok);
    expect(drift.stdout).toContain('0 of 6 install(s) drifted');
  });
});
