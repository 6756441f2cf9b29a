/**
 * `claw plan --offline` on a gcp install: the starter claw.yaml (`claw init`) pointed at
 * gcp synthesizes the gcp stack under mocks and prints the resource table, the per-tenant
 * view and the guardrail verdicts; `--json` gives one `plan.offline` object.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STARTER_AGENT, STARTER_CONFIG } from '../../core/config/starter.js';
import { parseConfig } from '../../core/config/load.js';
import { OfflinePlanOutputSchema } from './offline.js';
import { stackProgram } from './programs.js';
import { runCli, tempInstall } from './testing/helpers.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const GCP_SECTION = [
  'gcp:',
  '  project: acme-claw-prod',
  '  region: europe-west1',
  '  domain: claw.acme.example',
  'images:',
  `  worker: europe-west1-docker.pkg.dev/acme-claw-prod/claw/worker@${digest('a')}`,
  `  gateway: europe-west1-docker.pkg.dev/acme-claw-prod/claw/gateway@${digest('b')}`,
  `  codecServer: europe-west1-docker.pkg.dev/acme-claw-prod/claw/codec-server@${digest('c')}`,
  '',
].join('\n');

/** The starter install, with a gcp section; `target` gcp, or left at local (then --target gcp). */
function starterInstall(target: 'gcp' | 'local') {
  const config = STARTER_CONFIG.replace(/^target: local.*$/m, `target: ${target}`).replace(/\ntenants:/, `\n${GCP_SECTION}\ntenants:`);
  const t = tempInstall(config);
  mkdirSync(join(t.dir, 'agents'), { recursive: true });
  writeFileSync(join(t.dir, 'agents', 'helper.yaml'), STARTER_AGENT);
  return t;
}

describe('claw plan --offline on gcp', () => {
  it('prints the resource table, the tenant view and the guardrail results for the gcp starter config', async () => {
    const t = starterInstall('gcp');
    const run = await runCli(['--config', t.config, '--state-dir', t.stateDir, 'plan', '--offline']);
    expect(run.error).toBeUndefined();
    expect(run.exitCode).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/^SYNTHESIS — not a cloud preview\./);
    expect(out).toMatch(/install claw · target gcp · \d+ resources declared/);
    expect(out).toMatch(/Resources by type\n\s+TYPE\s+COUNT/);
    expect(out).toMatch(/gcp:kms\/cryptoKey:CryptoKey\s+4\b/); // 3 platform keys + acme's
    expect(out).toMatch(/gcp:container\/nodePool:NodePool\s+2\b/);
    expect(out).toMatch(/\n  acme \(23 resources\)/);
    expect(out).toContain('acme-bucket (gcp:storage/bucket:Bucket)');
    expect(out).toMatch(/Guardrails: PASSED \(0 mandatory, 0 advisory violation\(s\)\)/);
  }, 60_000);

  it('--json: one plan.offline object; --target gcp plans a local config that has a gcp section', async () => {
    const t = starterInstall('local');
    const run = await runCli(['--config', t.config, '--state-dir', t.stateDir, '--json', 'plan', '--offline', '--target', 'gcp']);
    expect(run.error).toBeUndefined();
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const plan = OfflinePlanOutputSchema.parse(lines.find((l) => l.type === 'plan.offline'));
    expect(plan).toMatchObject({ target: 'gcp', install: 'claw', guardrails: { passed: true, mandatory: 0 } });
    const acme = plan.tenants.find((x) => x.id === 'acme')!;
    expect(acme.resources.map((r) => r.type)).toEqual(expect.arrayContaining(['gcp:kms/cryptoKey:CryptoKey', 'gcp:storage/bucket:Bucket', 'gcp:bigquery/dataset:Dataset']));
    const bucket = plan.resources.find((r) => r.name === 'acme-bucket' && r.type === 'gcp:storage/bucket:Bucket')!;
    expect(bucket.security).toMatchObject({ publicAccessPrevention: 'enforced', 'encryption.defaultKmsKeyName': expect.stringMatching(/cryptoKeys\/tenant-acme$/) });
  }, 60_000);

  it('a gcp config the stack refuses fails with CONFIG_INVALID naming the field, before synthesis', async () => {
    const t = starterInstall('gcp');
    writeFileSync(t.config, STARTER_CONFIG.replace(/^target: local.*$/m, 'target: gcp').replace(/\ntenants:/, `\n${GCP_SECTION.replace('  domain: claw.acme.example\n', '')}\ntenants:`));
    const run = await runCli(['--config', t.config, '--state-dir', t.stateDir, 'plan', '--offline']);
    expect(run.error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^gcp\.domain:/) });
    expect(run.stdout).not.toContain('SYNTHESIS');
  });

  it("the installer's program for a gcp install is stacks/gcp.ts gcpStack(config)", async () => {
    const { synthesize } = await import('../../policies/infra/synth.js');
    const config = parseConfig(STARTER_CONFIG.replace(/^target: local.*$/m, 'target: gcp').replace(/\nagents:[\s\S]*$/, '\n').replace(/\ntenants:/, `\n${GCP_SECTION}\ntenants:`), 'claw.yaml');
    const program = await stackProgram('gcp', config);
    const { outputs } = await synthesize(program);
    expect(outputs).toMatchObject({ gatewayUrl: 'https://claw.acme.example', tenants: { acme: { managedKey: true, managedBucket: true } } });
  }, 60_000);
});
