/**
 * The audit log in the tenant's own storage. Appends go to the metadata store first: a chain
 * needs one writer per next seq, which the store's primary key gives and object storage
 * does not. The worker then lands every new stretch of the chain as one segment in the
 * tenant's blob store — `<state>/blobs/<tenant>/`, the tenant's S3 or GCS bucket — sealed
 * under the tenant's key like everything there:
 *
 *   audit/<first seq>-<last seq>.jsonl    what `claw audit export` writes for that stretch:
 *                                         one line per entry, then the head it reached
 *
 * Segments are written once and never rewritten; together they are the whole chain and
 * re-verify with no database (`readArchive`, `claw audit verify --archive`). Where the
 * store's log and the archive disagree on an archived seq, one of them was rewritten after
 * the fact: `compareWithStore` says so. Shredding the tenant's key makes both unreadable.
 */
import { ClawError } from '../../core/errors.js';
import type { BlobStore } from '../ports.js';
import type { ExportLine } from './export.js';
import { parseExport } from './export.js';
import { verifyChain, type AuditHead, type AuditLog, type VerifyResult } from './log.js';

export const AUDIT_PREFIX = 'audit/';
const pad = (n: number) => String(n).padStart(12, '0');
const SEGMENT = /^audit\/(\d{12})-(\d{12})\.jsonl$/;

/** The archived segments of a tenant, in chain order. */
async function segments(blobs: BlobStore, tenantId: string): Promise<{ key: string; from: number; to: number }[]> {
  return (await blobs.list(tenantId, AUDIT_PREFIX))
    .map((key) => SEGMENT.exec(key))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ key: m[0], from: Number(m[1]), to: Number(m[2]) }))
    .sort((a, b) => a.from - b.from);
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export class AuditArchiver {
  /** Per tenant, the last seq known to be archived (read from the segments' names once). */
  private readonly through = new Map<string, number>();

  constructor(
    private readonly log: AuditLog,
    private readonly blobs: BlobStore,
  ) {}

  private async archivedThrough(tenantId: string): Promise<number> {
    let seq = this.through.get(tenantId);
    if (seq === undefined) {
      seq = (await segments(this.blobs, tenantId)).at(-1)?.to ?? 0;
      this.through.set(tenantId, seq);
    }
    return seq;
  }

  /** Land the tenant's entries appended since the last segment as one new segment; none new: nothing written. */
  async archive(tenantId: string): Promise<{ segment?: string; entries: number; through: number }> {
    const after = await this.archivedThrough(tenantId);
    const lines: string[] = [];
    let head: AuditHead | undefined;
    for await (const row of this.log.read(tenantId, { after })) {
      if (!row.entry) {
        throw new ClawError('AUDIT_ENTRY_UNREADABLE', `audit entry ${row.seq} of tenant '${tenantId}' does not decrypt; it is not archived`, { hint: `run 'claw audit verify --tenant ${tenantId}'` });
      }
      lines.push(JSON.stringify({ seq: row.seq, prevHash: row.prevHash, hash: row.hash, entry: row.entry } satisfies ExportLine));
      head = { seq: row.seq, hash: row.hash };
    }
    if (!head) return { entries: 0, through: after };
    const key = `${AUDIT_PREFIX}${pad(after + 1)}-${pad(head.seq)}.jsonl`;
    lines.push(JSON.stringify({ head, tenantId }));
    await this.blobs.put(tenantId, key, Buffer.from(`${lines.join('\n')}\n`));
    this.through.set(tenantId, head.seq);
    return { segment: key, entries: lines.length - 1, through: head.seq };
  }

  /**
   * Archive every tenant (of those `only` keeps) whose log moved on. A tenant that fails (its key shredded, its
   * bucket unreachable) is reported and does not stop the others.
   */
  async archiveAll(onError: (tenantId: string, err: unknown) => void, only: (tenantId: string) => boolean = () => true): Promise<number> {
    let written = 0;
    for (const { tenantId, seq } of await this.log.tenantHeads()) {
      if (!only(tenantId)) continue;
      try {
        if (seq > (await this.archivedThrough(tenantId)) && (await this.archive(tenantId)).segment) written++;
      } catch (err) {
        onError(tenantId, err);
      }
    }
    return written;
  }
}

/** The archived chain read back from the tenant's storage, in order, with the last head it reached. */
export async function readArchive(blobs: BlobStore, tenantId: string): Promise<{ chain: ExportLine[]; head?: AuditHead; segments: number }> {
  const chain: ExportLine[] = [];
  let head: AuditHead | undefined;
  const found = await segments(blobs, tenantId);
  for (const segment of found) {
    const parsed = parseExport(await text(await blobs.get(tenantId, segment.key)));
    chain.push(...parsed.chain);
    head = parsed.head ?? head;
  }
  return { chain, ...(head ? { head } : {}), segments: found.length };
}

/** Verify the archive on its own (hashes, order, its own last head). */
export async function verifyArchive(blobs: BlobStore, tenantId: string): Promise<VerifyResult & { segments: number }> {
  const { chain, head, segments: count } = await readArchive(blobs, tenantId);
  return { ...verifyChain(chain, head), segments: count };
}

/**
 * Where the store's log and the archive disagree on an archived entry (its hash), the first
 * such seq: one of them was rewritten after the entry was archived. Undefined: they agree.
 */
export async function compareWithStore(log: AuditLog, blobs: BlobStore, tenantId: string): Promise<{ seq: number; archived: string; store?: string } | undefined> {
  const { chain } = await readArchive(blobs, tenantId);
  const archived = new Map(chain.map((l) => [l.seq, l.hash]));
  const last = chain.at(-1)?.seq ?? 0;
  const seen = new Set<number>();
  for await (const row of log.read(tenantId)) {
    if (row.seq > last) break;
    seen.add(row.seq);
    if (archived.get(row.seq) !== row.hash) return { seq: row.seq, archived: archived.get(row.seq) ?? '(not archived)', store: row.hash };
  }
  const missing = chain.find((l) => !seen.has(l.seq));
  return missing ? { seq: missing.seq, archived: missing.hash } : undefined;
}
