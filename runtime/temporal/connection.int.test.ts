/**
 * Temporal Cloud dialing: with TEMPORAL_API_KEY set the client speaks TLS and sends the key
 * as `authorization: Bearer <key>` on its first call; without it, plaintext and no key.
 *
 * The server is a loopback stand-in, not Temporal: an HTTP/2 TLS server (certificate from a
 * CA made here, the client process's trust roots through grpc-js's GRPC_DEFAULT_SSL_ROOTS_FILE_PATH) that records the
 * gRPC request's path and headers and answers UNAUTHENTICATED. The Temporal dev server
 * checks no API key, so it could not show the header arrives.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer, type IncomingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../../test/fixtures/claw-cli.js';
import { temporalDialOptions } from './connection.js';

const API_KEY = 'tc-api-key-loopback-test-3b1f';
let dir: string;
let server: Http2SecureServer;
let port: number;
const requests: { path: string; headers: IncomingHttpHeaders }[] = [];

function openssl(...args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'claw-temporal-tls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=claw test ca', '-keyout', 'ca.key', '-out', 'ca.crt');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName = DNS:localhost\n');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '1', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt');
  server = createSecureServer({ key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.crt')) });
  server.on('stream', (stream, headers) => {
    requests.push({ path: String(headers[':path']), headers });
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '16', 'grpc-message': 'loopback stand-in' }));
    stream.end();
  });
  server.on('sessionError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function dial(apiKey?: string): Promise<{ ok: boolean; code?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/run-ts.js', 'runtime/temporal/testing/dial.ts'], {
      cwd: REPO,
      env: { ...process.env, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: join(dir, 'ca.crt'), TEMPORAL_ADDRESS: `localhost:${port}`, TEMPORAL_API_KEY: apiKey ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!));
      } catch {
        reject(new Error(`dial printed no result: ${out}`));
      }
    });
  });
}

describe('dialing Temporal with an API key (Temporal Cloud)', () => {
  it('is TLS to the named host with authorization: Bearer <key> on the first call', async () => {
    requests.length = 0;
    const result = await dial(API_KEY);
    // The stand-in refuses every call: the client reports the platform unreachable, after sending.
    expect(result).toEqual({ ok: false, code: 'PLATFORM_NOT_RUNNING' });
    expect(requests.length).toBeGreaterThan(0);
    expect(requests[0]!.path).toBe('/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo');
    expect(requests[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('without a key dials plaintext: the TLS server sees no gRPC call and no key', async () => {
    requests.length = 0;
    expect(await dial()).toEqual({ ok: false, code: 'PLATFORM_NOT_RUNNING' });
    expect(requests).toEqual([]);
  });

  it('the Worker connection gets the same options (TLS and the key, or neither)', () => {
    expect(temporalDialOptions('ns.acct.tmprl.cloud:7233', API_KEY)).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: true, apiKey: API_KEY });
    expect(temporalDialOptions('127.0.0.1:7233')).toEqual({ address: '127.0.0.1:7233' });
  });
});
