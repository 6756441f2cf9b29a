/**
 * The console's budget (issue 16): first load of the runs page under 1 s on the local target,
 * and its JavaScript under 300 KB gzipped.
 *
 * `claw up` with tenant acme and a few finished runs; Debian's chromium (playwright-core).
 * First load: a fresh browser context (empty cache), already signed in (a session in
 * sessionStorage holding a service API key, which the admin API takes like an ID token),
 * from navigation start until the runs table has its rows: the page, the bundle, /me and the
 * runs query on the tenant's lake. Baseline, same run: a fresh context navigating to a
 * trivial JSON document of the same server (the floor of any first load).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { loadConfig } from '../core/config/load.js';
import { buildConsole } from '../runtime/console/serve.js';
import { IdentityStore } from '../runtime/identity/store.js';
import { databaseUrl } from '../stacks/local/supervisor.js';
import { REPO } from '../test/fixtures/claw-cli.js';
import { LOCAL_PORT_NAMES, writePeopleInstall } from '../test/fixtures/people-install.js';
import { freePorts } from '../test/fixtures/ports.js';
import { percentile, report } from './lib.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RUNS = 12;
const LOADS = 15;

if (!existsSync(CHROMIUM)) {
  console.log(`# console\nskipped: no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'claw-console-bench-'));
const stateDir = join(work, 'state');
const claw = (...args: string[]) => {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'claw.js'), '--state-dir', stateDir, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, CLAW_STATE_DIR: '' } });
  if (r.status !== 0) throw new Error(`claw ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

try {
  const free = await freePorts(LOCAL_PORT_NAMES.length);
  const base = `http://127.0.0.1:${free[2]}`;
  // Sign-in is not measured here: the provider is never asked (the verifier discovers lazily).
  writePeopleInstall(work, 'http://127.0.0.1:9', free);
  claw('up');
  for (let i = 0; i < RUNS; i++) claw('send', '--tenant', 'acme', '--agent', 'helper', `hello ${i}`);
  const identities = await IdentityStore.open(databaseUrl(loadConfig(join(work, 'claw.yaml')), stateDir));
  const { token } = await identities.createApiKey({ tenantId: 'acme', name: 'bench', roles: ['viewer'], createdBy: 'system:bench', ttlDays: 1 });
  await identities.close();

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const session = JSON.stringify({ idToken: token, user: 'bench', expiresAt: Math.floor(Date.now() / 1000) + 3600 });
  const firstLoad: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < LOADS + 1; i++) {
    const context = await browser.newContext();
    await context.addInitScript((value) => (globalThis as unknown as { sessionStorage: { setItem(k: string, v: string): void } }).sessionStorage.setItem('claw.session', value), session);
    const page = await context.newPage();
    const t0 = performance.now();
    await page.goto(`${base}/console/#/t/acme/runs`);
    await page.locator('tbody tr').nth(RUNS - 1).waitFor();
    const ms = performance.now() - t0;
    await context.close();
    const bare = await browser.newContext();
    const blank = await bare.newPage();
    const b0 = performance.now();
    await blank.goto(`${base}/console/config.json`);
    const floorMs = performance.now() - b0;
    await bare.close();
    if (i > 0) {
      // The first pair warms the browser process itself, not the page.
      firstLoad.push(ms);
      floor.push(floorMs);
    }
  }
  await browser.close();
  firstLoad.sort((a, b) => a - b);
  floor.sort((a, b) => a - b);

  const assets = await buildConsole();
  const js = gzipSync(assets.files.get('main.js')!.body).length / 1024;
  const css = gzipSync(assets.files.get('main.css')!.body).length / 1024;
  report('console', [
    { name: 'runs page first load p50', value: percentile(firstLoad, 50), unit: 'ms', baseline: { name: 'bare navigation p50', value: percentile(floor, 50) } },
    { name: 'runs page first load p99', value: percentile(firstLoad, 99), unit: 'ms', baseline: { name: 'bare navigation p99', value: percentile(floor, 99) }, target: '< 1000 ms', note: `fresh context, signed in, ${RUNS} runs listed` },
    { name: 'JS gzipped', value: js, unit: 'KB', target: '< 300 KB', note: 'Preact, openapi-fetch, oauth4webapi and the pages' },
    { name: 'CSS gzipped', value: css, unit: 'KB', note: 'Pico CSS and ours' },
  ]);
} finally {
  spawnSync(process.execPath, [join(REPO, 'bin', 'claw.js'), '--state-dir', stateDir, 'down'], { cwd: work });
  rmSync(work, { recursive: true, force: true });
}
