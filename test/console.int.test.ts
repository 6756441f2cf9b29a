/**
 * The web console in a real browser (Debian's chromium driven by playwright-core), against
 * `claw up` (the gateway serves the console and the admin API) and a real OpenID Provider
 * on loopback. Each person signs in through the provider's own pages, in their own browser
 * context:
 *
 * - an approver approves a parked call, and the run finishes (the `claw send` waiting on it
 *   gets the reply);
 * - a viewer (every read, no decideApproval) sees the approve button disabled, and the API
 *   refuses the same decision sent with the viewer's own session;
 * - a run's timeline shows content sealed until an admin decrypts it (which is audited).
 *
 * Each page shown is checked with axe-core (WCAG 2 A/AA: no serious or critical violation).
 * With CLAW_SCREENSHOTS=1 it writes the pages to docs/console/ (the README links them).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { eventually } from '../runtime/workflows/testing/harness.js';
import { REPO, runClaw } from './fixtures/claw-cli.js';
import { startOp, type TestOp } from './fixtures/oidc-op.js';
import { LOCAL_PORT_NAMES, writePeopleInstall } from './fixtures/people-install.js';
import { freePorts } from './fixtures/ports.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const haveBrowser = existsSync(CHROMIUM);
const SHOTS = process.env.CLAW_SCREENSHOTS === '1' ? join(REPO, 'docs', 'console') : undefined;

const work = mkdtempSync(join(tmpdir(), 'claw-console-'));
const stateDir = join(work, 'state');
let op: TestOp;
let base = '';
let browser: Browser;

const claw = (args: string[]) => runClaw(args, { stateDir, cwd: work });

interface Sent extends Promise<{ code: number | null; stdout: string }> {
  /** Throws with the command's output if it ended (a run that should have parked did not). */
  stillRunning(): void;
}

/** `claw send` in the background: resolves with its exit code and output when the run ends. */
function sendInBackground(text: string): Sent {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'claw.js'), '--state-dir', stateDir, '--json', 'send', '--tenant', 'acme', '--agent', 'helper', text], { cwd: work, env: { ...process.env, CLAW_STATE_DIR: '' } });
  let stdout = '';
  let stderr = '';
  let ended = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string }>((resolve) =>
    child.on('close', (code) => {
      ended = true;
      resolve({ code, stdout });
    }),
  );
  return Object.assign(done, {
    stillRunning() {
      if (ended) throw new Error(`claw send '${text}' ended before its call parked: ${stdout}${stderr}`);
    },
  });
}

/** A fresh browser context signed in as `login` through the provider's pages. */
async function signedIn(login: string): Promise<Page> {
  // CSP is bypassed here only so axe-core can be injected; the last test checks the CSP itself.
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, reducedMotion: 'reduce', bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${base}/console/`);
  await page.getByRole('button', { name: /^Sign in with / }).click();
  // The provider's login page (its development interaction: any password), then consent.
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any-password');
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click();
  await page.getByRole('heading', { name: 'Your tenants' }).waitFor();
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await accessible(page, name);
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** axe-core's WCAG 2 A/AA rules on the page as shown: no serious or critical violation (labels, names, contrast, ...). */
async function accessible(page: Page, name: string): Promise<void> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, `accessibility of the ${name} page`).toEqual([]);
}

beforeAll(async () => {
  if (!haveBrowser) return;
  const free = await freePorts(LOCAL_PORT_NAMES.length);
  base = `http://127.0.0.1:${free[2]}`;
  op = await startOp({ 'ana@acme.com': ['acme-approvers'], 'vi@acme.com': ['acme-viewers'], 'bo@acme.com': ['acme-admins'] }, { consoles: [base] });
  writePeopleInstall(work, op.issuer, free);
  const up = await claw(['up']);
  expect(up.code, up.stderr).toBe(0);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (haveBrowser) await claw(['down']);
  await op?.close();
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe.skipIf(!haveBrowser)(`the web console in Chromium${haveBrowser ? '' : ` (skipped: no browser at ${CHROMIUM}; apt-get install chromium, or set CHROMIUM_PATH)`}`, () => {
  let runId = '';

  it('an approver signs in, picks the tenant, approves a parked call, and the run finishes', async () => {
    const sent = sendInBackground('launch please');
    const page = await signedIn('ana@acme.com');
    await expect(page.getByRole('link', { name: 'acme' })).toBeTruthy();
    await page.getByRole('link', { name: 'acme' }).click();
    await page.getByRole('heading', { name: 'Approvals' }).waitFor();
    const parked = page.getByRole('article', { name: /^parked call / });
    await eventually(async () => {
      sent.stillRunning();
      await page.getByRole('button', { name: 'Refresh' }).click();
      return (await parked.count()) > 0 ? true : undefined;
    }, 'the parked call on the approvals page', 90_000, 1_000);
    expect(await parked.locator('pre').textContent()).toContain('"text": "launched"');
    await shot(page, 'approvals');
    await parked.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('status').filter({ hasText: /^Approved echo of run / }).waitFor();
    const done = await sent;
    expect(done.code).toBe(0);
    const reply = JSON.parse(done.stdout.trim().split('\n').at(-1)!);
    expect(reply).toMatchObject({ status: 'completed', reply: expect.stringContaining('Launch handled.') });
    runId = reply.runId;
    await page.context().close();
  }, 180_000);

  it("a viewer sees the approve button disabled, and the API refuses the viewer's decision", async () => {
    const sent = sendInBackground('launch again');
    const page = await signedIn('vi@acme.com');
    await page.goto(`${base}/console/#/t/acme/approvals`);
    const parked = page.getByRole('article', { name: /^parked call / });
    await eventually(async () => {
      sent.stillRunning();
      await page.reload();
      // Count once the list has loaded (a reload starts empty).
      await page.getByRole('article', { name: /^parked call / }).or(page.getByText('No tool call is waiting for a decision.')).first().waitFor();
      return (await parked.count()) > 0 ? true : undefined;
    }, 'the second parked call', 90_000, 1_000).catch(async (err: Error) => {
      throw new Error(`${err.message}; the page says: ${await page.locator('main').textContent()}`);
    });
    await expect(parked.getByRole('button', { name: 'Approve' }).isDisabled()).resolves.toBe(true);
    await expect(parked.getByRole('button', { name: 'Deny' }).isDisabled()).resolves.toBe(true);
    expect(await parked.textContent()).toContain('Your roles do not allow deciding this call.');
    // The same decision, sent by the page with the viewer's own session: refused by Cedar.
    const label = (await parked.getAttribute('aria-label'))!;
    const callId = label.replace('parked call ', '');
    const runOfCall = (await parked.getByRole('link').first().textContent())!;
    const answer = await page.evaluate(
      async ([run, call]) => {
        const session = JSON.parse((globalThis as unknown as { sessionStorage: { getItem(k: string): string } }).sessionStorage.getItem('claw.session')) as { idToken: string };
        const r = await fetch(`/api/v1/tenants/acme/runs/${run}/calls/${call}/decision`, { method: 'POST', headers: { authorization: `Bearer ${session.idToken}`, 'content-type': 'application/json' }, body: '{"approve":true}' });
        return { status: r.status, body: await r.json() };
      },
      [runOfCall, callId],
    );
    expect(answer).toMatchObject({ status: 403, body: { code: 'ADMIN_FORBIDDEN', details: { determiningPolicies: [{ id: 'cedar:default-deny' }] } } });
    await page.context().close();

    // Leave nothing parked: the admin denies it, with a reason (the tenant's policy asks for one).
    const admin = await signedIn('bo@acme.com');
    await admin.goto(`${base}/console/#/t/acme/approvals`);
    const row = admin.getByRole('article', { name: `parked call ${callId}` });
    await row.getByLabel(/^Reason/).fill('not twice');
    await row.getByRole('button', { name: 'Deny' }).click();
    await admin.getByRole('status').filter({ hasText: /^Denied echo/ }).waitFor();
    expect((await sent).code).toBe(0);
    await admin.context().close();
  }, 180_000);

  it("a run's timeline shows content sealed until an admin decrypts it; the decryption is in the audit log", async () => {
    const page = await signedIn('bo@acme.com');
    await page.goto(`${base}/console/#/t/acme/agents`);
    const helper = page.getByRole('article', { name: 'agent helper' });
    await helper.waitFor();
    expect(await helper.textContent()).toMatch(/revision 1 .*model scripted.*Toolsecho \(needs a human\)/s);
    await helper.getByText('Revisions').click();
    await helper.getByRole('table', { name: 'revisions of helper' }).getByRole('cell', { name: '1', exact: true }).waitFor();
    await shot(page, 'agents');
    await page.goto(`${base}/console/#/t/acme/runs`);
    await page.getByRole('link', { name: runId }).waitFor();
    await shot(page, 'runs');
    await page.getByRole('link', { name: runId }).click();
    await page.getByText('content sealed').waitFor();
    expect(await page.locator('.sealed').count()).toBeGreaterThan(0);
    expect(await page.locator('main').textContent()).not.toContain('launch please');
    expect(await page.locator('main').textContent()).toMatch(/tool call.*echo.*ALLOW by grant:helper:echo/s);
    await shot(page, 'run-sealed');
    await page.getByRole('button', { name: 'Decrypt content' }).click();
    await page.getByText('content decrypted').waitFor();
    expect(await page.locator('main').textContent()).toContain('launch please');
    await shot(page, 'run-decrypted');

    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await page.getByRole('status').filter({ hasText: /^Chain intact: / }).waitFor();
    const rows = await page.locator('tbody tr').allTextContents();
    expect(rows.some((r) => r.includes('user:bo@acme.com') && r.includes('trace.decrypt'))).toBe(true);
    expect(rows.some((r) => r.includes('user:ana@acme.com') && r.includes('approval.grant'))).toBe(true);
    await shot(page, 'audit');
    await page.getByRole('link', { name: 'Policies' }).click();
    await page.getByLabel('Agent').fill('helper');
    await page.getByLabel('Tool').fill('echo');
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.getByRole('status').filter({ hasText: /^ALLOW \(needs a human approval\) — grant:helper:echo/ }).waitFor();
    // A proposed policy, diffed before anyone commits it; a syntax error says where.
    await page.getByLabel('Proposed policy (Cedar)').fill('@id("proposal:no-echo")\nforbid (principal, action == Action::"invokeTool:echo", resource);');
    await page.getByRole('button', { name: 'Diff' }).click();
    await page.getByRole('list', { name: 'changes' }).getByText(/^helper loses echo: invokeTool:echo approval → deny \(grant:helper:echo\)/).waitFor();
    await shot(page, 'policies');
    await page.getByLabel('Proposed policy (Cedar)').fill('forbid (principal, action, resource) when { nonsense };');
    await page.getByRole('button', { name: 'Diff' }).click();
    await page.getByRole('alert').filter({ hasText: /^CEDAR_POLICY_(SYNTAX|SCHEMA): proposed\/proposal\.cedar:1:/ }).waitFor();

    // Applied (the admin holds editPolicy): in force at once, with its history and what it changed; then removed.
    await page.getByLabel('Proposed policy (Cedar)').fill('@id("acme:console-no-echo")\nforbid (principal, action == Action::"invokeTool:echo", resource);');
    await page.getByLabel('Name, to apply it').fill('console-no-echo');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('status').filter({ hasText: 'Applied applied/console-no-echo.cedar as revision 1.' }).waitFor();
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.getByRole('status').filter({ hasText: /^DENY — acme:console-no-echo/ }).waitFor();
    await page.getByText('applied/console-no-echo.cedar', { exact: true }).click();
    const history = page.getByRole('region', { name: 'history of console-no-echo' });
    await history.getByText(/revision 1 · .* · user:bo@acme\.com/).waitFor();
    await history.getByRole('button', { name: 'What revision 1 changed' }).click();
    await history.getByRole('list', { name: 'changes of revision 1' }).getByText(/^helper loses echo/).waitFor();
    await shot(page, 'policy-history');
    await history.getByRole('button', { name: 'Remove console-no-echo' }).click();
    await page.getByText('applied/console-no-echo.cedar', { exact: true }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.getByRole('status').filter({ hasText: /^ALLOW \(needs a human approval\)/ }).waitFor();
    await page.context().close();
  }, 180_000);

  it('serves the bundle from this origin only (CSP), with no external request', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const origins = new Set<string>();
    page.on('request', (r) => origins.add(new URL(r.url()).origin));
    const response = await page.goto(`${base}/console/`);
    expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByRole('button', { name: /^Sign in with / }).waitFor();
    expect([...origins]).toEqual([base]);
    await context.close();
  }, 60_000);
});
