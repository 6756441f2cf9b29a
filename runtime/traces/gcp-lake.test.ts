import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJobId, type GcpTenantLake } from './gcp-lake.js';
import { LAKE_COLUMNS, type TraceRow } from './model.js';
import { ContentOpener, ContentSealer } from './seal.js';
import { CANARY, localKeyring, mustShowRun, tempStateDir } from './testing/support.js';
import { standinLakes, startBigQueryStandin, type BigQueryStandin } from './testing/bigquery-standin.js';
import type { TenantKeyring } from '../ports.js';

const PROJECT = 'claw-prod';
const keyOf = (tenant: string) => `projects/${PROJECT}/locations/europe-west1/keyRings/claw/cryptoKeys/tenant-${tenant}`;
const TOKEN = 'test-access-token';

describe('GCP lake against a loopback BigQuery stand-in (no BigQuery emulator exists here; the stand-in checks request shapes, schemas, job ids and key names as strings, not IAM, real CMEK encryption, locations or SQL)', () => {
  let standin: BigQueryStandin;
  let keyring: TenantKeyring;
  const { stateDir, cleanup } = tempStateDir();
  const tenants: Record<string, GcpTenantLake> = {};
  const lake = standinLakes(() => standin, tenants, TOKEN);
  const seal = async (tenant: string, runId: string): Promise<TraceRow[]> => new ContentSealer(await keyring.forTenant(tenant)).seal(mustShowRun(tenant, runId));

  beforeAll(async () => {
    standin = await startBigQueryStandin({ token: TOKEN });
    keyring = await localKeyring(stateDir, ['acme', 'umbrella', 'globex', 'initech']);
    // What the stack (components/gcp) provides per tenant: a dataset whose default key is the tenant's.
    for (const id of ['acme', 'umbrella', 'globex', 'initech']) tenants[id] = { projectId: PROJECT, datasetId: `claw_${id}`, kmsKeyName: keyOf(id) };
    standin.addDataset({ projectId: PROJECT, datasetId: 'claw_acme', kmsKeyName: keyOf('acme') });
    standin.addDataset({ projectId: PROJECT, datasetId: 'claw_umbrella', kmsKeyName: `${keyOf('umbrella')}/cryptoKeyVersions/3` });
    standin.addDataset({ projectId: PROJECT, datasetId: 'claw_globex', kmsKeyName: keyOf('acme') }); // misconfigured: another tenant's key
    standin.addDataset({ projectId: PROJECT, datasetId: 'claw_initech' }); // misconfigured: Google-managed encryption
  });
  afterAll(async () => {
    await standin.close();
    cleanup();
  });

  it("creates the day-partitioned table under the tenant's key and lands the rows in the tenant's dataset only", async () => {
    const writer = lake();
    const acmeRows = await seal('acme', 'run-1');
    const umbrellaRows = await seal('umbrella', 'run-9');
    const before = standin.requests.length;
    await writer.writeSegment('acme', '000001764072000-0a0b0c0d', acmeRows);
    const acmeRequests = standin.requests.slice(before);
    await writer.writeSegment('umbrella', '000001764072000-0a0b0c0d', umbrellaRows);
    await writer.close();

    const acme = standin.datasets.get(`${PROJECT}:claw_acme`)!.tables.get('traces')!;
    expect(acme.resource).toMatchObject({
      timePartitioning: { type: 'DAY', field: 'day' },
      encryptionConfiguration: { kmsKeyName: keyOf('acme') },
    });
    expect(acme.resource.schema.fields.map((f) => [f.name, f.type])).toEqual(
      LAKE_COLUMNS.map((c) => [c.name, { VARCHAR: 'STRING', DATE: 'DATE', TIMESTAMP: 'TIMESTAMP', INTEGER: 'INT64', BIGINT: 'INT64', DOUBLE: 'FLOAT64', BLOB: 'BYTES' }[c.duck]]),
    );
    expect(acme.rows).toHaveLength(acmeRows.length);
    expect(new Set(acme.rows.map((r) => r.tenant_id))).toEqual(new Set(['acme']));
    const umbrella = standin.datasets.get(`${PROJECT}:claw_umbrella`)!.tables.get('traces')!;
    expect(umbrella.rows).toHaveLength(umbrellaRows.length);
    expect(new Set(umbrella.rows.map((r) => r.tenant_id))).toEqual(new Set(['umbrella']));
    for (const id of ['globex', 'initech']) expect(standin.datasets.get(`${PROJECT}:claw_${id}`)!.tables.size).toBe(0);

    // Every call made for acme named acme's dataset (or a job whose destination is it), with the bearer token.
    for (const r of acmeRequests) {
      expect(r.authorization).toBe(`Bearer ${TOKEN}`);
      if (r.path.includes('/datasets/')) expect(r.path).toContain('/datasets/claw_acme');
      if (r.path.startsWith('/upload/')) {
        expect(r.body).toContain('"destinationTable":{"projectId":"claw-prod","datasetId":"claw_acme","tableId":"traces"}');
        expect(r.body).toContain(`"destinationEncryptionConfiguration":{"kmsKeyName":"${keyOf('acme')}"}`);
      }
    }
    const jobs = [...standin.jobs.values()].filter((j) => (j.resource.jobReference as { jobId: string }).jobId.startsWith('claw-traces-acme-'));
    expect(jobs.map((j) => (j.resource.jobReference as { jobId: string }).jobId)).toEqual([loadJobId('acme', '000001764072000-0a0b0c0d', 0)]);
    expect(jobs[0]!.polls).toBeGreaterThan(0); // the lake waited for DONE
  });

  it('keeps content sealed: no canary plaintext in anything the stand-in received, and the landed boxes open only with the tenant key', async () => {
    const received = standin.requests.map((r) => r.body).join('\n');
    expect(received).toContain('claw_acme'); // the bodies were recorded
    for (const canary of Object.values(CANARY)) expect(received).not.toContain(canary);
    const rows = standin.datasets.get(`${PROJECT}:claw_acme`)!.tables.get('traces')!.rows;
    const withContent = rows.filter((r) => r.content !== null);
    expect(withContent.length).toBeGreaterThan(0);
    for (const r of withContent) {
      const bytes = Buffer.from(r.content as string, 'base64');
      for (const canary of Object.values(CANARY)) expect(bytes.toString('latin1')).not.toContain(canary);
    }
    // The ciphertext that landed is the real sealed content: it opens with acme's key.
    const opener = new ContentOpener(await keyring.forTenant('acme'));
    const ask = withContent.find((r) => r.kind === 'ask')!;
    expect(await opener.open({ ...(ask as unknown as TraceRow), content: Buffer.from(ask.content as string, 'base64') })).toEqual({ text: CANARY.ask });
  });

  it("refuses a dataset encrypted with another tenant's key, or with no CMEK, and writes nothing", async () => {
    const writer = lake();
    const globex = await seal('globex', 'run-1');
    const before = standin.requests.length;
    await expect(writer.writeSegment('globex', '000001764072000-00000001', globex)).rejects.toMatchObject({ code: 'LAKE_DATASET_UNSAFE' });
    await expect(writer.writeSegment('globex', '000001764072000-00000001', globex)).rejects.toThrow(
      /BigQuery dataset 'claw-prod:claw_globex' of tenant 'globex' is unsafe: its default KMS key is not the tenant's key/,
    );
    await expect(writer.writeSegment('initech', '000001764072000-00000001', await seal('initech', 'run-1'))).rejects.toThrow(/it has no default KMS key/);
    // Only dataset reads happened: no table was created and no job was submitted.
    expect(standin.requests.slice(before).every((r) => r.method === 'GET' && /\/datasets\/claw_(globex|initech)$/.test(r.path))).toBe(true);
    expect(standin.datasets.get(`${PROJECT}:claw_globex`)!.tables.size).toBe(0);
  });

  it('does not duplicate rows when a segment is replayed, also after a failed load job', async () => {
    const writer = lake();
    const table = () => standin.datasets.get(`${PROJECT}:claw_acme`)!.tables.get('traces')!;
    const rows = await seal('acme', 'run-2');
    const start = table().rows.length;
    await writer.writeSegment('acme', '000001764072001-0000000a', rows);
    await writer.writeSegment('acme', '000001764072001-0000000a', rows); // replay: same job id, 409, already DONE
    await lake().writeSegment('acme', '000001764072001-0000000a', rows); // a new process replays it too
    expect(table().rows.length - start).toBe(rows.length);

    // A failed job wrote nothing; the next id loads the segment; replays find both jobs and stop at the good one.
    const more = await seal('acme', 'run-3');
    standin.failNextLoad('Backend error. Job aborted.');
    await writer.writeSegment('acme', '000001764072002-0000000b', more);
    await writer.writeSegment('acme', '000001764072002-0000000b', more);
    expect(table().rows.length - start).toBe(rows.length + more.length);
    expect(table().rows.filter((r) => r.run_id === 'run-3')).toHaveLength(more.length);
    expect(standin.jobs.get(`${PROJECT}:${loadJobId('acme', '000001764072002-0000000b', 0)}`)!.resource.status.errorResult?.message).toBe('Backend error. Job aborted.');
    expect(standin.jobs.has(`${PROJECT}:${loadJobId('acme', '000001764072002-0000000b', 1)}`)).toBe(true);
    expect(standin.jobs.has(`${PROJECT}:${loadJobId('acme', '000001764072002-0000000b', 2)}`)).toBe(false);
  });

  it("refuses an existing table whose columns or partitioning do not fit the lake's rows (e.g. a table created by an older stack)", async () => {
    tenants.hooli = { projectId: PROJECT, datasetId: 'claw_hooli', kmsKeyName: keyOf('hooli') };
    const hooli = standin.addDataset({ projectId: PROJECT, datasetId: 'claw_hooli', kmsKeyName: keyOf('hooli') });
    // The table older stacks declared (components/gcp/lakehouse.ts before it used runtime/traces/schema.ts): no day, content_key or typed columns; partitioned by time.
    hooli.tables.set('traces', {
      resource: {
        tableReference: { projectId: PROJECT, datasetId: 'claw_hooli', tableId: 'traces' },
        schema: { fields: [
          { name: 'tenant_id', type: 'STRING', mode: 'REQUIRED' }, { name: 'agent_id', type: 'STRING', mode: 'REQUIRED' }, { name: 'run_id', type: 'STRING', mode: 'REQUIRED' },
          { name: 'seq', type: 'INT64', mode: 'REQUIRED' }, { name: 'time', type: 'TIMESTAMP', mode: 'REQUIRED' }, { name: 'kind', type: 'STRING', mode: 'REQUIRED' },
          { name: 'attributes', type: 'JSON', mode: 'NULLABLE' }, { name: 'content', type: 'BYTES', mode: 'NULLABLE' },
        ] },
        timePartitioning: { type: 'DAY', field: 'time' },
        encryptionConfiguration: { kmsKeyName: keyOf('hooli') },
      },
      rows: [],
    });
    const keyringHooli = await localKeyring(stateDir, ['hooli']);
    const rows = await new ContentSealer(await keyringHooli.forTenant('hooli')).seal(mustShowRun('hooli', 'run-1'));
    const failure = lake().writeSegment('hooli', '000001764072000-00000001', rows);
    await expect(failure).rejects.toMatchObject({ code: 'LAKE_TABLE_SCHEMA' });
    await expect(lake().writeSegment('hooli', '000001764072000-00000001', rows)).rejects.toThrow(/no column day; .*column attributes is JSON, not STRING; no column content_key; .*partitioned by time, not day/);
    expect(hooli.tables.get('traces')!.rows).toHaveLength(0);
  });

  it('gives up with LAKE_LOAD_FAILED after its attempts, and surfaces auth failures with a hint', async () => {
    const rows = await seal('acme', 'run-4');
    standin.failNextLoad('Backend error.');
    await expect(lake({ maxAttempts: 1 }).writeSegment('acme', '000001764072003-0000000c', rows)).rejects.toMatchObject({ code: 'LAKE_LOAD_FAILED' });
    await expect(lake({ accessToken: async () => 'wrong' }).writeSegment('acme', '000001764072003-0000000c', rows)).rejects.toMatchObject({
      code: 'LAKE_REQUEST_FAILED',
      hint: expect.stringContaining('service account'),
    });
    await expect(lake().writeSegment('acme', '000001764072003-0000000c', await seal('umbrella', 'run-5'))).rejects.toThrow(/row of tenant umbrella in a segment of acme/);
  });
});
