/**
 * The local store's Postgres wire-protocol front for PGlite, on a Unix socket.
 *
 * PGlite is one Postgres session in one process. `@electric-sql/pglite-socket` multiplexed
 * clients onto it but was wedged for everyone by one bad client: a client whose startup
 * PGlite refused (e.g. a user name it does not know) failed a queued call, which left its
 * queue marked busy forever; a client mid extended-protocol exchange could have another
 * client's messages interleaved; a client idle in a transaction held everyone up with no
 * limit. This front keeps the same single session but owns the parts that must be robust:
 *
 * - Startup is answered here, never forwarded: SSL/GSS requests are declined, cancel
 *   requests ignored, a malformed or oversized startup refused (08P01), a user or database
 *   other than the ones served refused (28000/3D000), and a client that says nothing within
 *   `startupTimeoutMs` is dropped. Access control is the socket's directory (0700, owned
 *   by the platform's user), like PostgreSQL's peer authentication on a local socket; no
 *   TCP port is opened, so sandboxed tools and other users have no way in.
 * - Each client's messages are run as whole units (up to Sync, Query or Flush), one unit at
 *   a time, so extended-protocol sequences of two clients never interleave.
 * - A client inside a transaction (or between Flush and Sync) holds the session; others
 *   wait. If it goes quiet for `idleInTransactionMs`, or disconnects, it is dropped and its
 *   transaction rolled back, and the others go on.
 * - A failure inside PGlite ends that client's connection (XX000), resets the session
 *   (Sync, ROLLBACK) and never stops the queue.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';

const PROTOCOL_3 = 196_608;
const SSL_REQUEST = 80_877_103;
const GSSENC_REQUEST = 80_877_104;
const CANCEL_REQUEST = 80_877_102;
const MAX_STARTUP_BYTES = 10_000;
const MAX_MESSAGE_BYTES = 256 * 2 ** 20;
/** Messages after which the client waits for an answer: the end of a unit of work. */
const UNIT_END = new Set(['S', 'Q', 'H']);
const SYNC = Uint8Array.from([0x53, 0, 0, 0, 4]);


export interface StoreServerOptions {
  db: PGlite;
  /** The socket file (PostgreSQL's naming: `<dir>/.s.PGSQL.<port>`); its directory is made 0700. */
  socketPath: string;
  user: string;
  database: string;
  maxConnections?: number;
  startupTimeoutMs?: number;
  idleInTransactionMs?: number;
  log?: (line: string) => void;
}

/** PostgreSQL's socket file for a directory and port, as libpq and node-postgres look for it. */
export function socketFile(dir: string, port: number): string {
  return `${dir}/.s.PGSQL.${port}`;
}

// ------------------------------------------------------------------ backend messages

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function cstrings(...values: string[]): Buffer {
  return Buffer.concat(values.map((v) => Buffer.from(`${v}\0`, 'utf8')));
}

function int32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeInt32BE(v, i * 4));
  return b;
}

export function errorResponse(code: string, text: string, severity = 'FATAL'): Buffer {
  return message('E', Buffer.concat([cstrings(`S${severity}`, `V${severity}`, `C${code}`, `M${text}`), Buffer.from([0])]));
}

/** Raw protocol only inside `runExclusive`: PGlite's query API takes the same lock and would deadlock. */
const ROLLBACK = new Uint8Array(message('Q', Buffer.from('ROLLBACK\0')));

const readyForQuery = (status: 'I' | 'T' | 'E') => message('Z', Buffer.from(status, 'latin1'));

// ------------------------------------------------------------------ connections

interface Connection {
  id: number;
  socket: Socket;
  buffer: Buffer;
  started: boolean;
  /** Complete messages of the unit being received. */
  pending: Uint8Array[];
  /** Units received and not yet run. */
  units: Uint8Array[][];
  idleTimer?: NodeJS.Timeout;
  closed: boolean;
}

class ClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class StoreServer {
  private server?: Server;
  private readonly connections = new Set<Connection>();
  private nextId = 1;
  /** The connection that holds the session (in a transaction, or between Flush and Sync). */
  private holder?: Connection;
  /** One entry per unit received, in arrival order, so no client is starved by another. */
  private readonly queue: Connection[] = [];
  private running = false;
  private parameters: Buffer = Buffer.alloc(0);
  private readonly maxConnections: number;
  private readonly startupTimeoutMs: number;
  private readonly idleInTransactionMs: number;
  private readonly log: (line: string) => void;

  constructor(private readonly options: StoreServerOptions) {
    this.maxConnections = options.maxConnections ?? 128;
    this.startupTimeoutMs = options.startupTimeoutMs ?? 10_000;
    this.idleInTransactionMs = options.idleInTransactionMs ?? 15_000;
    this.log = options.log ?? (() => {});
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async start(): Promise<void> {
    const { db, socketPath } = this.options;
    await db.waitReady;
    // What a real server reports at startup; psql reads server_version, drivers the encodings.
    const shown = await db.query<{ name: string; setting: string }>(
      `select name, setting from pg_settings where name in ('server_version','server_encoding','client_encoding','DateStyle','IntervalStyle','integer_datetimes','standard_conforming_strings','TimeZone')`,
    );
    this.parameters = Buffer.concat(shown.rows.map((r) => message('S', cstrings(r.name, r.setting))));
    const dir = dirname(socketPath);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    rmSync(socketPath, { force: true });
    this.server = createServer((socket) => this.accept(socket));
    this.server.maxConnections = this.maxConnections;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o600);
  }

  async stop(): Promise<void> {
    for (const c of this.connections) this.drop(c);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.options.socketPath, { force: true });
  }

  private accept(socket: Socket): void {
    const connection: Connection = { id: this.nextId++, socket, buffer: Buffer.alloc(0), started: false, pending: [], units: [], closed: false };
    this.connections.add(connection);
    const startupTimer = setTimeout(() => {
      if (!connection.started) this.refuse(connection, new ClientError('08P01', `no startup message within ${this.startupTimeoutMs} ms`));
    }, this.startupTimeoutMs);
    startupTimer.unref();
    socket.on('data', (chunk) => {
      try {
        this.receive(connection, chunk);
      } catch (err) {
        this.refuse(connection, err instanceof ClientError ? err : new ClientError('08P01', (err as Error).message));
      }
    });
    socket.on('error', () => this.drop(connection));
    socket.on('close', () => {
      clearTimeout(startupTimer);
      this.drop(connection);
    });
  }

  private receive(c: Connection, chunk: Buffer): void {
    if (c.closed) return;
    c.buffer = c.buffer.length === 0 ? chunk : Buffer.concat([c.buffer, chunk]);
    while (!c.closed) {
      if (!c.started) {
        if (c.buffer.length < 8) return;
        const length = c.buffer.readInt32BE(0);
        if (length < 8 || length > MAX_STARTUP_BYTES) throw new ClientError('08P01', 'invalid startup packet length');
        if (c.buffer.length < length) return;
        const packet = c.buffer.subarray(0, length);
        c.buffer = c.buffer.subarray(length);
        this.startup(c, packet);
        continue;
      }
      if (c.buffer.length < 5) return;
      const length = c.buffer.readInt32BE(1);
      if (length < 4 || length > MAX_MESSAGE_BYTES) throw new ClientError('08P01', 'invalid message length');
      if (c.buffer.length < length + 1) return;
      const type = String.fromCharCode(c.buffer[0]!);
      const body = Uint8Array.prototype.slice.call(c.buffer, 0, length + 1);
      c.buffer = c.buffer.subarray(length + 1);
      if (type === 'X') return this.drop(c, true);
      c.pending.push(body);
      if (UNIT_END.has(type)) {
        c.units.push(c.pending);
        c.pending = [];
        this.queue.push(c);
        void this.pump();
      }
    }
  }

  private startup(c: Connection, packet: Buffer): void {
    const code = packet.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      c.socket.write('N'); // not supported: the client goes on in the clear over the local socket
      return;
    }
    if (code === CANCEL_REQUEST) return this.drop(c, true);
    if (code !== PROTOCOL_3) throw new ClientError('0A000', `unsupported frontend protocol ${code >> 16}.${code & 0xffff}`);
    const fields = packet.subarray(8).toString('utf8').split('\0');
    const params = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length && fields[i] !== ''; i += 2) params.set(fields[i]!, fields[i + 1]!);
    const user = params.get('user');
    const database = params.get('database') ?? user;
    if (user !== this.options.user) {
      throw new ClientError('28000', `role "${user ?? ''}" does not exist; connect as "${this.options.user}" (the URL 'claw status' prints)`);
    }
    if (database !== this.options.database) throw new ClientError('3D000', `database "${database}" does not exist; use "${this.options.database}"`);
    c.started = true;
    c.socket.write(Buffer.concat([message('R', int32(0)), this.parameters, message('K', int32(c.id, 0)), readyForQuery('I')]));
  }

  /** Run queued units one at a time; the holder of the session goes first and alone. */
  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        let next: Connection | undefined;
        if (this.holder) {
          if (this.holder.units.length === 0) break;
          next = this.holder;
          this.queue.splice(this.queue.indexOf(next), 1);
        } else {
          next = this.queue.shift();
          if (!next) break;
          if (next.closed || next.units.length === 0) continue;
        }
        clearTimeout(next.idleTimer);
        await this.run(next, next.units.shift()!);
      }
    } finally {
      this.running = false;
    }
  }

  private async run(c: Connection, unit: Uint8Array[]): Promise<void> {
    const { db } = this.options;
    let failed: Error | undefined;
    await db.runExclusive(async () => {
      for (const m of unit) {
        try {
          await db.execProtocolRawStream(m, { onRawData: (data) => this.write(c, data) });
        } catch (err) {
          failed = err as Error;
          break;
        }
      }
      if (failed) await this.reset();
    });
    const midExtended = String.fromCharCode(unit[unit.length - 1]![0]!) === 'H';
    if (failed) {
      this.log(`store: client ${c.id}: ${failed.message}`);
      this.refuse(c, new ClientError('XX000', 'the store could not run this request; the connection was reset'));
      return;
    }
    if (c.closed) {
      // Gone while its unit ran: nothing may stay open on its behalf.
      if (db.isInTransaction() || midExtended) await db.runExclusive(() => this.reset());
      if (this.holder === c) this.holder = undefined;
      return;
    }
    if (db.isInTransaction() || midExtended) {
      this.holder = c;
      c.idleTimer = setTimeout(() => {
        this.log(`store: client ${c.id} idle in a transaction for ${this.idleInTransactionMs} ms; dropped`);
        this.refuse(c, new ClientError('25P03', `terminating connection: idle in transaction for more than ${this.idleInTransactionMs} ms`));
      }, this.idleInTransactionMs);
      c.idleTimer.unref();
    } else if (this.holder === c) {
      this.holder = undefined;
    }
  }

  /** Back to a clean session: end any extended-protocol exchange and any transaction. */
  private async reset(): Promise<void> {
    const { db } = this.options;
    await db.execProtocolRaw(SYNC).catch(() => {});
    if (db.isInTransaction()) await db.execProtocolRaw(ROLLBACK).catch(() => {});
  }

  private write(c: Connection, data: Uint8Array): void {
    if (!c.closed && data.length > 0 && c.socket.writable) c.socket.write(data);
  }

  private refuse(c: Connection, err: ClientError): void {
    if (c.closed) return;
    if (c.socket.writable) c.socket.write(errorResponse(err.code, err.message));
    this.drop(c, true);
  }

  private drop(c: Connection, end = false): void {
    if (c.closed) return;
    c.closed = true;
    clearTimeout(c.idleTimer);
    c.units = [];
    this.connections.delete(c);
    if (end) c.socket.end();
    c.socket.destroy();
    if (this.holder === c) {
      // Its transaction is rolled back before anyone else runs.
      void this.options.db
        .runExclusive(() => this.reset())
        .finally(() => {
          if (this.holder === c) this.holder = undefined;
          void this.pump();
        });
    }
  }
}
