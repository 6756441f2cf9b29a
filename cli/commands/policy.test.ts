import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/load.js';
import { diffPolicies, formatDiff } from '../../runtime/authz/diff.js';

const ROOT = resolve(import.meta.dirname, '../..');
const INSTALL = join(ROOT, 'policies/cedar/tests/install');

function claw(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/claw.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, CLAW_STATE_DIR: join(tmpdir(), 'claw-policy-cli') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of the test install to change. */
function copyInstall(): string {
  const dir = mkdtempSync(join(tmpdir(), 'claw-policy-'));
  cpSync(INSTALL, dir, { recursive: true });
  return dir;
}

describe('claw policy', () => {
  it('test: passes the checked-in policy tests', () => {
    const r = claw(['policy', 'test', 'policies/cedar/tests/acme.test.yaml', 'policies/cedar/tests/isolation.test.yaml', 'policies/cedar/tests/night.test.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/14 passed, 0 failed/);
  });

  it('test: fails (exit 1) on a mismatch and says which case and why', () => {
    const dir = copyInstall();
    writeFileSync(join(dir, 'wrong.test.yaml'), 'config: claw.yaml\ncases:\n  - { name: helper files issues, tenant: acme, agent: helper, tool: github.issues, args: { repo: r }, expect: allow }\n');
    const r = claw(['policy', 'test', join(dir, 'wrong.test.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL helper files issues: expected allow, got deny');
    expect(r.stderr).toMatch(/^error POLICY_TEST_FAILED: 1 of 1 policy test\(s\) failed/);
  });

  it('validate: a syntax error is rejected with file, line and column', () => {
    const dir = copyInstall();
    const file = join(dir, 'policies/acme/mail.cedar');
    const broken = readFileSync(file, 'utf8') + '\n@id("broken")\npermit (principal, action == Action::"invokeTool:echo" resource);\n';
    writeFileSync(file, broken);
    const line = broken.split('\n').findIndex((l) => l.startsWith('permit (principal, action == Action::"invokeTool:echo"')) + 1;
    const r = claw(['-c', join(dir, 'claw.yaml'), 'policy', 'validate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error CEDAR_POLICY_SYNTAX: \\S*policies/acme/mail\\.cedar:${line}:56: unexpected token \`resource\``));
  });

  it('validate: a schema error is rejected with file, line and column', () => {
    const dir = copyInstall();
    writeFileSync(join(dir, 'policies/acme/typo.cedar'), '@id("typo")\nforbid (principal, action == Action::"invokeTool:gmail.send", resource)\nwhen { context.args.too == "x" };\n');
    const r = claw(['-c', join(dir, 'claw.yaml'), 'policy', 'validate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error CEDAR_POLICY_SCHEMA: \S*policies\/acme\/typo\.cedar:3:8: .*attribute `args\.too` .* not found; did you mean `to`\?/);
  });

  it('explain: prints the decision and the policy behind it', () => {
    const r = claw(['-c', join(INSTALL, 'claw.yaml'), '--json', 'policy', 'explain', '--tenant', 'acme', '--agent', 'helper', '--tool', 'gmail.send', '--args', '{"to":"a@acme.com"}']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ decision: 'allow', requiresApproval: true, determining: [{ id: 'grant:helper:gmail.send' }] });
  });

  it('diff: granting one tool shows exactly that grant (its egress reported with it) and nothing else', () => {
    const dir = copyInstall();
    const file = join(dir, 'claw.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('tools: [echo, time.now, calc.sum, { name: gmail.send, approval: required }]', 'tools: [echo, time.now, calc.sum, github.issues, { name: gmail.send, approval: required }]'));
    const entries = diffPolicies({ config: loadConfig(join(INSTALL, 'claw.yaml')), configFile: join(INSTALL, 'claw.yaml') }, { config: loadConfig(file), configFile: file });
    expect(entries).toEqual([
      {
        tenant: 'acme',
        agent: 'helper',
        subject: 'github.issues',
        change: 'gains',
        actions: [
          { action: 'invokeTool:github.issues', before: 'deny', after: 'allow', policies: ['grant:helper:github.issues'], conditional: false },
          { action: 'egress', resource: 'api.github.com', before: 'deny', after: 'allow', policies: ['grant:helper:github.issues:egress:api.github.com'], conditional: false },
        ],
      },
    ]);
    const r = claw(['policy', 'diff', INSTALL, dir, '--exit-code']);
    expect(r.stdout.trim()).toBe('acme/helper gains github.issues: deny → allow via grant:helper:github.issues (+ egress api.github.com deny → allow)');
    expect(r.code).toBe(2);
    expect(formatDiff(diffPolicies({ config: loadConfig(file), configFile: file }, { config: loadConfig(file), configFile: file }))).toBe('no change in what any agent may do');
  });

  it('diff: a tenant policy directory change, with --tenant', () => {
    const dir = copyInstall();
    writeFileSync(join(dir, 'policies/acme/mail.cedar'), '// mail rules removed\n');
    const r = claw(['-c', join(INSTALL, 'claw.yaml'), 'policy', 'diff', join(INSTALL, 'policies/acme'), join(dir, 'policies/acme'), '--tenant', 'acme']);
    expect(r.code).toBe(0);
    // representative args (to: "x") were forbidden by the mail rule; without it they may be sent, with approval
    expect(r.stdout.trim()).toBe('acme/helper gains gmail.send: deny → approval via grant:helper:gmail.send');
  });
});
