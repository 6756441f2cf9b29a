/**
 * Ctrl-C during an apply, for real: the CLI runs as a child process on the fake engine with
 * slow steps, receives SIGINT mid-apply, asks the engine to cancel, exits 1 with
 * APPLY_INTERRUPTED and a resume hint; the state is consistent (every finished step saved,
 * no lock held) and a second run applies only what is left.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load.js';
import { FakeEngine, setFakeFaults } from './fake-engine.js';
import { spawnCli, tempInstall } from './testing/helpers.js';
import { stackSpec } from './workspace.js';

describe('Ctrl-C during an apply', () => {
  it('cancels through the engine, keeps the state consistent, and says how to resume', async () => {
    const t = tempInstall();
    const config = parseConfig(readFileSync(t.config, 'utf8'), t.config);
    const spec = stackSpec(config, t.stateDir);
    setFakeFaults(spec, { stepMs: 400 });
    const env = { CLAW_ENGINE: 'fake', NO_COLOR: '1' };
    const args = ['--config', t.config, '--state-dir', t.stateDir, '--yes', 'install', '--skip-preflight'];

    let sent = false;
    const run = await spawnCli(args, env, (stderr, child) => {
      // Interrupt once two resources are done: mid-apply, with more to go.
      if (!sent && (stderr.match(/\] created /g) ?? []).length >= 2) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('interrupted: stopping after the operations in flight finish');
    expect(run.stderr).toMatch(/error APPLY_INTERRUPTED: up interrupted after (2|3) of 7 changes; the state is saved and consistent — run 'claw up' to apply the rest/);

    const state = new FakeEngine(spec, config).read();
    expect(state.lock).toBeUndefined();
    expect(state.lastUpdate?.result).toBe('failed');
    const done = Object.keys(state.resources).length;
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(7);
    // what the progress said was created is exactly what the state holds
    const reported = [...run.stderr.matchAll(/\] created (\S+) /g)].map((m) => m[1]);
    expect(Object.keys(state.resources).map((u) => u.split('::').pop())).toEqual(reported);

    setFakeFaults(spec, { stepMs: 0 });
    const resume = await spawnCli(args, env);
    expect(resume.exitCode).toBe(0);
    expect(resume.stderr).toContain(`demo (aws): ${7 - done} to create (${done} unchanged)`);
    expect(resume.stdout).toContain(`installed demo on aws (${7 - done} to create;`);
    expect(Object.keys(new FakeEngine(spec, config).read().resources)).toHaveLength(7);
  }, 120_000);
});
