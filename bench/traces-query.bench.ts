/**
 * `claw traces query` over 1,000,000 local events: a count by agent and day, timed end to
 * end through runTraceQuery (the CLI's function: open the tenant-confined DuckDB session,
 * bind the view over the tenant's Parquet files, run, close).
 *
 * The lake is generated with DuckDB in the writer's exact layout and schema
 * (LAKE_COLUMNS; one file per flushed segment and day): 10 days x 50 files x 2,000
 * events, 12 agents, content a 200-byte sealed-size blob. Baseline, same run: the same
 * rows compacted into one file per day.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LAKE_COLUMNS } from '../runtime/traces/model.js';
import { tenantLakeDir, sqlString } from '../runtime/traces/local-lake.js';
import { runTraceQuery } from '../runtime/traces/query.js';
import { tempStateDir } from '../runtime/traces/testing/support.js';
import { sample, percentile, report } from './lib.js';

const DAYS = 10;
const FILES_PER_DAY = 50;
const PER_FILE = 2_000;
const TOTAL = DAYS * FILES_PER_DAY * PER_FILE;
const SQL = 'SELECT agent_id, day, count(*) AS events FROM traces GROUP BY agent_id, day ORDER BY day, agent_id';

/** One generated file: rows i..i+n of the synthetic stream, every lake column filled. */
function generator(offset: number, n: number, day: string): string {
  const kinds = "['run.start','ask','model.call','model.call','tool.call','approval','tool.result','tool.call','tool.result','model.call','reply','run.end','tool.call']";
  const values: Record<string, string> = {
    tenant_id: "'acme'",
    day: `DATE '${day}'`,
    time: `TIMESTAMP '${day} 00:00:00' + to_milliseconds(i * 37 % 86400000)`,
    agent_id: "'agent-' || (i % 12)",
    run_id: "'run-' || (i // 13)",
    seq: 'CAST(i % 13 AS INTEGER)',
    kind: `${kinds}[(i % 13) + 1]`,
    operation: "CASE WHEN i % 13 IN (2, 3, 9) THEN 'chat' WHEN i % 13 IN (4, 6, 7, 8, 12) THEN 'execute_tool' END",
    provider: "CASE WHEN i % 13 IN (2, 3, 9) THEN 'anthropic' END",
    model: "CASE WHEN i % 13 IN (2, 3, 9) THEN 'claude-sonnet-4-5' END",
    input_tokens: 'CASE WHEN i % 13 IN (2, 3, 9) THEN i % 900 END',
    output_tokens: 'CASE WHEN i % 13 IN (2, 3, 9) THEN i % 90 END',
    tool_name: "CASE WHEN i % 13 IN (4, 6, 7, 8, 12) THEN 'weather.lookup' END",
    tool_call_id: "CASE WHEN i % 13 IN (4, 6, 7, 8, 12) THEN 'call_' || i END",
    decision: "CASE WHEN i % 13 IN (4, 7) THEN 'allow' WHEN i % 13 = 12 THEN 'deny' END",
    policies: "CASE WHEN i % 13 IN (4, 7, 12) THEN 'weather-lookup' END",
    approval: "CASE WHEN i % 13 = 5 THEN 'approved' END",
    attempt: 'CAST(1 AS INTEGER)',
    duration_ms: 'CAST(i % 1000 AS DOUBLE)',
    status: "'ok'",
    error_type: 'NULL',
    sandbox: "CASE WHEN i % 13 IN (6, 8) THEN 'isolate' END",
    budget_outcome: "CASE WHEN i % 13 = 11 THEN 'within' END",
    attributes: "'{\"gen_ai.agent.id\":\"agent-' || (i % 12) || '\"}'",
    content_key: "'wrapped-key-placeholder'",
    content: "encode(repeat(chr(CAST(65 + (i % 26) AS INTEGER)), 200))",
    content_bytes: 'CAST(180 AS INTEGER)',
  };
  const select = LAKE_COLUMNS.map((c) => `CAST(${values[c.name]} AS ${c.duck}) AS ${c.name}`).join(', ');
  return `SELECT ${select} FROM range(${offset}, ${offset + n}) t(i)`;
}

async function buildLake(compacted: boolean): Promise<{ stateDir: string; cleanup: () => void }> {
  const lake = tempStateDir();
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  for (let d = 0; d < DAYS; d++) {
    const day = `2026-11-${String(d + 1).padStart(2, '0')}`;
    const dir = join(tenantLakeDir(lake.stateDir, 'acme'), `day=${day}`);
    mkdirSync(dir, { recursive: true });
    const base = d * FILES_PER_DAY * PER_FILE;
    if (compacted) {
      await connection.run(`COPY (${generator(base, FILES_PER_DAY * PER_FILE, day)}) TO ${sqlString(join(dir, 'compacted.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
    } else {
      for (let f = 0; f < FILES_PER_DAY; f++) {
        const file = join(dir, `${String(base + f).padStart(15, '0')}-00000000.parquet`);
        await connection.run(`COPY (${generator(base + f * PER_FILE, PER_FILE, day)}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
      }
    }
  }
  connection.closeSync();
  return lake;
}

const segmented = await buildLake(false);
const compacted = await buildLake(true);
try {
  const check = await runTraceQuery({ stateDir: segmented.stateDir, tenantId: 'acme', sql: 'SELECT count(*) AS n FROM traces' });
  if (check.rows[0]!.n !== TOTAL) throw new Error(`expected ${TOTAL} events, found ${check.rows[0]!.n}`);
  const groups = await runTraceQuery({ stateDir: segmented.stateDir, tenantId: 'acme', sql: SQL });
  if (groups.rows.length !== DAYS * 12) throw new Error(`expected ${DAYS * 12} groups, got ${groups.rows.length}`);

  const query = (stateDir: string) => () => runTraceQuery({ stateDir, tenantId: 'acme', sql: SQL });
  const times = await sample(query(segmented.stateDir), 10, 2);
  const base = await sample(query(compacted.stateDir), 10, 2);
  report('traces-query', [
    {
      name: 'count by agent and day, 1M events, 500 segment files',
      value: percentile(times, 50),
      unit: 'ms',
      baseline: { name: 'same rows compacted to one file per day', value: percentile(base, 50) },
      target: '< 2000 ms',
      note: `p50 of 10; p95 ${percentile(times, 95).toFixed(1)} ms; ${TOTAL} events, ${DAYS * FILES_PER_DAY} files; includes session open and view binding`,
    },
  ]);
} finally {
  segmented.cleanup();
  compacted.cleanup();
}
