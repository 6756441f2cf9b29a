/**
 * The per-tenant write-ahead log that makes `emit` durable.
 *
 * Why a local WAL rather than a Temporal step per event: events come from inside
 * activities (and from the gateway, which is no workflow), several per step; a durable
 * Temporal step each would add a round trip and history events per trace event and put
 * every trace a second time into Temporal's store. An append + fdatasync on local disk is
 * ~a millisecond, and group commit lets concurrent emits share one fsync.
 *
 * Layout: `<dir>/<segment>.wal`, one file per segment, segment names sort by creation
 * time. A record is `u32 length | u32 crc32 | JSON rows` (content already sealed: no
 * plaintext ever reaches this file). A crash can leave a torn last record; reading stops
 * at the first record whose length or checksum does not hold — such a record was never
 * acknowledged, since `append` resolves only after its fdatasync.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { ClawError } from '../../core/errors.js';
import type { TraceRow } from './model.js';

const HEADER = 8;

type StoredRow = Omit<TraceRow, 'content'> & { content: string | null };

function encode(rows: TraceRow[]): Buffer {
  const stored: StoredRow[] = rows.map((row) => ({ ...row, content: row.content ? Buffer.from(row.content).toString('base64') : null }));
  const payload = Buffer.from(JSON.stringify(stored));
  const frame = Buffer.allocUnsafe(HEADER + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, HEADER);
  return frame;
}

function decode(payload: Buffer): TraceRow[] {
  const stored = JSON.parse(payload.toString('utf8')) as StoredRow[];
  return stored.map((row) => ({ ...row, content: row.content === null ? null : Buffer.from(row.content, 'base64') }));
}

export interface SegmentContents {
  rows: TraceRow[];
  /** Bytes after the last whole record (a write torn by a crash). */
  tornBytes: number;
}

/** Every whole record of a segment file. */
export function readSegment(path: string): SegmentContents {
  const data = readFileSync(path);
  const rows: TraceRow[] = [];
  let offset = 0;
  while (offset + HEADER <= data.length) {
    const length = data.readUInt32LE(offset);
    const checksum = data.readUInt32LE(offset + 4);
    const end = offset + HEADER + length;
    if (end > data.length) break;
    const payload = data.subarray(offset + HEADER, end);
    if (crc32(payload) !== checksum) break;
    rows.push(...decode(payload));
    offset = end;
  }
  return { rows, tornBytes: data.length - offset };
}

export function newSegmentId(): string {
  return `${Date.now().toString().padStart(15, '0')}-${randomBytes(4).toString('hex')}`;
}

export function segmentPath(dir: string, id: string): string {
  return join(dir, `${id}.wal`);
}

/** Segment ids present in `dir`, oldest first. */
export function listSegments(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.wal'))
    .map((f) => f.slice(0, -'.wal'.length))
    .sort();
}

interface Pending {
  frame: Buffer;
  rows: TraceRow[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The active segment of one tenant's log, with group commit. */
export class TenantWal {
  private handle: FileHandle | undefined;
  private activeId: string | undefined;
  /** What the active segment holds, kept so a flush need not read the file back. */
  private activeRows: TraceRow[] = [];
  private readonly closed = new Map<string, TraceRow[]>();
  private pending: Pending[] = [];
  private scheduled = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Events appended to the active segment since it was opened. */
  get eventsInActiveSegment(): number {
    return this.activeRows.length;
  }

  /** Ops run one at a time: appends (batched) and rotations never interleave. */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once the rows are on disk (fdatasync). */
  append(rows: TraceRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const frame = encode(rows);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ frame, rows, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      void this.serial(() => this.commit());
    });
  }

  private async commit(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    try {
      if (!this.handle) {
        this.activeId = newSegmentId();
        this.handle = await open(segmentPath(this.dir, this.activeId), 'a');
      }
      await this.handle.write(batch.length === 1 ? batch[0]!.frame : Buffer.concat(batch.map((p) => p.frame)));
      await this.handle.datasync();
      for (const p of batch) for (const row of p.rows) this.activeRows.push(row);
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  /**
   * Close the active segment so it can be flushed; the next append opens a new one.
   * Returns the closed segment's id, or undefined if nothing was written.
   */
  rotate(): Promise<string | undefined> {
    return this.serial(async () => {
      if (!this.handle) return undefined;
      await this.handle.close();
      const id = this.activeId!;
      this.closed.set(id, this.activeRows);
      this.handle = undefined;
      this.activeId = undefined;
      this.activeRows = [];
      return id;
    });
  }

  /** Closed segments, oldest first (everything but the active one). */
  closedSegments(): string[] {
    return listSegments(this.dir).filter((id) => id !== this.activeId);
  }

  /** A closed segment's rows: from memory when this process wrote it, else from the file. */
  rowsOf(id: string): TraceRow[] {
    return this.closed.get(id) ?? readSegment(segmentPath(this.dir, id)).rows;
  }

  remove(id: string): void {
    rmSync(segmentPath(this.dir, id), { force: true });
    this.closed.delete(id);
  }

  async close(): Promise<void> {
    await this.rotate();
  }
}

/**
 * One writer per WAL root: a lock file with the owner's pid. A lock left by a dead
 * process is taken over (its segments are replayed by the new owner).
 */
export function acquireWalLock(root: string): () => void {
  mkdirSync(root, { recursive: true });
  const path = join(root, 'LOCK');
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) lockedBy(owner, root);
      rmSync(path, { force: true });
    }
  }
  return lockedBy(Number.NaN, root);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedBy(pid: number, root: string): never {
  throw new ClawError('TRACE_WAL_LOCKED', `the trace log at ${root} is in use by another process${Number.isNaN(pid) ? '' : ` (pid ${pid})`}`, {
    hint: 'only one worker per state directory writes traces; stop the other worker first',
  });
}
