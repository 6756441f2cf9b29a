import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns, showRun } from './runs.js';
import { renderRunList, renderTimeline } from './timeline.js';
import { renderTimelineHtml } from './html.js';
import { runTraceQuery } from './query.js';
import { CANARY, tempStateDir, writeRunsFixture } from './testing/support.js';
import type { TenantKeyring } from '../ports.js';

describe('runs list / show over the lake', () => {
  const { stateDir, cleanup } = tempStateDir();
  let keyring: TenantKeyring;

  beforeAll(async () => {
    keyring = await writeRunsFixture(stateDir);
  });
  afterAll(() => cleanup());

  it('shows the run completely, in order, with decisions, policies, retry, approval and sandbox', async () => {
    const timeline = await showRun({ stateDir, tenantId: 'acme', runId: 'run-1' });
    expect(timeline.steps.map((s) => `${s.seq}:${s.kind}${s.attempt && s.kind === 'model.call' ? `#${s.attempt}` : ''}`)).toEqual([
      '0:run.start', '1:ask', '2:model.call#1', '2:model.call#2', '3:tool.call', '4:tool.call', '5:approval', '6:tool.result',
      '7:tool.call', '8:tool.result', '9:model.call#1', '10:reply', '11:run.end',
    ]);
    expect(timeline).toMatchObject({ status: 'completed', agentId: 'helper', budgetOutcome: 'within', decrypted: false });
    expect(timeline.totals).toEqual({ inputTokens: 1067, outputTokens: 97, modelCalls: 3, retries: 1, toolCalls: 3, denied: 1, approvals: 1 });
    const denied = timeline.steps.find((s) => s.tool === 'shell.exec')!;
    expect(denied).toMatchObject({ decision: 'deny', policies: ['forbid-shell'], reasons: ['agents may not run shell commands'] });
    const approved = timeline.steps.filter((s) => s.callId === 'call_2').map((s) => [s.kind, s.decision ?? s.approval ?? s.status]);
    expect(approved).toEqual([['tool.call', 'allow'], ['approval', 'approved'], ['tool.result', 'ok']]);
    expect(timeline.steps.find((s) => s.kind === 'tool.result' && s.tool === 'weather.lookup')!.sandbox).toBe('isolate');

    const text = renderTimeline(timeline);
    expect(text).toContain('shell.exec [call_1] · DENY · policy forbid-shell · "agents may not run shell commands"');
    expect(text).toContain('anthropic/claude-sonnet-4-5 · attempt 1 · FAILED rate_limited');
    expect(text).toContain('gmail.send [call_2] · APPROVED · by alice@example.com');
    expect(text).toContain('weather.lookup [call_3] · ok · sandbox isolate');
    for (const canary of Object.values(CANARY)) expect(text).not.toContain(canary);
  });

  it('with the key, --decrypt opens the content; the HTML page carries the same timeline', async () => {
    const timeline = await showRun({ stateDir, tenantId: 'acme', runId: 'run-1', keyring, decrypt: true });
    expect(timeline.steps.find((s) => s.kind === 'ask')!.content).toEqual({ text: CANARY.ask });
    expect(timeline.steps.find((s) => s.kind === 'reply')!.content).toEqual({ text: CANARY.reply });
    expect(renderTimeline(timeline)).toContain(CANARY.ask);

    const html = renderTimelineHtml(timeline);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//i);
    expect(html).toContain('rm -rf / CANARY-ARGS-55d0');
    expect(html.indexOf('>ask<')).toBeLessThan(html.indexOf('>reply<'));
    expect(html).toContain('<span class="badge bad">deny</span>');
    expect(html).toContain('<span class="badge ok">approved</span>');
    expect(html).toContain('<span class="badge warn">retry 2</span>');
    expect(html).toContain('sandbox: isolate');
    const sealed = renderTimelineHtml(await showRun({ stateDir, tenantId: 'acme', runId: 'run-1' }));
    for (const canary of Object.values(CANARY)) expect(sealed).not.toContain(canary);
  });

  it('escapes trace content in the HTML page', async () => {
    const timeline = await showRun({ stateDir, tenantId: 'acme', runId: 'run-1', keyring, decrypt: true });
    timeline.steps[1]!.content = { text: '<img src=x onerror=alert(1)>' };
    const html = renderTimelineHtml(timeline);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('lists runs with agent, status and time filters', async () => {
    const all = await listRuns({ stateDir, tenantId: 'acme' });
    expect(all.map((r) => [r.runId, r.agentId, r.status])).toEqual([['run-2', 'triage', 'running'], ['run-1', 'helper', 'completed']]);
    expect(all[1]).toMatchObject({ events: 13, inputTokens: 1067, outputTokens: 97, toolCalls: 3, denied: 1 });
    expect((await listRuns({ stateDir, tenantId: 'acme', agentId: 'helper' })).map((r) => r.runId)).toEqual(['run-1']);
    expect((await listRuns({ stateDir, tenantId: 'acme', status: 'running' })).map((r) => r.runId)).toEqual(['run-2']);
    expect((await listRuns({ stateDir, tenantId: 'acme', since: new Date('2026-11-26T00:00:00Z') })).map((r) => r.runId)).toEqual(['run-2']);
    expect((await listRuns({ stateDir, tenantId: 'acme', until: new Date('2026-11-26T00:00:00Z') })).map((r) => r.runId)).toEqual(['run-1']);
    await expect(listRuns({ stateDir, tenantId: 'acme', status: 'exploded' as never })).rejects.toMatchObject({ code: 'RUN_STATUS_INVALID' });
    expect(renderRunList(all)).toMatch(/run-2\s+triage\s+running/);
  });

  it('a run id of another tenant is not found, even when it exists there', async () => {
    await expect(showRun({ stateDir, tenantId: 'acme', runId: 'run-9' })).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
    const theirs = await showRun({ stateDir, tenantId: 'acme-corp', runId: 'run-1' });
    expect(theirs.tenantId).toBe('acme-corp');
    expect(theirs.startedAt).toBe('2026-11-25T13:00:00.000Z');
  });

  it('traces query: metadata without the key, content with --decrypt, confined to the tenant', async () => {
    const plain = await runTraceQuery({ stateDir, tenantId: 'acme', sql: "SELECT run_id, seq, kind, content FROM traces WHERE kind = 'ask' ORDER BY run_id" });
    expect(plain.rows).toEqual([
      { run_id: 'run-1', seq: 1, kind: 'ask', content: expect.stringMatching(/^\(sealed, \d+ bytes\)$/) },
      { run_id: 'run-2', seq: 1, kind: 'ask', content: expect.stringMatching(/^\(sealed, \d+ bytes\)$/) },
    ]);
    const opened = await runTraceQuery({ stateDir, tenantId: 'acme', sql: "SELECT * FROM traces WHERE kind = 'ask' AND run_id = 'run-1'", decrypt: true, keyring });
    expect(opened.rows[0]!.content).toEqual({ text: CANARY.ask });
    await expect(runTraceQuery({ stateDir, tenantId: 'acme', sql: 'SELECT content FROM traces', decrypt: true, keyring })).rejects.toMatchObject({
      code: 'TRACE_DECRYPT_NEEDS_COLUMNS',
    });
    const counts = await runTraceQuery({ stateDir, tenantId: 'acme', sql: 'SELECT count(*) AS n, count(DISTINCT tenant_id) AS tenants FROM traces' });
    expect(counts.rows).toEqual([{ n: 15, tenants: 1 }]);
  });
});
