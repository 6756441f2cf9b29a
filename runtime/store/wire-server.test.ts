import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { socketFile, StoreServer } from './wire-server.js';

// A real PGlite behind the real front, on a Unix socket; clients are node-postgres and raw sockets.
let dir: string;
let db: PGlite;
let server: StoreServer;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'claw-wire-'));
  db = await PGlite.create();
  await db.exec('create table t (id int primary key, v text)');
  server = new StoreServer({ db, socketPath: socketFile(join(dir, 'sock'), 5432), user: 'postgres', database: 'postgres', idleInTransactionMs: 1_000, startupTimeoutMs: 500 });
  await server.start();
  url = `postgresql://postgres@/postgres?host=${encodeURIComponent(join(dir, 'sock'))}&port=5432`;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function withClient<T>(run: (client: pg.Client) => Promise<T>, connectionString = url): Promise<T> {
  const client = new pg.Client({ connectionString });
  client.on('error', () => {});
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => {});
  }
}

const healthy = () => withClient(async (c) => (await c.query('select 1 as one')).rows[0].one);

/** Raw bytes to the socket; resolves with what the server sent back before it closed (or after ms). */
function raw(bytes: Buffer, ms = 2_000): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = connect(socketFile(join(dir, 'sock'), 5432));
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.write(bytes);
    setTimeout(() => socket.destroy(), ms);
  });
}

describe('store wire server (real PGlite on a Unix socket)', () => {
  it('serves node-postgres: simple and extended queries, parameters, transactions', async () => {
    await withClient(async (c) => {
      await c.query('begin');
      await c.query('insert into t values ($1, $2)', [1, 'one']);
      await c.query('commit');
      expect((await c.query('select v from t where id = $1', [1])).rows).toEqual([{ v: 'one' }]);
    });
  });

  it('makes the socket private to its user (directory 0700, socket 0600)', () => {
    expect(statSync(join(dir, 'sock')).mode & 0o777).toBe(0o700);
    expect(statSync(socketFile(join(dir, 'sock'), 5432)).mode & 0o777).toBe(0o600);
  });

  it('refuses an unknown role with 28000 and keeps serving', async () => {
    const wrongUser = url.replace('postgres@', 'root@');
    await expect(withClient((c) => c.query('select 1'), wrongUser)).rejects.toMatchObject({ code: '28000' });
    expect(await healthy()).toBe(1);
  });

  it('refuses a malformed startup packet and keeps serving', async () => {
    const answer = await raw(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4]));
    expect(answer.subarray(0, 1).toString()).toBe('E');
    expect(answer.toString()).toContain('08P01');
    await raw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(await healthy()).toBe(1);
  });

  it('drops a client that never sends its startup, without blocking others meanwhile', async () => {
    const silent = raw(Buffer.alloc(0), 5_000);
    expect(await healthy()).toBe(1);
    const answer = await silent; // closed by the server after startupTimeoutMs
    expect(answer.toString()).toContain('no startup message');
  });

  it('rolls back and releases a client idle in a transaction, then serves the others', async () => {
    const idle = new pg.Client({ connectionString: url });
    idle.on('error', () => {});
    await idle.connect();
    await idle.query('begin');
    await idle.query("insert into t values (2, 'uncommitted')");
    const started = Date.now();
    expect(await healthy()).toBe(1); // waits for the holder's idle limit (1 s here), not forever
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect((await withClient((c) => c.query('select * from t where id = 2'))).rows).toEqual([]);
    await idle.end().catch(() => {});
  });

  it('rolls back the transaction of a client that disconnects inside it', async () => {
    const quitter = new pg.Client({ connectionString: url });
    quitter.on('error', () => {});
    await quitter.connect();
    await quitter.query('begin');
    await quitter.query("insert into t values (3, 'lost')");
    (quitter as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    expect((await withClient((c) => c.query('select * from t where id = 3'))).rows).toEqual([]);
  });

  it('keeps 64 concurrent clients extended-protocol exchanges apart', async () => {
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        withClient(async (c) => {
          const out: number[] = [];
          for (let k = 0; k < 5; k++) out.push((await c.query('select $1::int * 2 as n', [i * 10 + k])).rows[0].n);
          return out;
        }),
      ),
    );
    results.forEach((out, i) => expect(out).toEqual([0, 1, 2, 3, 4].map((k) => (i * 10 + k) * 2)));
    expect(await healthy()).toBe(1);
  });

  it('answers a query error to its client only; the session stays usable', async () => {
    await expect(withClient((c) => c.query('select * from no_such_table'))).rejects.toMatchObject({ code: '42P01' });
    await withClient(async (c) => {
      await c.query('begin');
      await expect(c.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
      await c.query('rollback');
    });
    expect(await healthy()).toBe(1);
  });
});
