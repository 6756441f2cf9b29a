/**
 * A trace query (DuckDB over the tenant's Parquet files) tries to read a file from
 * DuckDB's default temp directory, `.tmp` under the working directory, which DuckDB keeps
 * readable even with external access disabled.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TenantQuerySession } from '../../runtime/traces/local-lake.js';

const work = mkdtempSync(join(tmpdir(), 'claw-tq-attack-'));
const cwd = process.cwd();
afterAll(() => {
  process.chdir(cwd);
  rmSync(work, { recursive: true, force: true });
});

describe('trace query confinement', () => {
  it("cannot read files in the working directory's .tmp (DuckDB's default temp directory)", async () => {
    mkdirSync(join(work, '.tmp'));
    writeFileSync(join(work, '.tmp', 'leak.txt'), 'SECRET-IN-TMP');
    process.chdir(work);
    const session = await TenantQuerySession.open(join(work, 'state'), 'acme');
    await expect(session.query("SELECT content FROM read_text('.tmp/leak.txt')")).rejects.toThrow(/Permission Error/);
    await expect(session.query(`SELECT content FROM read_text('${join(work, '.tmp', 'leak.txt')}')`)).rejects.toThrow(/Permission Error/);
    expect((await session.query('SELECT count(*) AS n FROM traces')).rows).toEqual([{ n: 0 }]);
  });
});
