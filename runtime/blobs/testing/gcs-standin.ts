/**
 * A loopback STAND-IN for the Cloud Storage JSON API (not GCS, not an emulator of all of
 * it): the subset GcsBlobStore uses, with the rules that matter to it.
 *
 * - POST /upload/storage/v1/b/{bucket}/o?uploadType=resumable&name=N → 200, Location: session URI
 * - PUT  <session> with Content-Range `bytes a-b/*` (non-final: length a multiple of 256 KiB,
 *   `a` must equal the bytes persisted so far) → 308 with `Range: bytes=0-b`;
 *   `bytes a-b/T` or `bytes &ast;/T` (final) → 200 with the object resource. The object
 *   becomes visible only then. DELETE <session> → 499 (cancelled).
 * - GET  /storage/v1/b/{bucket}/o/{object}?alt=media → the bytes, 404 when missing
 * - GET  /storage/v1/b/{bucket}/o?prefix=P&pageToken=T&maxResults=M → { items: [{ name, size }], nextPageToken }
 * - DELETE /storage/v1/b/{bucket}/o/{object} → 204, 404 when missing
 * - every request needs `Authorization: Bearer <token>` (401 otherwise); unknown buckets are 404.
 *
 * Listens on 127.0.0.1, port 0; objects are kept in memory. `objects` gives tests raw access.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

const QUANTUM = 256 * 1024;

export interface GcsStandin {
  baseUrl: string;
  token: string;
  /** bucket → object name → bytes (raw access for tests). */
  buckets: Map<string, Map<string, Buffer>>;
  createBucket(name: string): void;
  /** Requests seen, method and path (no bodies, no headers with the token). */
  requests: { method: string; path: string; query: Record<string, string>; contentRange?: string; bytes: number }[];
  stop(): Promise<void>;
}

interface Session {
  bucket: string;
  name: string;
  chunks: Buffer[];
  persisted: number;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function fail(res: ServerResponse, status: number, message: string): void {
  json(res, status, { error: { code: status, message, errors: [{ message }] } });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startGcsStandin(options: { pageSize?: number } = {}): Promise<GcsStandin> {
  const token = `standin-${randomUUID()}`;
  const buckets = new Map<string, Map<string, Buffer>>();
  const sessions = new Map<string, Session>();
  const requests: GcsStandin['requests'] = [];
  const pageSize = options.pageSize ?? 1000;
  let baseUrl = '';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    requests.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), ...(req.headers['content-range'] ? { contentRange: String(req.headers['content-range']) } : {}), bytes: body.length });
    if (req.headers.authorization !== `Bearer ${token}`) return fail(res, 401, 'Anonymous caller does not have storage.objects access.');

    // Resumable session URIs.
    const sessionMatch = /^\/upload\/session\/([\w-]+)$/.exec(url.pathname);
    if (sessionMatch) {
      const session = sessions.get(sessionMatch[1]!);
      if (!session) return fail(res, 404, 'No such upload session.');
      if (req.method === 'DELETE') {
        sessions.delete(sessionMatch[1]!);
        res.writeHead(499).end();
        return;
      }
      if (req.method !== 'PUT') return fail(res, 405, 'method not allowed');
      const range = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(String(req.headers['content-range'] ?? ''));
      if (!range) return fail(res, 400, 'Content-Range is missing or invalid.');
      const total = range[3] === '*' ? undefined : Number(range[3]);
      if (range[1] !== undefined) {
        const first = Number(range[1]);
        const last = Number(range[2]);
        if (first !== session.persisted) return fail(res, 400, `chunk starts at ${first}, expected ${session.persisted}`);
        if (last - first + 1 !== body.length) return fail(res, 400, 'Content-Range does not match the body length.');
        if (total === undefined && body.length % QUANTUM !== 0) return fail(res, 400, 'non-final chunks must be a multiple of 256 KiB');
        session.chunks.push(body);
        session.persisted += body.length;
      } else if (body.length !== 0) return fail(res, 400, "'bytes */T' carries no body");
      if (total === undefined) {
        res.writeHead(308, session.persisted > 0 ? { range: `bytes=0-${session.persisted - 1}` } : {}).end();
        return;
      }
      if (total !== session.persisted) return fail(res, 400, `total ${total} does not match ${session.persisted} bytes received`);
      const objects = buckets.get(session.bucket);
      if (!objects) return fail(res, 404, 'The specified bucket does not exist.');
      objects.set(session.name, Buffer.concat(session.chunks));
      sessions.delete(sessionMatch[1]!);
      return json(res, 200, { kind: 'storage#object', bucket: session.bucket, name: session.name, size: String(total) });
    }

    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (upload && req.method === 'POST') {
      const bucket = decodeURIComponent(upload[1]!);
      if (!buckets.has(bucket)) return fail(res, 404, 'The specified bucket does not exist.');
      if (url.searchParams.get('uploadType') !== 'resumable') return fail(res, 400, 'only uploadType=resumable is supported by this stand-in');
      let name = url.searchParams.get('name') ?? undefined;
      if (!name && body.length > 0) name = (JSON.parse(body.toString('utf8')) as { name?: string }).name;
      if (!name) return fail(res, 400, 'Required parameter: name');
      const id = randomUUID();
      sessions.set(id, { bucket, name, chunks: [], persisted: 0 });
      res.writeHead(200, { location: `${baseUrl}/upload/session/${id}`, 'content-length': 0 }).end();
      return;
    }

    const object = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
    if (object) {
      const objects = buckets.get(decodeURIComponent(object[1]!));
      if (!objects) return fail(res, 404, 'The specified bucket does not exist.');
      const name = decodeURIComponent(object[2]!);
      const bytes = objects.get(name);
      if (req.method === 'GET') {
        if (!bytes) return fail(res, 404, `No such object: ${name}`);
        if (url.searchParams.get('alt') !== 'media') return json(res, 200, { kind: 'storage#object', name, size: String(bytes.length) });
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
        // Stream in pieces like a real server would.
        for (let at = 0; at < bytes.length; at += 64 * 1024) {
          if (!res.write(bytes.subarray(at, at + 64 * 1024))) await new Promise((r) => res.once('drain', r));
        }
        res.end();
        return;
      }
      if (req.method === 'DELETE') {
        if (!bytes) return fail(res, 404, `No such object: ${name}`);
        objects.delete(name);
        res.writeHead(204).end();
        return;
      }
      return fail(res, 405, 'method not allowed');
    }

    const list = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (list && req.method === 'GET') {
      const objects = buckets.get(decodeURIComponent(list[1]!));
      if (!objects) return fail(res, 404, 'The specified bucket does not exist.');
      const prefix = url.searchParams.get('prefix') ?? '';
      const names = [...objects.keys()].filter((n) => n.startsWith(prefix)).sort();
      const start = Number(url.searchParams.get('pageToken') ?? 0);
      const max = Math.min(Number(url.searchParams.get('maxResults') ?? pageSize), pageSize);
      const page = names.slice(start, start + max);
      return json(res, 200, {
        kind: 'storage#objects',
        items: page.map((name) => ({ name, size: String(objects.get(name)!.length) })),
        ...(start + max < names.length ? { nextPageToken: String(start + max) } : {}),
      });
    }
    return fail(res, 404, `not found: ${req.method} ${url.pathname}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) fail(res, 500, (err as Error).message);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref(); // never keeps a test process alive
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    token,
    buckets,
    requests,
    createBucket: (name) => void (buckets.has(name) || buckets.set(name, new Map())),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
