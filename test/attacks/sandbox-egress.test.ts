/**
 * Attacks from inside a program tool's sandbox (real bubblewrap, real egress proxy, a real
 * HTTP server on the host's loopback standing in for the local store and Temporal). Each
 * test performs the attack and asserts it fails. No traffic leaves this machine: refused
 * destinations (169.254.169.254, 10.0.0.1, other hosts) are refused by the proxy before it
 * resolves or connects anything, which the tests assert.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BubblewrapSandbox } from '../../runtime/sandbox/bubblewrap.js';

const sandbox = new BubblewrapSandbox();
const available = sandbox.available();
if (!available) console.log('sandbox attack tests skipped: bubblewrap (/usr/bin/bwrap) is not installed; npm run setup installs it');

let hostServer: Server;
let hostPort: number;
const hits: string[] = [];

beforeAll(async () => {
  hostServer = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end('hello from the host');
  });
  await new Promise<void>((r) => hostServer.listen(0, '127.0.0.1', () => r()));
  hostPort = (hostServer.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => hostServer.close(() => r())));

const python = (code: string) => ['/usr/bin/python3', '-c', code];

/** In the sandbox: CONNECT through the proxy to host:port; prints the status or the error. */
const tunnel = (host: string, port: number) =>
  python(`
import http.client
c = http.client.HTTPConnection('127.0.0.1', 3128, timeout=5)
c.set_tunnel(${JSON.stringify(host)}, ${port})
try:
    c.connect(); print('connected')
except OSError as e:
    print('refused:', e)
`);

describe.runIf(available)('attacks from a program tool sandbox', () => {
  it('a tool allowed api.github.com cannot connect to the host loopback (the local store, Temporal) directly', async () => {
    const out = await sandbox.run({
      command: python(`
import socket
s = socket.socket()
s.settimeout(3)
try:
    s.connect(('127.0.0.1', ${hostPort})); print('connected')
except OSError as e:
    print('refused:', e.__class__.__name__)
`),
      args: {},
      egress: { allow: ['api.github.com'] },
    });
    expect(out.value).toBe('refused: ConnectionRefusedError');
    expect(hits).toEqual([]);
  });

  it('a tool allowed api.github.com cannot tunnel to 127.0.0.1, 169.254.169.254, 10.0.0.1 or another host', async () => {
    const resolved: string[] = [];
    for (const [host, port] of [['127.0.0.1', hostPort], ['169.254.169.254', 80], ['10.0.0.1', 443], ['example.org', 443], ['localhost', hostPort]] as const) {
      const out = await sandbox.run({ command: tunnel(host, port), args: {}, egress: { allow: ['api.github.com'], resolve: async (h) => (resolved.push(h), ['140.82.112.6']) } });
      expect(String(out.value), host).toMatch(/^refused: Tunnel connection failed: 403/);
      expect(out.egressDenied, host).toEqual([{ host, port, reason: 'not-allowed' }]);
    }
    expect(resolved).toEqual([]); // refused before any lookup, so before any connection
    expect(hits).toEqual([]);
  });

  it('an allowed name that resolves to an internal address (DNS rebinding, metadata) is refused', async () => {
    for (const address of ['10.0.0.1', '169.254.169.254', '127.0.0.1']) {
      const out = await sandbox.run({ command: tunnel('api.github.com', 443), args: {}, egress: { allow: ['api.github.com'], resolve: async () => ['140.82.112.6', address] } });
      expect(String(out.value)).toMatch(/^refused: Tunnel connection failed: 403/);
      expect(out.egressDenied).toEqual([{ host: 'api.github.com', port: 443, reason: 'private-address', address }]);
    }
  });

  it('allowed traffic still flows: a host declared as its IP literal is reached through the proxy', async () => {
    const out = await sandbox.run({
      command: python(`
import urllib.request
print(urllib.request.urlopen('http://127.0.0.1:${hostPort}/allowed', timeout=5).read().decode())
`),
      args: {},
      egress: { allow: ['127.0.0.1'] },
    });
    expect(out.value).toBe('hello from the host');
    expect(hits).toEqual(['/allowed']);
    expect(out.egressDenied).toBeUndefined();
  });

  it("a tool's secret is in its environment but on no process's command line", async () => {
    const secret = `sk-attack-${Date.now()}`;
    const running = sandbox.run({ command: ['/bin/sh', '-c', 'sleep 1; printf %s "$TOKEN" | wc -c'], args: {}, secrets: { TOKEN: secret } });
    await new Promise((r) => setTimeout(r, 400));
    const leaked = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(secret);
        } catch {
          return false;
        }
      });
    expect(leaked).toEqual([]);
    expect(Number((await running).value)).toBe(secret.length);
  });

  it('a tool cannot make a new user namespace to regain capabilities', async () => {
    const out = await sandbox.run({ command: ['/bin/sh', '-c', 'unshare -U true 2>&1 && echo made || echo refused'], args: {} });
    expect(String(out.value)).toMatch(/refused$/);
  });
});
