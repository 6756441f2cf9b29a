/**
 * Content sealing. Each event's content is encrypted with AES-256-GCM under a data key;
 * the data key is wrapped by the tenant's root key through the TenantCrypto port
 * (purpose 'trace') and stored beside the box. One data key serves a batch of events
 * (rotated every `eventsPerKey` events), so the port — which may be a KMS round trip —
 * is called once per batch, not once per event, while every row stays independently
 * decryptable. The row's tenant, run, seq and kind are the AAD: a box moved to another
 * row does not open. Destroying the tenant key makes every wrapped data key, and so
 * every box, unreadable.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ClawError } from '../../core/errors.js';
import type { TenantCrypto, TraceEvent } from '../ports.js';
import { contentAad, toRow, type TraceRow } from './model.js';

const NONCE = 12;
const TAG = 16;

export interface TraceCodec {
  /** Rows for events of this codec's tenant, content sealed (or not, for the plain baseline). */
  seal(events: TraceEvent[]): Promise<TraceRow[]>;
}

export class ContentSealer implements TraceCodec {
  private dataKey: Buffer | undefined;
  private wrapped = '';
  private used = 0;

  constructor(
    private readonly crypto: TenantCrypto,
    private readonly eventsPerKey = 50_000,
  ) {}

  private async currentKey(): Promise<{ key: Buffer; wrapped: string }> {
    if (!this.dataKey || this.used >= this.eventsPerKey) {
      const key = randomBytes(32);
      const wrapped = await this.crypto.encrypt(key, 'trace');
      this.dataKey = key;
      this.wrapped = Buffer.from(wrapped).toString('base64');
      this.used = 0;
    }
    return { key: this.dataKey, wrapped: this.wrapped };
  }

  async seal(events: TraceEvent[]): Promise<TraceRow[]> {
    const rows: TraceRow[] = [];
    for (const event of events) {
      if (event.tenantId !== this.crypto.tenantId) {
        throw new ClawError('TRACE_TENANT_MISMATCH', `a trace event of tenant '${event.tenantId}' reached the writer of tenant '${this.crypto.tenantId}'`, {
          hint: 'this is a bug in the caller: events are routed by their tenantId',
        });
      }
      if (event.content === undefined) {
        rows.push(toRow(event, null));
        continue;
      }
      const { key, wrapped } = await this.currentKey();
      this.used++;
      const plaintext = Buffer.from(JSON.stringify(event.content));
      const nonce = randomBytes(NONCE);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const row = toRow(event, null);
      cipher.setAAD(contentAad(row));
      const box = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      row.content_key = wrapped;
      row.content = box;
      row.content_bytes = plaintext.length;
      rows.push(row);
    }
    return rows;
  }
}

/**
 * The benchmark's baseline only: content as plain JSON bytes in the same column. Never
 * used by the runtime (it would break invariant 1); kept here so the baseline writes
 * exactly the same rows minus the encryption.
 */
export class PlaintextCodecForBenchmarks implements TraceCodec {
  async seal(events: TraceEvent[]): Promise<TraceRow[]> {
    return events.map((event) => {
      if (event.content === undefined) return toRow(event, null);
      const bytes = Buffer.from(JSON.stringify(event.content));
      return toRow(event, { key: '', box: bytes, bytes: bytes.length });
    });
  }
}

/** Opens sealed content of one tenant, caching unwrapped data keys. */
export class ContentOpener {
  private readonly keys = new Map<string, Promise<Buffer>>();

  constructor(private readonly crypto: TenantCrypto) {}

  async open(row: Pick<TraceRow, 'tenant_id' | 'run_id' | 'seq' | 'kind' | 'content' | 'content_key'>): Promise<unknown> {
    if (!row.content || !row.content_key) return undefined;
    if (row.tenant_id !== this.crypto.tenantId) {
      throw new ClawError('TRACE_TENANT_MISMATCH', `cannot open content of tenant '${row.tenant_id}' with the key of '${this.crypto.tenantId}'`);
    }
    let key = this.keys.get(row.content_key);
    if (!key) {
      key = this.crypto.decrypt(Buffer.from(row.content_key, 'base64'), 'trace').then((k) => Buffer.from(k));
      this.keys.set(row.content_key, key);
      key.catch(() => this.keys.delete(row.content_key!));
    }
    const dataKey = await key;
    const box = Buffer.from(row.content);
    if (box.length < NONCE + TAG) throw new ClawError('TRACE_CONTENT_CORRUPT', `trace content of run ${row.run_id} seq ${row.seq} is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', dataKey, box.subarray(0, NONCE));
    decipher.setAAD(contentAad(row));
    decipher.setAuthTag(box.subarray(box.length - TAG));
    try {
      const plaintext = Buffer.concat([decipher.update(box.subarray(NONCE, box.length - TAG)), decipher.final()]);
      return JSON.parse(plaintext.toString('utf8'));
    } catch (cause) {
      throw new ClawError('TRACE_CONTENT_CORRUPT', `trace content of run ${row.run_id} seq ${row.seq} failed authentication`, {
        hint: 'the file was altered or the row was moved; restore the Parquet file from backup',
        cause,
      });
    }
  }
}
