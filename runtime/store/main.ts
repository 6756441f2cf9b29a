/**
 * The metadata store process (local target). PGlite can be opened by one process only,
 * so this process owns `<state>/store/pgdata` and serves it over the Postgres wire
 * protocol on a Unix socket in `<state>/store` (0700; see wire-server.ts for why no TCP
 * port); every other process connects with `pg` through DATABASE_URL.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { migratePglite } from './migrations.js';
import { socketFile, StoreServer } from './wire-server.js';

const stateDir = process.env.CLAW_STATE_DIR;
const port = Number(process.env.CLAW_PORT);
if (!stateDir || !Number.isInteger(port) || port <= 0) {
  console.error('store: CLAW_STATE_DIR and CLAW_PORT must be set');
  process.exit(2);
}

const storeDir = join(stateDir, 'store');
const dataDir = join(storeDir, 'pgdata');
mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const db = await PGlite.create(dataDir);
const applied = await migratePglite(db);
if (applied.length > 0) console.log(`store: applied migrations ${applied.join(', ')}`);

const socketPath = socketFile(storeDir, port);
const server = new StoreServer({ db, socketPath, user: 'postgres', database: 'postgres', log: (line) => console.error(line) });
await server.start();
console.log(`store: serving ${dataDir} on ${socketPath}`);

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
