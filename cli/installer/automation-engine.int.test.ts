/**
 * The real Engine (Pulumi Automation API) end to end on a `file://` backend, with an inline
 * program that declares only component resources (no provider plugin, no cloud). It needs
 * the `pulumi` CLI: on PATH, or built once by ../shared/tools/build-pulumi into its cache
 * (test/fixtures/tools.ts); without either the suite says so and skips. The awskms:// secrets
 * provider runs against moto (AWS_ENDPOINT_URL), the fixtures' loopback AWS endpoint.
 * Everything above the Engine interface is tested against the fake engine in
 * commands.test.ts / fleet.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { readdirSync, readFileSync } from 'node:fs';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { localStackSpec, pulumiCli } from '../../test/fixtures/tools.js';
import { AutomationEngine } from './automation-engine.js';
import type { EngineEvent } from './engine.js';
import type { StackSpec } from './workspace.js';

const cli = pulumiCli();
const probe = cli ? spawnSync(cli, ['version'], { encoding: 'utf8' }) : undefined;
const pulumiVersion = probe?.status === 0 ? probe.stdout.trim() : undefined;
if (!pulumiVersion) {
  console.warn('AutomationEngine integration test skipped: no `pulumi` CLI on PATH or in the tools cache (run ../shared/tools/build-pulumi, about 10 min once)');
}

const root = mkdtempSync(join(tmpdir(), 'claw-automation-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = (install: string): StackSpec => localStackSpec(join(root, install), install);

/** Two component resources and an output, one of them secret. */
function program(parts: number) {
  return async () => {
    const install = new pulumi.ComponentResource('claw:test:Install', 'install');
    for (let i = 0; i < parts; i++) new pulumi.ComponentResource('claw:test:Part', `part-${i}`, {}, { parent: install });
    return { gatewayUrl: 'https://gateway.example.test', token: pulumi.secret('not-shown') };
  };
}

describe.skipIf(!pulumiVersion)(`AutomationEngine on pulumi ${pulumiVersion ?? '(absent)'}`, () => {
  it('previews, applies, reports outputs (secrets hidden), sees no drift, and destroys', async () => {
    const engine = new AutomationEngine(spec('lifecycle'), program(2));
    const events: EngineEvent[] = [];
    const preview = await engine.preview({ onEvent: (e) => events.push(e) });
    expect(preview.changes.create).toBe(3);
    expect(preview.steps.map((s) => s.type).sort()).toEqual(['claw:test:Install', 'claw:test:Part', 'claw:test:Part']);

    const applied = await engine.up({ onEvent: (e) => events.push(e) });
    expect(applied).toMatchObject({ status: 'succeeded', changes: { create: 3 } });
    expect(events.some((e) => e.kind === 'summary')).toBe(true);
    expect(engine.description).toMatch(/^pulumi v?\d/);

    expect(await engine.outputs()).toEqual({ gatewayUrl: { value: 'https://gateway.example.test', secret: false }, token: { value: '[secret]', secret: true } });
    expect(await engine.summary()).toMatchObject({ exists: true, resourceCount: 3 });
    expect((await engine.drift()).steps).toEqual([]);

    expect(await engine.destroy()).toMatchObject({ status: 'succeeded' });
    expect(await engine.summary()).toMatchObject({ exists: true, resourceCount: 0 });
  });

  it('applies exactly a saved plan, and refuses one the program no longer matches', async () => {
    const saved = await new AutomationEngine(spec('planned'), program(1)).preview({ savePlan: true });
    expect(saved.enginePlan).toBeTruthy();
    expect(await new AutomationEngine(spec('planned'), program(1)).up({ enginePlan: saved.enginePlan })).toMatchObject({ status: 'succeeded' });

    const stale = await new AutomationEngine(spec('planned'), program(1)).preview({ savePlan: true });
    const moved = new AutomationEngine(spec('planned'), program(3));
    await expect(moved.up({ enginePlan: stale.enginePlan })).rejects.toMatchObject({ code: 'PLAN_MISMATCH' });
  });

  it('reports a stack that does not exist yet', async () => {
    expect(await new AutomationEngine(spec('never-installed'), program(1)).summary()).toEqual({ exists: false, resourceCount: 0 });
  });

  describe('state secrets under the customer\'s KMS key (awskms:// against moto on loopback)', () => {
    const kmsSpec = async (install: string, keyRef: string): Promise<StackSpec> => {
      const endpoint = inject('motoEndpoint');
      return {
        ...spec(install),
        secretsProvider: `awskms://${keyRef}?region=us-east-1`,
        env: { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' },
      };
    };
    const newKey = async () => {
      const kms = new KMSClient({ region: 'us-east-1', endpoint: inject('motoEndpoint'), credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
      return (await kms.send(new CreateKeyCommand({ Description: 'claw state secrets (test)' }))).KeyMetadata!.KeyId!;
    };

    it('applies with the stack\'s secrets sealed by the KMS key: no plaintext secret in the state files', async () => {
      const keyId = await newKey();
      const engine = new AutomationEngine(await kmsSpec('kms', keyId), program(1));
      expect(await engine.up()).toMatchObject({ status: 'succeeded' });
      expect(await engine.outputs()).toMatchObject({ token: { value: '[secret]', secret: true } });
      expect(await engine.outputs({ reveal: true })).toMatchObject({ token: { value: 'not-shown', secret: true } });
      const files = readdirSync(join(root, 'kms'), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
      const text = files.map((f) => readFileSync(join(f.parentPath, f.name), 'utf8')).join('\n');
      expect(text).toContain('awskms://');
      expect(text).not.toContain('not-shown');
    });

    it('a key that does not exist fails the operation, saying the key was not found', async () => {
      const engine = new AutomationEngine(await kmsSpec('kms-missing', '0b7d3f12-aaaa-4bbb-8ccc-123456789012'), program(1));
      const attempt = engine.up().then((r) => r.message ?? r.status, (err: Error) => err.message);
      const message = await attempt;
      expect(message).toMatch(/NotFoundException|not found|does not exist/i);
      expect(message).not.toBe('succeeded');
    });
  });
});

