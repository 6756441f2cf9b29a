import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTraceWriter, walRoot } from './writer.js';
import { TenantQuerySession } from './local-lake.js';
import { listSegments, readSegment, segmentPath, TenantWal } from './wal.js';
import { localKeyring, mustShowRun, tempStateDir } from './testing/support.js';
import { ContentSealer } from './seal.js';
import { LocalLake } from './local-lake.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const runTs = resolve(here, '../../bin/run-ts.js');

describe('trace durability', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it('SIGKILL during a burst loses no acknowledged event, and duplicates none', async () => {
    const { stateDir, cleanup } = tempStateDir();
    cleanups.push(cleanup);
    const child = spawn(process.execPath, [runTs, join(here, 'testing', 'burst-child.ts'), stateDir, '16'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked = new Set<string>();
    let buffer = '';
    const killed = new Promise<void>((resolveKilled, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) if (line !== 'ready') acked.add(line);
        // Kill well into the burst: some segments landed in the lake, some still in the WAL.
        if (acked.size >= 3_000 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolveKilled() : reject(new Error(`child exited ${code}`))));
    });
    await killed;
    expect(acked.size).toBeGreaterThanOrEqual(3_000);
    const leftInWal = listSegments(join(walRoot(stateDir), 'acme')).length;

    // A new writer replays what the dead one left.
    const writer = await openTraceWriter({ stateDir, lake: new LocalLake(stateDir), keyring: await localKeyring(stateDir, ['acme']) });
    await writer.close();
    const session = await TenantQuerySession.open(stateDir, 'acme');
    const { rows } = await session.query("SELECT run_id || ' ' || seq AS id FROM traces");
    session.close();
    const landed = rows.map((r) => r.id as string);
    const unique = new Set(landed);
    expect(landed.length - unique.size, 'duplicate events').toBe(0);
    const lost = [...acked].filter((id) => !unique.has(id));
    expect(lost, `${lost.length} acknowledged events lost (${leftInWal} WAL segments were replayed)`).toEqual([]);
    // Events the child wrote but never acknowledged may or may not be there; nothing else is.
    expect(unique.size).toBeGreaterThanOrEqual(acked.size);
    expect(unique.size - acked.size).toBeLessThanOrEqual(16 * 2);
  });

  it('a torn last record is ignored; whole records before it are kept', async () => {
    const { stateDir, cleanup } = tempStateDir();
    cleanups.push(cleanup);
    const keyring = await localKeyring(stateDir, ['acme']);
    const sealer = new ContentSealer(await keyring.forTenant('acme'));
    const wal = new TenantWal(join(stateDir, 'wal', 'acme'));
    const events = mustShowRun('acme', 'run-1');
    await wal.append(await sealer.seal(events.slice(0, 5)));
    await wal.append(await sealer.seal(events.slice(5)));
    const [segment] = listSegments(wal.dir);
    await wal.close();
    // Simulate a crash in the middle of a third write: a header promising more than is there.
    appendFileSync(segmentPath(wal.dir, segment!), Buffer.from([0xff, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5, 6]));
    const { rows, tornBytes } = readSegment(segmentPath(wal.dir, segment!));
    expect(rows.map((r) => r.seq)).toEqual(events.map((e) => e.seq));
    expect(tornBytes).toBe(10);
    expect(readdirSync(wal.dir)).toEqual([`${segment}.wal`]);
  });

  it('one writer per state dir: a second open fails with TRACE_WAL_LOCKED', async () => {
    const { stateDir, cleanup } = tempStateDir();
    cleanups.push(cleanup);
    const keyring = await localKeyring(stateDir, ['acme']);
    // The lock holder is this process; simulate another live process by writing our parent's pid.
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync(walRoot(stateDir), { recursive: true });
    writeFileSync(join(walRoot(stateDir), 'LOCK'), String(process.ppid));
    await expect(openTraceWriter({ stateDir, lake: new LocalLake(stateDir), keyring })).rejects.toMatchObject({ code: 'TRACE_WAL_LOCKED' });
    // A lock of a dead process is taken over.
    writeFileSync(join(walRoot(stateDir), 'LOCK'), '999999999');
    const writer = await openTraceWriter({ stateDir, lake: new LocalLake(stateDir), keyring });
    await writer.close();
  });
});
