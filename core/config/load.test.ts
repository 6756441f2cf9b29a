import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, loadConfig } from './load.js';
import { STARTER_AGENT, STARTER_CONFIG } from './starter.js';
import { clawJsonSchema } from './schema.js';
import { ClawError } from '../errors.js';

function expectClawError(fn: () => unknown, code: string, ...fragments: string[]): ClawError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ClawError);
    const e = err as ClawError;
    expect(e.code).toBe(code);
    for (const f of fragments) expect(e.toLine()).toContain(f);
    return e;
  }
  throw new Error('expected a ClawError');
}

describe('claw.yaml loading', () => {
  it('loads the starter with its agent file and applies defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'claw-cfg-'));
    writeFileSync(join(dir, 'claw.yaml'), STARTER_CONFIG);
    mkdirSync(join(dir, 'agents'));
    writeFileSync(join(dir, 'agents', 'helper.yaml'), STARTER_AGENT);
    const config = loadConfig(join(dir, 'claw.yaml'));
    expect(config.target).toBe('local');
    expect(config.tenants.map((t) => t.id)).toEqual(['acme']);
    expect(config.tenants[0]!.key).toEqual({ type: 'managed' });
    expect(config.agents).toHaveLength(1);
    expect(config.agents[0]!.model.provider).toBe('scripted');
    expect(config.agents[0]!.budget.maxSteps).toBe(8);
    expect(config.local.temporalPort).toBe(7233);
  });

  it('names the file, line, field and fix for an invalid value', () => {
    const text = 'target: aws\naws:\n  region: mars-1\n';
    expectClawError(() => parseConfig(text, 'c.yaml'), 'CONFIG_INVALID', 'c.yaml:3:11', 'aws.region', 'unknown AWS region');
  });

  it('reports YAML syntax errors with their position', () => {
    expectClawError(() => parseConfig('tenants: [\n', 'c.yaml'), 'CONFIG_YAML', 'c.yaml:');
  });

  it('rejects duplicate tenants, BYOK refs of the wrong form, and a cloud target without its section', () => {
    const dup = 'tenants:\n  - {id: acme, name: A}\n  - {id: acme, name: B}\n';
    expectClawError(() => parseConfig(dup, 'c.yaml'), 'CONFIG_INVALID', 'tenants[1].id', "duplicate tenant id 'acme'");
    const byok = 'target: aws\naws: {region: us-east-1}\ntenants:\n  - {id: acme, name: A, key: {type: byok, ref: "projects/x/keys/y"}}\n';
    expectClawError(() => parseConfig(byok, 'c.yaml'), 'CONFIG_INVALID', 'tenants[0].key.ref', 'KMS key ARN');
    expectClawError(() => parseConfig('target: gcp\n', 'c.yaml'), 'CONFIG_INVALID', 'gcp', "needs a 'gcp:' section");
  });

  it('rejects two local components on one port, naming both fields', () => {
    const text = 'local:\n  temporalUiPort: 9001\n  workerPort: 9001\n';
    expectClawError(() => parseConfig(text, 'c.yaml'), 'CONFIG_INVALID', 'local.workerPort', 'local.temporalUiPort already uses');
  });

  it('accepts a valid BYOK ARN on aws', () => {
    const ok = 'target: aws\naws: {region: eu-west-1}\ntenants:\n  - {id: acme, name: A, key: {type: byok, ref: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}\n';
    expect(parseConfig(ok, 'c.yaml').tenants[0]!.key.type).toBe('byok');
  });

  it('rejects an agent naming an unknown tenant or tool', () => {
    const base = 'tenants: [{id: acme, name: A}]\nagents:\n';
    const agent = (tenant: string, tool: string) =>
      `${base}  - {id: helper, tenant: ${tenant}, model: {provider: scripted, script: [{reply: hi}]}, tools: [${tool}]}\n`;
    expectClawError(() => parseConfig(agent('nobody', 'echo'), 'c.yaml'), 'UNKNOWN_TENANT', "'nobody'");
    expectClawError(() => parseConfig(agent('acme', 'gmail.send'), 'c.yaml'), 'UNKNOWN_TOOL', "'gmail.send'", 'time.now');
    expect(parseConfig(agent('acme', 'echo'), 'c.yaml').agents[0]!.tools).toEqual(['echo']);
  });

  it('rejects unknown keys (typos) instead of ignoring them', () => {
    expectClawError(() => parseConfig('tenant: []\n', 'c.yaml'), 'CONFIG_INVALID', 'tenant');
  });

  it('exports a JSON Schema that describes tenants and agents', () => {
    const schema = clawJsonSchema() as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['target', 'tenants', 'agents', 'tools', 'versions']));
  });
});
