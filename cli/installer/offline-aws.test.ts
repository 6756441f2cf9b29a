/**
 * `claw plan --offline --target aws` on the starter claw.yaml exactly as `claw init` writes
 * it (target local, no aws section): a synthesis with labelled placeholders, the resource
 * table and the guardrail verdicts; `--json` validates against the published JSON Schema
 * (cli/installer/schemas/plan-offline.schema.json), which must match the zod schema.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { STARTER_AGENT, STARTER_CONFIG } from '../../core/config/starter.js';
import { offlinePlanJsonSchema } from './offline.js';
import { REPO, runCli, tempInstall } from './testing/helpers.js';

const SCHEMA_FILE = join(REPO, 'cli/installer/schemas/plan-offline.schema.json');

function starter() {
  const t = tempInstall(STARTER_CONFIG);
  mkdirSync(join(t.dir, 'agents'), { recursive: true });
  writeFileSync(join(t.dir, 'agents', 'helper.yaml'), STARTER_AGENT);
  return t;
}

describe('claw plan --offline --target aws on the starter config', () => {
  it('prints the labelled synthesis, its placeholders, the resource table, the tenant view and the guardrails', async () => {
    const t = starter();
    const run = await runCli(['--config', t.config, '--state-dir', t.stateDir, 'plan', '--offline', '--target', 'aws']);
    expect(run.error).toBeUndefined();
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^SYNTHESIS — not a cloud preview\./);
    expect(run.stdout).toMatch(/install claw · target aws · \d+ resources declared/);
    expect(run.stdout).toMatch(/Placeholders \(not in claw\.yaml; a real install sets them\): aws\.region=us-east-1, aws\.domain=claw\.example\.invalid, images\.worker=registry\.invalid\/claw\/worker@sha256:0{64}/);
    expect(run.stdout).toMatch(/aws:kms\/key:Key\s+3\b/);
    expect(run.stdout).toMatch(/aws:eks\/nodeGroup:NodeGroup\s+2\b/);
    expect(run.stdout).toMatch(/\n  acme \(\d+ resources\)/);
    expect(run.stdout).toMatch(/Guardrails: PASSED/);
  }, 90_000);

  it('--json is one plan.offline object that validates against the published schema', async () => {
    const t = starter();
    const run = await runCli(['--config', t.config, '--state-dir', t.stateDir, '--json', 'plan', '--offline', '--target', 'aws']);
    expect(run.error).toBeUndefined();
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const plan = lines.find((l) => l.type === 'plan.offline')!;
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')));
    expect(validate(plan), JSON.stringify(validate.errors)).toBe(true);
    expect(plan).toMatchObject({ target: 'aws', kind: 'synthesis', guardrails: { passed: true, mandatory: 0 } });
    expect(plan.placeholders).toContain('aws.region=us-east-1');
    // A broken object does not validate: the schema is not vacuous.
    expect(validate({ ...plan, guardrails: { passed: 'yes' } })).toBe(false);
  }, 90_000);

  it('the published schema file is the zod schema (regenerate it when the output changes)', () => {
    expect(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))).toEqual(offlinePlanJsonSchema());
  });

  it('a config already set to aws gets no placeholders: a missing section is the install\'s error', async () => {
    const t = tempInstall(STARTER_CONFIG.replace(/^target: local.*$/m, 'target: aws'));
    mkdirSync(join(t.dir, 'agents'), { recursive: true });
    writeFileSync(join(t.dir, 'agents', 'helper.yaml'), STARTER_AGENT);
    const run = await runCli(['--config', t.config, '--state-dir', t.stateDir, 'plan', '--offline']);
    expect(run.error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(run.stdout).not.toContain('SYNTHESIS');
  });
});
