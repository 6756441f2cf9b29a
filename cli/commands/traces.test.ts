import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { isClawError } from '../../core/errors.js';
import { tracesCommand } from './traces.js';
import { openTraceWriter } from '../../runtime/traces/writer.js';
import { tenantLakeDir } from '../../runtime/traces/local-lake.js';
import { CANARY, localKeyring, mustShowRun, tempStateDir } from '../../runtime/traces/testing/support.js';
import { LocalLake } from '../../runtime/traces/local-lake.js';

const claw = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../bin/claw.js');

/** The real `claw` binary (slow to start: it loads every command). */
function spawnClaw(stateDir: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [claw, '--state-dir', stateDir, ...args], { encoding: 'utf8', env: { ...process.env, CLAW_DEBUG: '' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The command in process, with the global options it reads; errors become the one line
 * cli/handle-error.ts prints (`error <ClawError.toLine()>`).
 */
async function run(stateDir: string, ...args: string[]) {
  const program = new Command('claw').option('--state-dir <dir>').option('--json').exitOverride().addCommand(tracesCommand());
  let stdout = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'claw', '--state-dir', stateDir, ...args]);
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    if (!isClawError(err)) throw err;
    return { code: err.exitCode, stdout, stderr: `error ${err.toLine()}\n` };
  } finally {
    process.stdout.write = write;
  }
}

describe('claw traces query', () => {
  const { stateDir, cleanup } = tempStateDir();
  beforeAll(async () => {
    const keyring = await localKeyring(stateDir, ['acme', 'acme-corp']);
    const writer = await openTraceWriter({ stateDir, lake: new LocalLake(stateDir), keyring, flushIntervalMs: 60_000 });
    await writer.emit([...mustShowRun('acme', 'run-1'), ...mustShowRun('acme-corp', 'run-7')]);
    await writer.close();
  });
  afterAll(() => cleanup());

  it('answers SQL over the metadata columns of one tenant', async () => {
    const out = await run(stateDir, 'traces', 'query', '--tenant', 'acme', 'SELECT kind, count(*) AS n FROM traces GROUP BY kind ORDER BY kind');
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^kind\s+n\n-+\s+-+\n/);
    expect(out.stdout).toMatch(/model\.call\s+3\n/);
    expect(out.stdout).toContain('(8 rows)');
  });

  it('bad SQL gives the engine error in one line, exit 1', async () => {
    const out = await run(stateDir, 'traces', 'query', '--tenant', 'acme', 'SELEC kind FROM traces');
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^error TRACE_QUERY_INVALID: Parser Error: syntax error at or near "SELEC" — /)]);
    const unknown = await run(stateDir, 'traces', 'query', '--tenant', 'acme', 'SELECT nope FROM traces');
    expect(unknown.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^error TRACE_QUERY_INVALID: Binder Error: Referenced column "nope" not found/)]);
  });

  it("cannot read another tenant's partition, by path or by any other means", async () => {
    const other = `${tenantLakeDir(stateDir, 'acme-corp')}/day=*/*.parquet`;
    for (const sql of [
      `SELECT count(*) FROM read_parquet('${other}')`,
      `SELECT count(*) FROM read_parquet('${tenantLakeDir(stateDir, 'acme')}/../tenant=acme-corp/day=*/*.parquet')`,
      `SELECT * FROM glob('${stateDir}/lake/*/*/*')`,
      `SELECT * FROM read_text('${stateDir}/keys/keyring.json')`,
    ]) {
      const out = await run(stateDir, 'traces', 'query', '--tenant', 'acme', sql);
      expect(out.code, sql).toBe(1);
      expect(out.stderr, sql).toMatch(/^error TRACE_QUERY_FORBIDDEN: Permission Error: Cannot access file .* file system operations are disabled by configuration — /);
      expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    for (const sql of ["SET enable_external_access = true", `COPY (SELECT 1) TO '${tenantLakeDir(stateDir, 'acme')}/x.csv'`, 'SELECT 1; SELECT 2']) {
      const out = await run(stateDir, 'traces', 'query', '--tenant', 'acme', sql);
      expect(out.stderr, sql).toMatch(/^error TRACE_QUERY_NOT_SELECT: /);
    }
    // The tenant's own view holds only its rows.
    const own = await run(stateDir, '--json', 'traces', 'query', '--tenant', 'acme', 'SELECT DISTINCT tenant_id FROM traces');
    expect(JSON.parse(own.stdout).rows).toEqual([{ tenant_id: 'acme' }]);
  });

  it('--decrypt shows content with the tenant key; after the key is destroyed it cannot', async () => {
    const sql = "SELECT run_id, seq, kind, content_key, content FROM traces WHERE kind IN ('ask', 'reply') ORDER BY seq";
    const sealed = await run(stateDir, '--json', 'traces', 'query', '--tenant', 'acme', sql);
    expect(sealed.stdout).not.toContain('CANARY');
    const opened = await run(stateDir, '--json', 'traces', 'query', '--tenant', 'acme', '--decrypt', sql);
    expect(opened.code).toBe(0);
    expect(JSON.parse(opened.stdout).rows.map((r: { content: unknown }) => r.content)).toEqual([{ text: CANARY.ask }, { text: CANARY.reply }]);

    // `claw tenant shred` destroys the root key (DATA's keyring; the CLI command is theirs).
    const keyring = await localKeyring(stateDir, []);
    await keyring.destroy('acme');
    const after = await run(stateDir, 'traces', 'query', '--tenant', 'acme', '--decrypt', sql);
    expect(after.code).toBe(1);
    expect(after.stdout).not.toContain('CANARY');
    expect(after.stderr).toMatch(/^error TENANT_KEY_DESTROYED: the key of tenant 'acme' was destroyed; trace content cannot be decrypted — /);
    // Metadata stays queryable; the other tenant is untouched.
    expect((await run(stateDir, 'traces', 'query', '--tenant', 'acme', 'SELECT count(*) AS n FROM traces')).stdout).toMatch(/\n13\s*\n/);
    const theirs = await run(stateDir, '--json', 'traces', 'query', '--tenant', 'acme-corp', '--decrypt', sql);
    expect(JSON.parse(theirs.stdout).rows[0].content).toEqual({ text: CANARY.ask });
  });

  it('a bad tenant id is one clear error', async () => {
    const out = await run(stateDir, 'traces', 'query', '--tenant', '../acme', 'SELECT 1');
    expect(out.stderr).toMatch(/^error OPTIONS_INVALID: tenant ids are/);
  });

  it('through the real claw binary: bad SQL is one line on stderr and exit 1; decrypt-less output has no content', () => {
    const bad = spawnClaw(stateDir, 'traces', 'query', '--tenant', 'acme-corp', 'SELECT * FROM traces WHERE');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^error TRACE_QUERY_INVALID: Parser Error: syntax error at end of input — /)]);
    const ok = spawnClaw(stateDir, 'traces', 'query', '--tenant', 'acme-corp', "SELECT seq, kind, content FROM traces WHERE kind = 'ask'");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/1\s+ask\s+\(sealed, \d+ bytes\)/);
  }, 120_000);
});
