/**
 * The egress proxy of a program tool call (local target). The sandbox has its own network
 * namespace with nothing but loopback; its only way out is this proxy, on a Unix socket
 * bind-mounted into the sandbox (and bridged to 127.0.0.1:3128 inside it, see
 * bubblewrap.ts). It speaks HTTP CONNECT (HTTPS) and absolute-URI HTTP forwarding, and
 * for every request:
 *
 * - the host must be one of the call's allowed hosts (the tool's declared `egress:` that
 *   the tenant's policies allow), compared exactly, case-insensitively; anything else is
 *   refused before any name is resolved;
 * - the proxy resolves the name itself and connects to the address it checked (no second
 *   lookup a rebinding DNS could change);
 * - loopback, link-local (169.254.0.0/16: cloud metadata), private, CGNAT, multicast and
 *   unspecified addresses are refused, unless the allowed entry is that very IP literal
 *   (or `localhost`): a name never reaches them.
 *
 * Every refusal is reported (`onDenied`) so the tool call's trace records it.
 */
import { mkdirSync, chmodSync, rmSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BlockList, connect, isIP, type Socket } from 'node:net';
import { dirname } from 'node:path';

export interface EgressDenial {
  host: string;
  port: number;
  reason: 'not-allowed' | 'private-address' | 'unresolvable' | 'bad-request';
  address?: string;
}

export interface EgressProxyOptions {
  /** Allowed hosts: names or IP literals, as declared in the tool's `egress:`. */
  allow: string[];
  /** Name resolution (tests inject one; default: the system resolver, every address). */
  resolve?: (host: string) => Promise<string[]>;
  onDenied?: (denial: EgressDenial) => void;
  /** Ports a CONNECT may reach (default 443 and 80). */
  ports?: number[];
}

/** Addresses no name may reach: where the host's own services and the cloud's metadata live. */
const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) INTERNAL.addSubnet(net, prefix, 'ipv4');
// (IPv4-mapped IPv6 is unwrapped below: a ::ffff:0:0/96 rule here would also match every IPv4 address.)
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) INTERNAL.addSubnet(net, prefix, 'ipv6');

export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isInternalAddress(mapped[1]!);
  const family = isIP(address);
  return family === 0 ? true : INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const systemResolve = async (host: string) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export interface EgressProxy {
  socketPath: string;
  denied: EgressDenial[];
  close(): Promise<void>;
}

/**
 * Every address an allowed host may be reached at, or why none: an IP literal (or
 * `localhost`) declared as such is explicitly allowed, private or not; a name is resolved
 * here, and one internal answer taints it (a rebinding resolver mixes them in). Also what a
 * pod's NetworkPolicy opens on the cloud targets (runtime/sandbox/kubernetes.ts).
 */
export async function allowedAddresses(host: string, port: number, resolve: (host: string) => Promise<string[]> = systemResolve): Promise<string[] | EgressDenial> {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (isIP(name)) return [name];
  if (name === 'localhost') return ['127.0.0.1'];
  let addresses: string[];
  try {
    addresses = await resolve(name);
  } catch {
    return { host: name, port, reason: 'unresolvable' };
  }
  if (addresses.length === 0) return { host: name, port, reason: 'unresolvable' };
  const internal = addresses.find(isInternalAddress);
  if (internal) return { host: name, port, reason: 'private-address', address: internal };
  return addresses;
}

/**
 * The CIDRs a program-tool pod's NetworkPolicy opens (runtime/sandbox/kubernetes.ts) for its allowed hosts (port 443), resolved here as
 * the local egress proxy resolves them: a name with any cluster-internal, private,
 * link-local (cloud metadata) or loopback answer opens nothing — a granted name pointed at
 * the Temporal frontend's pod IP must not open a path to it — and is reported instead.
 */
export async function egressCidrs(hosts: string[], resolve?: (host: string) => Promise<string[]>): Promise<{ cidrs: string[]; denied: EgressDenial[] }> {
  const cidrs = new Set<string>();
  const denied: EgressDenial[] = [];
  for (const host of hosts) {
    const addresses = await allowedAddresses(host, 443, resolve);
    if (!Array.isArray(addresses)) denied.push(addresses);
    else for (const a of addresses) cidrs.add(isIP(a) === 6 ? `${a}/128` : `${a}/32`);
  }
  return { cidrs: [...cidrs], denied };
}

/** Decide where a request for host:port may go: the checked address, or the denial. */
export async function checkDestination(options: EgressProxyOptions, host: string, port: number): Promise<{ address: string } | EgressDenial> {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  const allowed = options.allow.map((h) => h.toLowerCase());
  if (!allowed.includes(name)) return { host: name, port, reason: 'not-allowed' };
  if (!(options.ports ?? [443, 80]).includes(port) && !(isIP(name) || name === 'localhost')) return { host: name, port, reason: 'not-allowed' };
  const addresses = await allowedAddresses(name, port, options.resolve);
  return Array.isArray(addresses) ? { address: addresses[0]! } : addresses;
}

export async function startEgressProxy(socketPath: string, options: EgressProxyOptions): Promise<EgressProxy> {
  const denied: EgressDenial[] = [];
  const deny = (d: EgressDenial) => {
    denied.push(d);
    options.onDenied?.(d);
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => void forward(req, res));

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
      if (target.protocol !== 'http:') throw new Error('not http');
    } catch {
      deny({ host: '', port: 0, reason: 'bad-request' });
      res.writeHead(400).end('egress proxy: absolute http:// URLs or CONNECT only\n');
      return;
    }
    const port = Number(target.port || 80);
    const decision = await checkDestination(options, target.hostname, port);
    if ('reason' in decision) {
      deny(decision);
      res.writeHead(403).end(`egress proxy: ${decision.host}:${port} refused (${decision.reason})\n`);
      return;
    }
    const upstream = httpRequest(
      { host: decision.address, port, method: req.method, path: `${target.pathname}${target.search}`, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end('egress proxy: upstream failed\n')));
    req.pipe(upstream);
  }

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(req.url ?? '');
    if (!match) {
      deny({ host: '', port: 0, reason: 'bad-request' });
      client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const port = Number(match[2]);
    void checkDestination(options, match[1]!, port).then((decision) => {
      if ('reason' in decision) {
        deny(decision);
        client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\negress proxy: ${decision.host}:${port} refused (${decision.reason})\n`);
        return;
      }
      const upstream = connect({ host: decision.address, port });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.once('connect', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => (client.writable ? client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n') : client.destroy()));
      client.on('close', () => upstream.destroy());
    });
  });

  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return {
    socketPath,
    denied,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          rmSync(socketPath, { force: true });
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
