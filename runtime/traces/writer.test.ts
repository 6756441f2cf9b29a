import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openTraceWriter, walRoot } from './writer.js';
import { TenantQuerySession, tenantLakeDir } from './local-lake.js';
import { ContentOpener, PlaintextCodecForBenchmarks } from './seal.js';
import { CANARY, findCanaries, localKeyring, mustShowRun, tempStateDir } from './testing/support.js';
import { isClawError } from '../../core/errors.js';
import { LocalLake } from './local-lake.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('trace writer → local lake', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it('lands every event as Parquet partitioned by tenant and day, content sealed, in order', async () => {
    const { stateDir, cleanup } = tempStateDir();
    cleanups.push(cleanup);
    const keyring = await localKeyring(stateDir, ['acme', 'globex']);
    const writer = await openTraceWriter({ stateDir, lake: new LocalLake(stateDir), keyring, flushIntervalMs: 60_000 });
    const acme = mustShowRun('acme', 'run-1');
    const globex = mustShowRun('globex', 'run-9', new Date('2026-11-26T00:00:00Z'));
    await writer.emit([...acme, ...globex]);
    await writer.close();

    expect(readdirSync(tenantLakeDir(stateDir, 'acme'))).toEqual(['day=2026-11-25']);
    expect(readdirSync(tenantLakeDir(stateDir, 'globex'))).toEqual(['day=2026-11-26']);
    // The WAL is empty once everything has landed.
    expect(filesUnder(walRoot(stateDir)).filter((f) => f.endsWith('.wal'))).toEqual([]);

    const session = await TenantQuerySession.open(stateDir, 'acme');
    const { rows } = await session.query('SELECT * FROM traces ORDER BY seq, attempt');
    session.close();
    expect(rows.map((r) => [r.seq, r.kind])).toEqual(acme.map((e) => [e.seq, e.kind]));
    const denied = rows.find((r) => r.tool_name === 'shell.exec')!;
    expect(denied).toMatchObject({ decision: 'deny', policies: 'forbid-shell', tenant_id: 'acme', run_id: 'run-1' });
    const retried = rows.filter((r) => r.kind === 'model.call' && r.seq === 2);
    expect(retried.map((r) => [r.attempt, r.status, r.error_type])).toEqual([[1, 'error', 'rate_limited'], [2, 'ok', null]]);
    expect(retried[1]).toMatchObject({ input_tokens: 412, output_tokens: 57, model: 'claude-sonnet-4-5', operation: 'chat' });

    // No canary in any file the writer produced, raw or decoded.
    const parquet = filesUnder(join(stateDir, 'lake'));
    expect(parquet.length).toBe(2);
    expect(await findCanaries(parquet)).toEqual([]);

    // With the tenant key the content opens...
    const opener = new ContentOpener(await keyring.forTenant('acme'));
    const ask = rows.find((r) => r.kind === 'ask')!;
    expect(await opener.open(ask as never)).toEqual({ text: CANARY.ask });
    // ...with another tenant's key it does not...
    const wrong = new ContentOpener(await keyring.forTenant('globex'));
    await expect(wrong.open(ask as never)).rejects.toThrow(/TRACE_TENANT_MISMATCH|tenant/);
    // ...and after the key is destroyed, nothing opens.
    await keyring.destroy('acme');
    await expect((async () => new ContentOpener(await keyring.forTenant('acme')).open(ask as never))()).rejects.toSatisfy(
      (err: unknown) => isClawError(err) && err.code === 'TENANT_KEY_DESTROYED',
    );
    expect(statSync(tenantLakeDir(stateDir, 'acme')).isDirectory()).toBe(true);
  });

  it('the canary scan would see plaintext content (positive control for the test above)', async () => {
    const { stateDir, cleanup } = tempStateDir();
    cleanups.push(cleanup);
    const writer = await openTraceWriter({
      stateDir,
      lake: new LocalLake(stateDir),
      keyring: await localKeyring(stateDir, []),
      flushIntervalMs: 60_000,
      codecFor: async () => new PlaintextCodecForBenchmarks(),
    });
    await writer.emit(mustShowRun('acme', 'run-1'));
    await writer.close();
    const found = await findCanaries(filesUnder(join(stateDir, 'lake')));
    expect([...new Set(found.map((f) => f.canary))].sort()).toEqual(Object.values(CANARY).sort());
  });
});
