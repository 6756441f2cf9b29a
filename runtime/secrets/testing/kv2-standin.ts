/**
 * A STAND-IN for OpenBao/Vault, for tests only: a loopback HTTP server speaking the subset
 * of the KV v2 API that VaultSecretStore uses (data read/write, metadata list/read/delete,
 * Kubernetes login), with per-token mount grants and namespaces. It is not Vault: no
 * barrier encryption, no leases, no policies language. It exists because no OpenBao/Vault
 * binary is installed here; the adapter speaks the documented HTTP API, nothing else.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Kv2StandIn {
  address: string;
  /** Everything stored: `${namespace}|${mount}|${name}` -> versions of data. */
  stored: Map<string, Record<string, unknown>[]>;
  requests: { method: string; path: string; namespace?: string }[];
  stop(): Promise<void>;
}

export async function startKv2StandIn(options: {
  /** token -> mounts it may use (`*` for all). */
  tokens: Record<string, string[]>;
  /** Kubernetes login: role -> token handed out when the JWT equals `jwt`. */
  kubernetes?: { role: string; jwt: string; token: string };
  /** Mounts that exist (per namespace key `${namespace ?? ''}|${mount}`); others answer 404 like a missing mount. */
  mounts: string[];
}): Promise<Kv2StandIn> {
  const stored = new Map<string, Record<string, unknown>[]>();
  /** When each key's current version was written (KV v2 metadata `updated_time`). */
  const updated = new Map<string, string>();
  const requests: Kv2StandIn['requests'] = [];
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  };
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const namespace = (req.headers['x-vault-namespace'] as string | undefined) ?? '';
    requests.push({ method: req.method ?? '', path: url.pathname, ...(namespace ? { namespace } : {}) });
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const body = await readBody(req);
    const login = /^\/v1\/auth\/([^/]+)\/login$/.exec(url.pathname);
    if (login && req.method === 'POST') {
      const k = options.kubernetes;
      if (k && body?.role === k.role && body?.jwt === k.jwt) return send(200, { auth: { client_token: k.token } });
      return send(403, { errors: ['permission denied'] });
    }
    const token = req.headers['x-vault-token'] as string | undefined;
    const m = /^\/v1\/([^/]+)\/(data|metadata)\/(.*)$/.exec(url.pathname);
    if (!m) return send(404, { errors: [] });
    const [, mount, kind, rawName] = m as unknown as [string, string, string, string];
    const grants = token ? options.tokens[token] : undefined;
    if (!grants || !(grants.includes('*') || grants.includes(`${namespace}|${mount}`))) return send(403, { errors: ['permission denied'] });
    if (!options.mounts.includes(`${namespace}|${mount}`)) return send(404, { errors: [`no handler for route "${mount}"`] });
    const name = decodeURIComponent(rawName);
    const key = `${namespace}|${mount}|${name}`;
    if (kind === 'data' && req.method === 'POST') {
      const versions = stored.get(key) ?? [];
      versions.push(body.data);
      stored.set(key, versions);
      updated.set(key, new Date().toISOString());
      return send(200, { data: { version: versions.length } });
    }
    if (kind === 'data' && req.method === 'GET') {
      const versions = stored.get(key);
      if (!versions?.length) return send(404, { errors: [] });
      return send(200, { data: { data: versions[versions.length - 1], metadata: { version: versions.length } } });
    }
    if (kind === 'metadata' && req.method === 'GET' && url.searchParams.get('list') === 'true') {
      const prefix = `${namespace}|${mount}|${name}`;
      const keys = [...stored.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
      if (keys.length === 0) return send(404, { errors: [] });
      return send(200, { data: { keys } });
    }
    if (kind === 'metadata' && req.method === 'GET') {
      const versions = stored.get(key);
      return versions ? send(200, { data: { current_version: versions.length, updated_time: updated.get(key) } }) : send(404, { errors: [] });
    }
    if (kind === 'metadata' && req.method === 'DELETE') {
      stored.delete(key);
      return send(204);
    }
    return send(405, { errors: ['unsupported'] });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    stored,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
