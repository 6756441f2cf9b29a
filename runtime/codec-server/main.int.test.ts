import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/fixtures/ports.js';

describe('codec-server main.ts (service contract)', () => {
  it('serves /healthz on 127.0.0.1:CLAW_PORT and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const stateDir = mkdtempSync(join(tmpdir(), 'claw-codec-main-'));
    const child = spawn(process.execPath, ['bin/run-ts.js', 'runtime/codec-server/main.ts'], {
      env: { ...process.env, CLAW_STATE_DIR: stateDir, CLAW_PORT: String(port), CLAW_CONFIG: join(stateDir, 'absent.yaml') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let health: Response | undefined;
      for (let i = 0; i < 600 && !health; i++) {
        health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        if (!health) await new Promise((r) => setTimeout(r, 100));
      }
      expect(health?.status).toBe(200);
      const unauth = await fetch(`http://127.0.0.1:${port}/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payloads":[]}' });
      expect(unauth.status).toBe(401);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const stoppedAt = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
