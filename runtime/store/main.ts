/**
 * The metadata store process (local target). PGlite can be opened by one process only,
 * so this process owns `<state>/store/pgdata` and serves it over the Postgres wire
 * protocol on 127.0.0.1:CLAW_PORT; every other process connects with `pg`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { migratePglite } from './migrations.js';

const stateDir = process.env.CLAW_STATE_DIR;
const port = Number(process.env.CLAW_PORT);
if (!stateDir || !Number.isInteger(port) || port <= 0) {
  console.error('store: CLAW_STATE_DIR and CLAW_PORT must be set');
  process.exit(2);
}

const dataDir = join(stateDir, 'store', 'pgdata');
mkdirSync(dataDir, { recursive: true });
const db = await PGlite.create(dataDir);
const applied = await migratePglite(db);
if (applied.length > 0) console.log(`store: applied migrations ${applied.join(', ')}`);

const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 64 });
server.addEventListener('error', (event) => console.error(`store: ${(event as CustomEvent).detail}`));
await server.start();
console.log(`store: serving ${dataDir} on 127.0.0.1:${port}`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`store: ${signal}, closing`);
  await server.stop().catch(() => {});
  // Closing PGlite flushes its data directory; skipping it risks losing the last writes.
  await db.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
