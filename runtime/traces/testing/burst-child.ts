/**
 * Test fixture (wal.int.test.ts / writer-crash test): a process that emits a burst of trace
 * events through the real TraceWriter and prints `<run> <seq>` for every acknowledged
 * event, until the parent SIGKILLs it. Usage: run-ts.js burst-child.ts <stateDir> <runs>
 */
import { openTraceWriter } from '../writer.js';
import { localKeyring } from './support.js';
import { traceEvents } from '../events.js';
import { LocalLake } from '../local-lake.js';

const [stateDir, runsArg] = process.argv.slice(2);
if (!stateDir) throw new Error('usage: burst-child.ts <stateDir> <runs>');
const runs = Number(runsArg ?? 20);
const keyring = await localKeyring(stateDir, ['acme']);
const writer = await openTraceWriter({ stateDir, lake: new LocalLake(stateDir), keyring, flushIntervalMs: 25 });
process.stdout.write('ready\n');

async function run(index: number): Promise<void> {
  const ctx = { tenantId: 'acme', agentId: `agent-${index % 3}`, runId: `run-${index}` };
  for (let seq = 0; ; seq++) {
    await writer.emit([traceEvents.ask(ctx, seq, { text: `message ${seq} of run ${index}` })]);
    process.stdout.write(`${ctx.runId} ${seq}\n`);
  }
}
await Promise.all(Array.from({ length: runs }, (_, i) => run(i)));
