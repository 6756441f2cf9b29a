import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load.js';
import type { Agent } from '../../core/config/schema.js';
import { memorySecretStore } from '../broker/testing.js';
import type { AgentRecord, PolicyRevision } from '../store/metadata.js';
import { WorkerToolRuntime } from './tool-runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'claw-worker-tools-'));
const configFile = join(dir, 'claw.yaml');
const CONFIG = `
tenants: [{ id: acme, name: Acme, policies: policies }]
agents:
  - { id: helper, tenant: acme, model: { provider: scripted, script: [{ reply: hi }] }, tools: [echo] }
`;

/** The store's applied agents and policies, changed by the test as `claw agent apply` and the admin API would. */
const applied: AgentRecord[] = [];
const policies: (PolicyRevision & { text: string })[] = [];
const store = {
  listAgents: async (tenantId?: string) => applied.filter((a) => !tenantId || a.tenantId === tenantId),
  listPolicies: async (tenantId?: string) => policies.filter((p) => !tenantId || p.tenantId === tenantId),
  // As MetadataStore.appliedRevisions: what each tenant's applied rows are at.
  appliedRevisions: async (tenantId?: string) => {
    const out = new Map<string, string>();
    const rows = [...applied.map((a) => [a.tenantId, `agent:${a.id}@${a.revision}`]), ...policies.map((p) => [p.tenantId, `policy:${p.name}@${p.revision}`])];
    for (const [tenant, r] of rows.filter(([t]) => !tenantId || t === tenantId).sort()) out.set(tenant!, out.has(tenant!) ? `${out.get(tenant!)},${r}` : r!);
    return out;
  },
};
function apply(id: string, tools: Agent['tools'], revision: number): void {
  const spec: Agent = { ...parseConfig(CONFIG, configFile).agents[0]!, id, tools };
  const at = applied.findIndex((a) => a.id === id);
  const record: AgentRecord = { tenantId: 'acme', id, revision, spec, appliedAt: new Date() };
  if (at >= 0) applied[at] = record;
  else applied.push(record);
}

let step = 0;
const call = (agentId: string, tool: string) => {
  step++;
  return { tenantId: 'acme', agentId, runId: 'run-1', tool, args: {}, callId: `c${step}`, idempotencyKey: `acme/run-1/${step}/c${step}` };
};

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the worker's tool runtime", () => {
  let tools: WorkerToolRuntime;
  afterAll(() => tools?.close());

  it('authorizes with Cedar from claw.yaml, recompiles a tenant when an applied agent changes, and rebuilds on reload', async () => {
    mkdirSync(join(dir, 'policies'));
    writeFileSync(configFile, CONFIG);
    const config = parseConfig(CONFIG, configFile);
    const logs: string[] = [];
    tools = await WorkerToolRuntime.create({ config, configFile, store, secrets: memorySecretStore(), isolatePoolSize: 1, log: (l) => logs.push(l) });

    const echo = await tools.toolCall(call('helper', 'echo'), {});
    expect(echo).toMatchObject({ status: 'done', ok: true, decision: { decision: 'allow', determining: [{ id: 'grant:helper:echo' }] } });
    expect((await tools.toolCall(call('helper', 'time.now'), {})).decision.determining[0]!.id).toBe('cedar:default-deny');

    // An agent applied after the worker started (not in claw.yaml) is authorized by its grants at once ...
    expect((await tools.toolCall(call('newbie', 'time.now'), {})).status).toBe('denied');
    apply('newbie', ['time.now'], 1);
    expect(await tools.toolCall(call('newbie', 'time.now'), {})).toMatchObject({ status: 'done', decision: { determining: [{ id: 'grant:newbie:time.now' }] } });
    // ... and a new revision replaces its grants (and claw.yaml's agent of the same id).
    apply('newbie', [{ name: 'time.now', approval: 'required' }], 2);
    expect((await tools.toolCall(call('newbie', 'time.now'), {})).status).toBe('approval-required');
    apply('helper', [], 1);
    expect((await tools.toolCall(call('helper', 'echo'), {})).status).toBe('denied');

    // A tenant policy applied through the admin API is in force at the next call; its next
    // revision replaces it, and one that does not validate leaves the previous one (logged).
    const policy = (revision: number, text: string) => policies.splice(0, policies.length, { tenantId: 'acme', name: 'ask-first', revision, text, appliedBy: 'user:ana', appliedAt: new Date() });
    policy(1, '@id("acme:ask-first")\n@reason("newbies ask")\nforbid (principal == Agent::"acme/newbie", action, resource);\n');
    expect((await tools.toolCall(call('newbie', 'time.now'), {})).decision).toMatchObject({ decision: 'deny', determining: [{ id: 'acme:ask-first' }] });
    policy(2, '@id("acme:ask-first")\nforbid (principal == Agent::"acme/nobody", action, resource);\n');
    expect((await tools.toolCall(call('newbie', 'time.now'), {})).status).toBe('approval-required');
    policy(3, 'forbid (principal, action, resource) when { nonsense };\n');
    expect((await tools.toolCall(call('newbie', 'time.now'), {})).status).toBe('approval-required');
    expect(logs).toEqual([expect.stringContaining("tenant acme's policies did not reload")]);
    logs.length = 0;
    policies.length = 0;
    expect((await tools.toolCall(call('newbie', 'time.now'), {})).status).toBe('approval-required');

    // Reload: a tenant policy file added since is in force after rebuild.
    writeFileSync(join(dir, 'policies', 'no-time.cedar'), '@id("acme:no-time")\n@reason("no clocks")\nforbid (principal, action == Action::"invokeTool:time.now", resource);\n');
    await tools.rebuild(parseConfig(CONFIG, configFile));
    expect((await tools.toolCall(call('newbie', 'time.now'), {})).decision).toMatchObject({ decision: 'deny', determining: [{ id: 'acme:no-time' }] });
    // A reload that does not validate throws; the policies in force stay.
    writeFileSync(join(dir, 'policies', 'broken.cedar'), 'forbid (principal, action, resource) when { nonsense };\n');
    await expect(tools.rebuild(parseConfig(CONFIG, configFile))).rejects.toThrow();
    expect((await tools.toolCall(call('newbie', 'time.now'), {})).decision.determining[0]!.id).toBe('acme:no-time');
    expect(logs).toEqual([]);
  });
});
