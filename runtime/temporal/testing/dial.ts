/**
 * A process that dials Temporal the way the gateway does (connectTemporal with the API
 * key from TEMPORAL_API_KEY, as runtime/process-config.ts reads it) and prints one JSON line:
 * `{ ok: true }` or `{ ok: false, code }`. For connection.int.test.ts, which runs it with
 * GRPC_DEFAULT_SSL_ROOTS_FILE_PATH so the client trusts a loopback TLS stand-in (grpc-js reads it once).
 */
import { isClawError } from '../../../core/errors.js';
import { connectTemporal } from '../connection.js';

const address = process.env.TEMPORAL_ADDRESS!;
const apiKey = process.env.TEMPORAL_API_KEY || undefined;
try {
  const connection = await connectTemporal(address, { connectTimeoutMs: 2_000, ...(apiKey ? { apiKey } : {}) });
  await connection.close();
  console.log(JSON.stringify({ ok: true }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, code: isClawError(err) ? err.code : 'OTHER' }));
}
