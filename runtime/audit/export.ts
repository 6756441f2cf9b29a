/**
 * `claw audit export`: the tenant's log as JSON Lines for a SIEM. One line per entry
 * ({ seq, prevHash, hash, entry }: the entry decrypted, its hashes as chained), then one
 * closing line with the head. Everything a reader needs to re-verify the chain is in the
 * file (runtime/audit/log.ts verifyChain: sha256 over canonical JSON), and the head kept from
 * one export lets a later `claw audit verify --head` detect entries cut since.
 */
import { ClawError } from '../../core/errors.js';
import type { AuditEntry, AuditHead, AuditLog } from './log.js';

export interface ExportLine {
  seq: number;
  prevHash: string;
  hash: string;
  entry: AuditEntry;
}

export async function* exportLines(log: AuditLog, tenantId: string): AsyncGenerator<string> {
  let head: AuditHead = { seq: 0, hash: '0'.repeat(64) };
  for await (const row of log.read(tenantId)) {
    if (!row.entry) {
      throw new ClawError('AUDIT_ENTRY_UNREADABLE', `audit entry ${row.seq} of tenant '${tenantId}' does not decrypt`, { hint: `run 'claw audit verify --tenant ${tenantId}'; the log was tampered with or the key was shredded` });
    }
    yield JSON.stringify({ seq: row.seq, prevHash: row.prevHash, hash: row.hash, entry: row.entry } satisfies ExportLine);
    head = { seq: row.seq, hash: row.hash };
  }
  yield JSON.stringify({ head, tenantId });
}

/** An export read back: its entries in file order and the head it closed with. */
export function parseExport(text: string): { chain: ExportLine[]; head?: AuditHead } {
  const chain: ExportLine[] = [];
  let head: AuditHead | undefined;
  text.split('\n').filter((l) => l.trim()).forEach((line, i) => {
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new ClawError('AUDIT_EXPORT_INVALID', `line ${i + 1} of the export is not JSON`, { hint: "the file is what 'claw audit export' writes: one JSON object per line" });
    }
    if (value.head) head = value.head as AuditHead;
    else chain.push(value as unknown as ExportLine);
  });
  return { chain, ...(head ? { head } : {}) };
}
