/**
 * `claw traces query --tenant <t> "<SQL>" [--decrypt]`: one SELECT over the view `traces`
 * of that tenant only (local-lake.ts confines the engine to the tenant's directory).
 * Without --decrypt the ciphertext columns are shown as sizes; with it, `content` is
 * opened with the tenant key, which needs the row's identity (run_id, seq, kind) in the
 * result because the sealed box is bound to it.
 */
import { ClawError } from '../../core/errors.js';
import type { TenantKeyring } from '../ports.js';
import { TenantQuerySession, type QueryResult } from './local-lake.js';
import { decryptError } from './runs.js';
import { ContentOpener } from './seal.js';

export interface TraceQueryOptions {
  stateDir: string;
  tenantId: string;
  sql: string;
  decrypt?: boolean;
  keyring?: TenantKeyring;
}

const IDENTITY = ['run_id', 'seq', 'kind', 'content_key', 'content'] as const;

export async function runTraceQuery(options: TraceQueryOptions): Promise<QueryResult> {
  const session = await TenantQuerySession.open(options.stateDir, options.tenantId);
  let result: QueryResult;
  try {
    result = await session.query(options.sql);
  } finally {
    session.close();
  }
  const hasContent = result.columns.includes('content');
  if (!options.decrypt) {
    for (const row of result.rows) {
      if (row.content instanceof Uint8Array) row.content = `(sealed, ${row.content.length} bytes)`;
      if (typeof row.content_key === 'string') row.content_key = '(wrapped key)';
    }
    return result;
  }
  const missing = IDENTITY.filter((c) => !result.columns.includes(c));
  if (!hasContent || missing.length > 0) {
    throw new ClawError('TRACE_DECRYPT_NEEDS_COLUMNS', `--decrypt needs the columns ${IDENTITY.join(', ')} in the result (missing: ${missing.join(', ')})`, {
      hint: "select them, e.g. SELECT * FROM traces WHERE run_id = '...'",
    });
  }
  if (!options.keyring) throw new Error('runTraceQuery: decrypt needs a keyring');
  const crypto = await options.keyring.forTenant(options.tenantId).catch((err) => Promise.reject(decryptError(err, options.tenantId)));
  const opener = new ContentOpener(crypto);
  for (const row of result.rows) {
    if (!(row.content instanceof Uint8Array)) continue;
    try {
      row.content = await opener.open({
        tenant_id: options.tenantId,
        run_id: row.run_id as string,
        seq: row.seq as number,
        kind: row.kind as never,
        content_key: row.content_key as string,
        content: row.content,
      });
    } catch (err) {
      throw decryptError(err, options.tenantId);
    }
    row.content_key = '(wrapped key)';
  }
  return result;
}
