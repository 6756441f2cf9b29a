/**
 * `claw audit export`: the tenant's log as JSON Lines for a SIEM. One line per entry
 * ({ seq, prevHash, hash, entry }: the entry decrypted, its hashes as chained), then one
 * closing line with the head. Everything a reader needs to re-verify the chain is in the
 * file (runtime/audit/log.ts verifyChain: sha256 over canonical JSON), and the head kept from
 * one export lets a later `claw audit verify --head` detect entries cut since.
 */
import { ClawError } from '../../core/errors.js';
import { canonical, type AuditEntry, type AuditHead, type AuditLog } from './log.js';

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

// ------------------------------------------------------------------ OTLP logs

/**
 * The same export as OTLP logs (an ExportLogsServiceRequest in OTLP/JSON, what a collector's
 * `/v1/logs` takes and SIEMs ingest): one log record per entry, its readable fields as
 * attributes (`claw.audit.actor`, `.action`, `.decision`, `.policies`, ...) and, so the file
 * still verifies on its own, the entry exactly as chained (`claw.audit.entry`, canonical
 * JSON) with its hashes; the head is a resource attribute.
 */
export async function otlpExport(log: AuditLog, tenantId: string): Promise<string> {
  const records: unknown[] = [];
  let head: AuditHead = { seq: 0, hash: '0'.repeat(64) };
  for await (const line of exportLines(log, tenantId)) {
    const value = JSON.parse(line) as ExportLine & { head?: AuditHead };
    if (value.head) {
      head = value.head;
      continue;
    }
    const e = value.entry;
    const attr = (key: string, v: string | number) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } });
    records.push({
      timeUnixNano: String(BigInt(Date.parse(e.at)) * 1_000_000n),
      severityNumber: e.decision === 'deny' ? 13 : 9,
      severityText: e.decision === 'deny' ? 'WARN' : 'INFO',
      body: { stringValue: `${e.actor.kind}:${e.actor.id} ${e.action} ${e.resource}: ${e.decision}` },
      attributes: [
        attr('claw.audit.seq', value.seq),
        attr('claw.audit.actor', `${e.actor.kind}:${e.actor.id}`),
        attr('claw.audit.action', e.action),
        attr('claw.audit.resource', e.resource),
        attr('claw.audit.decision', e.decision),
        attr('claw.audit.policies', e.determiningPolicies.join(',')),
        attr('claw.audit.prev_hash', value.prevHash),
        attr('claw.audit.hash', value.hash),
        attr('claw.audit.entry', canonical(e)),
      ],
    });
  }
  const resource = {
    attributes: [
      { key: 'service.name', value: { stringValue: 'claw' } },
      { key: 'claw.tenant', value: { stringValue: tenantId } },
      { key: 'claw.audit.head', value: { stringValue: `${head.seq}:${head.hash}` } },
    ],
  };
  return JSON.stringify({ resourceLogs: [{ resource, scopeLogs: [{ scope: { name: 'claw.audit' }, logRecords: records }] }] });
}

function parseOtlp(doc: { resourceLogs?: unknown }): { chain: ExportLine[]; head?: AuditHead } {
  type Attr = { key: string; value: { stringValue?: string; intValue?: string } };
  const get = (attrs: Attr[] | undefined, key: string) => attrs?.find((a) => a.key === key)?.value;
  const chain: ExportLine[] = [];
  let head: AuditHead | undefined;
  for (const rl of (doc.resourceLogs ?? []) as { resource?: { attributes?: Attr[] }; scopeLogs?: { logRecords?: { attributes?: Attr[] }[] }[] }[]) {
    const h = get(rl.resource?.attributes, 'claw.audit.head')?.stringValue?.split(':');
    if (h?.length === 2) head = { seq: Number(h[0]), hash: h[1]! };
    for (const record of rl.scopeLogs?.flatMap((s) => s.logRecords ?? []) ?? []) {
      const entry = get(record.attributes, 'claw.audit.entry')?.stringValue;
      if (!entry) throw new ClawError('AUDIT_EXPORT_INVALID', 'an OTLP log record has no claw.audit.entry attribute', { hint: "the file is what 'claw audit export --format otlp' writes" });
      chain.push({
        seq: Number(get(record.attributes, 'claw.audit.seq')?.intValue),
        prevHash: get(record.attributes, 'claw.audit.prev_hash')?.stringValue ?? '',
        hash: get(record.attributes, 'claw.audit.hash')?.stringValue ?? '',
        entry: JSON.parse(entry) as AuditEntry,
      });
    }
  }
  return { chain, ...(head ? { head } : {}) };
}

/** An export read back (JSON Lines or OTLP logs): its entries in file order and the head it closed with. */
export function parseExport(text: string): { chain: ExportLine[]; head?: AuditHead } {
  if (text.trimStart().startsWith('{"resourceLogs"')) return parseOtlp(JSON.parse(text) as { resourceLogs?: unknown });
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
