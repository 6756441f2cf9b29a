import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { showRun } from './runs.js';
import { mustShowRun, localKeyring, tempStateDir } from './testing/support.js';
import { openTraceWriter, walRoot } from './writer.js';
import { LocalLake } from './local-lake.js';

describe('runs show of a run whose events have not landed in the lake yet', () => {
  const { stateDir, cleanup } = tempStateDir();
  afterAll(() => cleanup());

  it('reads the tenant WAL too, and shows a segment found in both the WAL and the lake once', async () => {
    const keyring = await localKeyring(stateDir, ['acme']);
    const writer = await openTraceWriter({ stateDir, lake: new LocalLake(stateDir), keyring, flushIntervalMs: 60_000 });
    const run = mustShowRun('acme', 'run-1');
    await writer.emit(run);
    // Acknowledged, in the WAL only: the lake has no file yet.
    const fromWal = await showRun({ stateDir, tenantId: 'acme', runId: 'run-1' });
    expect(fromWal.steps).toHaveLength(run.length);
    expect(fromWal.status).toBe('completed');
    await expect(showRun({ stateDir, tenantId: 'acme', runId: 'run-2' })).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });

    // A reader that lists the WAL just before the segment lands sees the rows twice.
    const dir = join(walRoot(stateDir), 'acme');
    const saved = join(stateDir, 'saved-wal');
    mkdirSync(saved);
    await writer.flush(); // rotates the active segment into a closed one and lands it
    await writer.emit(run.slice(0, 2)); // an activity retried after it emitted: the same events again
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.wal'))) copyFileSync(join(dir, file), join(saved, file));
    await writer.close();
    for (const file of readdirSync(saved)) copyFileSync(join(saved, file), join(dir, file));
    const both = await showRun({ stateDir, tenantId: 'acme', runId: 'run-1' });
    expect(both.steps.map((s) => `${s.seq}:${s.kind}:${s.attempt}`)).toEqual(fromWal.steps.map((s) => `${s.seq}:${s.kind}:${s.attempt}`));
    expect(both.totals).toEqual(fromWal.totals);
  });
});
