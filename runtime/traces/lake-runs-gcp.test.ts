/**
 * The gcp RunReader (LakeRunReader over GcpLake.queryTraces) against the loopback BigQuery
 * stand-in (testing/bigquery-standin.ts). Real: the lake's load jobs (the rows were written
 * by GcpLake.writeSegment, sealed with a real local keyring), the jobs.query and
 * jobs.getQueryResults requests as sent, the parsing of BigQuery-shaped answers, the
 * timeline code and the decryption. Stand-in: BigQuery itself — DuckDB runs the query text
 * over the rows the stand-in holds (no BigQuery emulator exists here), so GoogleSQL's own
 * resolution of the text is not what is tested (run-sql.test.ts says the same of DuckDB).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcpLakeOptions, GcpTenantLake } from './gcp-lake.js';
import { LakeRunReader } from './lake-runs.js';
import { listRuns, showRun, type RunFilter } from './runs.js';
import { ContentSealer } from './seal.js';
import { CANARY, runsFixture, tempStateDir, writeRunsFixture } from './testing/support.js';
import { standinLakes, startBigQueryStandin, type BigQueryStandin } from './testing/bigquery-standin.js';
import type { TenantKeyring } from '../ports.js';

const PROJECT = 'claw-prod';
const TOKEN = 'reader-token';
const keyOf = (tenant: string) => `projects/${PROJECT}/locations/europe-west1/keyRings/claw/cryptoKeys/tenant-${tenant}`;

describe('gcp run reader against a loopback BigQuery stand-in (DuckDB stands in for BigQuery SQL; no BigQuery emulator exists here)', () => {
  let standin: BigQueryStandin;
  let keyring: TenantKeyring;
  const { stateDir, cleanup } = tempStateDir();
  const tenants: Record<string, GcpTenantLake> = {};
  const lake = standinLakes(() => standin, tenants, TOKEN);
  const reader = (options: Partial<GcpLakeOptions> = {}) => new LakeRunReader(lake(options), keyring);

  beforeAll(async () => {
    standin = await startBigQueryStandin({ token: TOKEN });
    // The local lake holds the same runs: what the local reader answers is the expectation.
    keyring = await writeRunsFixture(stateDir);
    for (const id of ['acme', 'acme-corp']) {
      tenants[id] = { projectId: PROJECT, datasetId: `claw_${id.replace('-', '_')}`, kmsKeyName: keyOf(id) };
      standin.addDataset({ projectId: PROJECT, datasetId: tenants[id]!.datasetId, kmsKeyName: keyOf(id) });
    }
    // The worker's path: each batch sealed with the tenant key and loaded by GcpLake, in emit order.
    const writer = lake();
    let segment = 0;
    for (const batch of runsFixture()) {
      const tenantId = batch[0]!.tenantId;
      const rows = await new ContentSealer(await keyring.forTenant(tenantId)).seal(batch);
      await writer.writeSegment(tenantId, `000001764072000-${String(++segment).padStart(8, '0')}`, rows);
    }
  });
  afterAll(async () => {
    await standin.close();
    cleanup();
  });

  const filters: RunFilter[] = [
    {},
    { agentId: 'helper' },
    { status: 'running' },
    { status: 'completed', agentId: 'helper' },
    { since: new Date('2026-11-26T00:00:00Z') },
    { until: new Date('2026-11-26T00:00:00Z') },
    { limit: 1 },
  ];

  it("lists the tenant's runs as the local reader does, in the tenant's dataset, with the values as query parameters", async () => {
    const seen = standin.queries.length;
    for (const filter of filters) {
      const runs = await reader().list('acme', filter);
      expect(runs).toEqual(await listRuns({ stateDir, tenantId: 'acme', ...filter }));
    }
    expect((await reader().list('acme', {})).map((r) => [r.runId, r.status, r.events, r.toolCalls, r.denied])).toEqual([['run-2', 'running', 2, 0, 0], ['run-1', 'completed', 13, 3, 1]]);
    expect((await reader().list('acme-corp', { status: 'failed' })).map((r) => [r.runId, r.agentId, r.toolCalls, r.denied, r.inputTokens])).toEqual([['run-3', 'triage', 2, 1, 10]]);

    const sent = standin.queries.slice(seen);
    expect(sent).toHaveLength(filters.length + 2);
    for (const q of sent.slice(0, -1)) {
      expect(q.request).toMatchObject({ useLegacySql: false, defaultDataset: { projectId: PROJECT, datasetId: 'claw_acme' }, labels: { 'claw-tenant': 'acme' }, formatOptions: { useInt64Timestamp: true } });
    }
    expect(sent.at(-1)!.request.defaultDataset).toEqual({ projectId: PROJECT, datasetId: 'claw_acme_corp' });
    // { status: 'completed', agentId: 'helper' }: named parameters, the text carries no value.
    const both = sent[3]!.request;
    expect(both.parameterMode).toBe('NAMED');
    expect(both.queryParameters).toEqual([
      { name: 'agent', parameterType: { type: 'STRING' }, parameterValue: { value: 'helper' } },
      { name: 'status', parameterType: { type: 'STRING' }, parameterValue: { value: 'completed' } },
    ]);
    expect(both.query).toContain('WHERE agent_id = @agent');
    expect(both.query).toContain("= @status");
    expect(both.query).not.toMatch(/'helper'|'completed'/);
    expect(sent[4]!.request.queryParameters).toEqual([{ name: 'since', parameterType: { type: 'STRING' }, parameterValue: { value: '2026-11-26 00:00:00.000' } }]);
    for (const r of standin.requests.filter((x) => x.path.includes('/queries'))) expect(r.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('shows a run sealed, then opened with the tenant keyring, exactly as the local reader', async () => {
    const seen = standin.requests.length;
    const sealed = await reader().show('acme', 'run-1', false);
    expect(sealed).toEqual(await showRun({ stateDir, tenantId: 'acme', runId: 'run-1' }));
    expect(sealed).toMatchObject({ status: 'completed', agentId: 'helper', decrypted: false, totals: { inputTokens: 1067, outputTokens: 97, modelCalls: 3, retries: 1, toolCalls: 3, denied: 1, approvals: 1 } });
    expect(sealed.steps.map((s) => s.seq)).toEqual([0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(sealed.steps.every((s) => s.content === undefined)).toBe(true);
    expect(sealed.steps.find((s) => s.kind === 'ask')!.contentBytes).toBeGreaterThan(0);

    const opened = await reader().show('acme', 'run-1', true);
    expect(opened).toEqual(await showRun({ stateDir, tenantId: 'acme', runId: 'run-1', keyring, decrypt: true }));
    expect(opened.decrypted).toBe(true);
    expect(opened.steps.find((s) => s.kind === 'ask')!.content).toEqual({ text: CANARY.ask });
    expect(opened.steps.find((s) => s.kind === 'reply')!.content).toEqual({ text: CANARY.reply });

    // What crossed the wire was ciphertext: no canary in any request sent for these reads.
    const sent = standin.requests.slice(seen).map((r) => r.body + r.path).join('\n');
    for (const canary of Object.values(CANARY)) expect(sent).not.toContain(canary);
    const failed = await reader().show('acme-corp', 'run-3', false);
    expect(failed).toMatchObject({ status: 'failed', totals: { toolCalls: 2, denied: 1, approvals: 1 } });
  });

  it("reads a job that is not complete at once, and every page of its results", async () => {
    standin.deferNextQuery();
    const paged = reader({ queryPageRows: 4 });
    const timeline = await paged.show('acme', 'run-1', false);
    expect(timeline).toEqual(await showRun({ stateDir, tenantId: 'acme', runId: 'run-1' }));
    const q = standin.queries.at(-1)!;
    expect(q.values).toHaveLength(13);
    expect(q.polls).toBe(4); // jobComplete false, then pages of 4, 4, 4 and 1 rows
    const gets = standin.requests.filter((r) => r.path.startsWith(`/bigquery/v2/projects/${PROJECT}/queries/${q.jobId}`));
    expect(gets.map((r) => new URL(r.path, 'http://x').searchParams.get('pageToken'))).toEqual([null, '4', '8', '12']);
    for (const r of gets) expect(new URL(r.path, 'http://x').searchParams.get('formatOptions.useInt64Timestamp')).toBe('true');
  });

  it("is confined to the tenant's dataset: another tenant's run of the same id or of another id is not found", async () => {
    await expect(reader().show('acme', 'run-3', false)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
    expect(standin.queries.at(-1)!.request.defaultDataset).toEqual({ projectId: PROJECT, datasetId: 'claw_acme' });
    const theirs = await reader().show('acme-corp', 'run-1', false);
    expect(theirs).toMatchObject({ tenantId: 'acme-corp', startedAt: '2026-11-25T13:00:00.000Z' });
  });

  it('refuses ids that are not ids before sending anything, and surfaces BigQuery errors as one line', async () => {
    const before = standin.requests.length;
    await expect(reader().show('acme', "r-1' OR '1'='1", false)).rejects.toMatchObject({ code: 'RUN_ID_INVALID' });
    await expect(reader().list('acme', { agentId: 'Robert"); DROP TABLE traces;--' })).rejects.toMatchObject({ code: 'RUN_FILTER_INVALID' });
    await expect(reader().list('ACME', {})).rejects.toMatchObject({ code: 'TENANT_ID_INVALID' });
    expect(standin.requests.length).toBe(before);
    await expect(reader({ accessToken: async () => 'wrong' }).list('acme', {})).rejects.toMatchObject({ code: 'LAKE_REQUEST_FAILED', hint: expect.stringContaining('Data Viewer') });
    tenants.gone = { projectId: PROJECT, datasetId: 'claw_gone', kmsKeyName: keyOf('gone') };
    await expect(reader().list('gone', {})).rejects.toMatchObject({ code: 'LAKE_REQUEST_FAILED', message: expect.stringContaining('HTTP 404') });
  });
});
