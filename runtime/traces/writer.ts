/**
 * The TraceSink the worker uses: per tenant, events are sealed (content encrypted under
 * the tenant key), appended to that tenant's write-ahead log with fdatasync, and only
 * then acknowledged. A background flush closes the active WAL segment every
 * `flushIntervalMs` (or at `maxSegmentEvents`) and lands it in the lake; the segment file
 * is deleted only after the lake write succeeded. On open, segments left by a previous
 * process (killed or not) are landed first. Lake writes are idempotent per segment, so a
 * crash between "landed" and "deleted" writes the same file again, not a duplicate.
 */
import { join } from 'node:path';
import type { TenantKeyring, TraceEvent, TraceSink } from '../ports.js';
import { assertTenantId } from '../../core/config/schema.js';
import type { LakeWriter } from './lake.js';
import { ContentSealer, type TraceCodec } from './seal.js';
import { acquireWalLock, listSegments, readSegment, segmentPath, TenantWal } from './wal.js';
import { readdirSync, existsSync } from 'node:fs';

export interface TraceWriterOptions {
  stateDir: string;
  keyring: TenantKeyring;
  /** Where segments land: the target's lake (runtime/targets; the local Parquet lake on the local target). */
  lake: LakeWriter;
  flushIntervalMs?: number;
  maxSegmentEvents?: number;
  /** Also export each emitted batch (e.g. OtlpTraceExporter); best effort, never blocks emit. */
  exporters?: Array<{ export(events: TraceEvent[]): void; shutdown?(): Promise<void> }>;
  /** Benchmarks only: a codec per tenant instead of sealing with the keyring. */
  codecFor?: (tenantId: string) => Promise<TraceCodec>;
  /** Told when a background flush fails (the segments stay in the WAL and are retried). */
  onFlushError?: (err: unknown) => void;
}

interface TenantLog {
  codec: TraceCodec;
  wal: TenantWal;
}

export function walRoot(stateDir: string): string {
  return join(stateDir, 'traces', 'wal');
}

export class TraceWriter implements TraceSink {
  private readonly tenants = new Map<string, Promise<TenantLog>>();
  private readonly lake: LakeWriter;
  private readonly root: string;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private releaseLock: () => void = () => {};

  private constructor(private readonly options: TraceWriterOptions) {
    this.lake = options.lake;
    this.root = walRoot(options.stateDir);
  }

  static async open(options: TraceWriterOptions): Promise<TraceWriter> {
    const writer = new TraceWriter(options);
    writer.releaseLock = acquireWalLock(writer.root);
    await writer.replay();
    const interval = options.flushIntervalMs ?? 500;
    writer.timer = setInterval(() => {
      void writer.flush().catch((err) => writer.options.onFlushError?.(err));
    }, interval);
    writer.timer.unref();
    return writer;
  }

  /** Lands every segment a previous process left behind. */
  private async replay(): Promise<void> {
    if (!existsSync(this.root)) return;
    for (const tenantId of readdirSync(this.root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)) {
      const dir = join(this.root, tenantId);
      for (const segment of listSegments(dir)) {
        const { rows } = readSegment(segmentPath(dir, segment));
        if (rows.length > 0) await this.lake.writeSegment(tenantId, segment, rows);
        new TenantWal(dir).remove(segment);
      }
    }
  }

  private tenant(tenantId: string): Promise<TenantLog> {
    let log = this.tenants.get(tenantId);
    if (!log) {
      log = (async () => {
        assertTenantId(tenantId);
        const codec = this.options.codecFor ? await this.options.codecFor(tenantId) : new ContentSealer(await this.options.keyring.forTenant(tenantId));
        return { codec, wal: new TenantWal(join(this.root, tenantId)) };
      })();
      log.catch(() => this.tenants.delete(tenantId));
      this.tenants.set(tenantId, log);
    }
    return log;
  }

  /** Durable on return: every event is in its tenant's WAL (fdatasync'ed). */
  async emit(events: TraceEvent[]): Promise<void> {
    if (this.closed) throw new Error('trace writer is closed');
    const byTenant = new Map<string, TraceEvent[]>();
    for (const event of events) {
      const list = byTenant.get(event.tenantId);
      if (list) list.push(event);
      else byTenant.set(event.tenantId, [event]);
    }
    await Promise.all(
      [...byTenant].map(async ([tenantId, tenantEvents]) => {
        const log = await this.tenant(tenantId);
        const rows = await log.codec.seal(tenantEvents);
        await log.wal.append(rows);
        if (log.wal.eventsInActiveSegment >= (this.options.maxSegmentEvents ?? 20_000)) void this.flush().catch((err) => this.options.onFlushError?.(err));
      }),
    );
    for (const exporter of this.options.exporters ?? []) exporter.export(events);
  }

  /** Close every active segment and land all closed segments in the lake. */
  flush(): Promise<void> {
    this.flushing ??= this.flushAll().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async flushAll(): Promise<void> {
    for (const [tenantId, pending] of this.tenants) {
      const { wal } = await pending;
      await wal.rotate();
      for (const segment of wal.closedSegments()) {
        const rows = wal.rowsOf(segment);
        if (rows.length > 0) await this.lake.writeSegment(tenantId, segment, rows);
        wal.remove(segment);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    await this.flush(); // a flush started before close may have missed the last appends
    await this.lake.close?.();
    for (const exporter of this.options.exporters ?? []) await exporter.shutdown?.();
    this.releaseLock();
  }
}

export function openTraceWriter(options: TraceWriterOptions): Promise<TraceWriter> {
  return TraceWriter.open(options);
}
