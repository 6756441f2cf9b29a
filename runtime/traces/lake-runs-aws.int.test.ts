/**
 * The aws RunReader (LakeRunReader over AwsLake.queryTraces) against moto. Real: the
 * tenant's workgroup check before any query (GetWorkGroup, Glue GetTable), the
 * StartQueryExecution sent (its text, ExecutionParameters, workgroup and database, which
 * moto records), the polling, the GetQueryResults parsing (header row, NULL as a Datum
 * without VarCharValue), the timeline code and the decryption with a real local keyring.
 * Canned: moto runs no SQL, so each answer is seeded through moto's
 * /moto-api/static/athena/query-results — computed by running the very text sent on DuckDB
 * over the same runs in a local lake, and written as Athena writes it (every value as
 * text, timestamps `YYYY-MM-DD HH:MM:SS.ffffff`). Trino's own reading of the text is not
 * tested here (run-sql.test.ts proves the text on DuckDB).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AthenaClient, GetQueryExecutionCommand, ListQueryExecutionsCommand, type QueryExecution } from '@aws-sdk/client-athena';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GlueClient } from '@aws-sdk/client-glue';
import { AwsLake, type AwsTenantLake } from './aws-lake.js';
import { LakeRunReader } from './lake-runs.js';
import { TenantQuerySession } from './local-lake.js';
import { positionalSql, runRowsQuery, summaryQuery, type SqlQuery } from './run-sql.js';
import { listRuns, showRun, type RunFilter } from './runs.js';
import { createWorkgroup, declareLakeTables } from './testing/aws-lake-fixture.js';
import { CANARY, tempStateDir, writeRunsFixture } from './testing/support.js';
import type { TenantKeyring } from '../ports.js';

// A region no other suite uses: moto's queue of canned Athena results is per account and region.
const region = 'eu-west-3';
const ACCOUNT = '123456789012'; // moto's default account

describe('aws run reader (moto: real requests and parsing; canned Athena results, as moto runs no SQL)', () => {
  const endpoint = inject('motoEndpoint');
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const athena = new AthenaClient({ region, endpoint, credentials });
  const glue = new GlueClient({ region, endpoint, credentials });
  const { stateDir, cleanup } = tempStateDir();
  const tenants: Record<string, AwsTenantLake> = {};
  let keyring: TenantKeyring;
  let reader: LakeRunReader;

  beforeAll(async () => {
    const s3 = new S3Client({ region, endpoint, forcePathStyle: true, credentials });
    const kms = new KMSClient({ region, endpoint, credentials });
    const bucket = `claw-runs-${Date.now()}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: region } }));
    for (const id of ['acme', 'globex']) {
      const key = await kms.send(new CreateKeyCommand({ Description: `claw tenant ${id}` }));
      tenants[id] = { bucket, prefix: `tenants/${id}/`, kmsKeyArn: key.KeyMetadata!.Arn!, database: `claw_${id}_runs`, workgroup: `claw-${id}-runs-${Date.now()}` };
    }
    await createWorkgroup(athena, tenants.acme!, true, tenants.acme!.kmsKeyArn);
    await createWorkgroup(athena, tenants.globex!, true, tenants.acme!.kmsKeyArn); // misconfigured: another tenant's key
    await declareLakeTables(glue, tenants.acme!);
    await declareLakeTables(glue, tenants.globex!);
    // The same runs in a local lake: the local reader's answers are the expectation, and DuckDB computes the canned results.
    keyring = await writeRunsFixture(stateDir);
    reader = new LakeRunReader(new AwsLake({ region, endpoint, athena, glue, s3, tenant: (id) => tenants[id]!, queryTimeoutMs: 10_000 }), keyring);
  });
  afterAll(() => cleanup());

  /** Seeds moto with Athena's answer to `q`: the text sent, run on DuckDB over acme's local lake, written as Athena writes results. */
  async function seed(q: SqlQuery): Promise<void> {
    const session = await TenantQuerySession.open(stateDir, 'acme');
    const { text, values } = positionalSql(q);
    const { columns, rows } = await session.query(text, values).finally(() => session.close());
    const athenaText = (v: unknown): string | null => {
      if (v === null) return null;
      const ts = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(String(v));
      return ts ? `${ts[1]}.${(ts[2] ?? '').padEnd(6, '0')}` : String(v);
    };
    const datum = (v: string | null) => (v === null ? {} : { VarCharValue: v });
    const result = {
      rows: [{ Data: columns.map((c) => ({ VarCharValue: c })) }, ...rows.map((r) => ({ Data: columns.map((c) => datum(athenaText(r[c]))) }))],
      column_info: columns.map((c) => ({ CatalogName: 'hive', SchemaName: '', TableName: '', Name: c, Label: c, Type: 'varchar', Precision: 0, Scale: 0, Nullable: 'UNKNOWN', CaseSensitive: true })),
    };
    const response = await fetch(`${endpoint}/moto-api/static/athena/query-results`, { method: 'POST', body: JSON.stringify({ account_id: ACCOUNT, region, results: [result] }) });
    expect(response.status).toBe(201);
  }

  /** The statements started in a workgroup, oldest first, as moto recorded them. */
  async function statements(workgroup: string): Promise<QueryExecution[]> {
    const ids = (await athena.send(new ListQueryExecutionsCommand({ WorkGroup: workgroup }))).QueryExecutionIds ?? [];
    return Promise.all(ids.map(async (id) => (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!));
  }

  it("lists runs with the filter's values as execution parameters, in the tenant's workgroup and database, parsed as the local reader answers", async () => {
    const filter: RunFilter = { agentId: 'helper', status: 'completed', since: new Date('2026-11-25T00:00:00Z') };
    await seed(summaryQuery(filter));
    const runs = await reader.list('acme', filter);
    expect(runs).toEqual(await listRuns({ stateDir, tenantId: 'acme', ...filter }));
    expect(runs).toEqual([
      { runId: 'run-1', agentId: 'helper', status: 'completed', startedAt: '2026-11-25T12:00:00.000Z', lastEventAt: '2026-11-25T12:00:01.200Z', events: 13, inputTokens: 1067, outputTokens: 97, toolCalls: 3, denied: 1 },
    ]);
    const [sent] = (await statements(tenants.acme!.workgroup)).slice(-1);
    expect(sent!.WorkGroup).toBe(tenants.acme!.workgroup);
    expect(sent!.QueryExecutionContext?.Database).toBe('claw_acme_runs');
    expect(sent!.Query).toBe(positionalSql(summaryQuery(filter)).text);
    expect(sent!.Query).not.toMatch(/helper|completed|2026/);
    expect(sent!.ExecutionParameters).toEqual(["'helper'", "'completed'", "'2026-11-25 00:00:00.000'"]);

    await seed(summaryQuery({}));
    const all = await reader.list('acme', {});
    expect(all.map((r) => [r.runId, r.agentId, r.status])).toEqual([['run-2', 'triage', 'running'], ['run-1', 'helper', 'completed']]);
    expect(all).toEqual(await listRuns({ stateDir, tenantId: 'acme' }));
    expect((await statements(tenants.acme!.workgroup)).at(-1)!.ExecutionParameters).toBeUndefined();
  });

  it('shows a run sealed without the key, and opened with the tenant keyring only when asked', async () => {
    await seed(runRowsQuery('run-1'));
    const sealed = await reader.show('acme', 'run-1', false);
    expect(sealed).toEqual(await showRun({ stateDir, tenantId: 'acme', runId: 'run-1' }));
    expect(sealed).toMatchObject({ status: 'completed', decrypted: false, totals: { modelCalls: 3, retries: 1, toolCalls: 3, denied: 1, approvals: 1 } });
    expect(sealed.steps.every((s) => s.content === undefined)).toBe(true);
    expect(sealed.steps.find((s) => s.kind === 'run.start')!.provider).toBeNull(); // a NULL cell, not ''
    const [sent] = (await statements(tenants.acme!.workgroup)).slice(-1);
    expect(sent!.ExecutionParameters).toEqual(["'run-1'"]);
    expect(sent!.Query).toMatch(/^SELECT tenant_id, day, time, .*to_base64\(content\) AS content, content_bytes FROM traces WHERE run_id = \?$/);

    await seed(runRowsQuery('run-1'));
    const opened = await reader.show('acme', 'run-1', true);
    expect(opened).toEqual(await showRun({ stateDir, tenantId: 'acme', runId: 'run-1', keyring, decrypt: true }));
    expect(opened.steps.find((s) => s.kind === 'ask')!.content).toEqual({ text: CANARY.ask });
    for (const s of await statements(tenants.acme!.workgroup)) expect(s.Query).not.toMatch(/CANARY/);
  });

  it('a run with no rows is not found', async () => {
    await seed(runRowsQuery('run-9'));
    await expect(reader.show('acme', 'run-9', false)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });

  it('refuses to query through a workgroup that keeps results under another key, and checks ids before any request', async () => {
    await expect(reader.list('globex', {})).rejects.toMatchObject({ code: 'LAKE_WORKGROUP_UNSAFE' });
    expect(await statements(tenants.globex!.workgroup)).toEqual([]);
    const before = (await statements(tenants.acme!.workgroup)).length;
    await expect(reader.show('acme', "run-1' OR '1'='1", false)).rejects.toMatchObject({ code: 'RUN_ID_INVALID' });
    await expect(reader.list('acme', { agentId: "helper' --" })).rejects.toMatchObject({ code: 'RUN_FILTER_INVALID' });
    expect(await statements(tenants.acme!.workgroup)).toHaveLength(before);
  });
});
