/**
 * The egress proxy of program tools (runtime/sandbox/egress-proxy.ts): what it adds to a
 * program tool call, against the same call in the same run.
 *
 *  - tool call: a sandboxed program fetching a loopback URL through the proxy (bridge +
 *    proxy + request), against the same sandbox running a program that makes no request
 *    and has no egress (so no proxy and no bridge);
 *  - proxy hop: one HTTP request from the host through the proxy's socket, against the same
 *    request sent directly to the loopback server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type RequestOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BubblewrapSandbox } from '../runtime/sandbox/bubblewrap.js';
import { startEgressProxy } from '../runtime/sandbox/egress-proxy.js';
import { percentile, report, sample, type Figure } from './lib.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 40);
const HOPS = Number(process.env.BENCH_HOPS ?? 500);

const server = createServer((_req, res) => res.end('ok'));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.address() as AddressInfo).port;
const sandbox = new BubblewrapSandbox();
if (!sandbox.available()) throw new Error('bubblewrap is not installed (npm run setup)');

const fetchProgram = ['/usr/bin/python3', '-c', `import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:${port}/', timeout=5).read().decode())`];
const idleProgram = ['/usr/bin/python3', '-c', `print('ok')`];
const check = await sandbox.run({ command: fetchProgram, args: {}, egress: { allow: ['127.0.0.1'] } });
if (check.value !== 'ok') throw new Error(`the proxied fetch did not work: ${JSON.stringify(check)}`);

const withEgress: number[] = [];
const without: number[] = [];
for (let i = 0; i < CALLS; i++) {
  // Interleaved, so both see the same machine.
  let t = performance.now();
  await sandbox.run({ command: fetchProgram, args: {}, egress: { allow: ['127.0.0.1'] } });
  withEgress.push(performance.now() - t);
  t = performance.now();
  await sandbox.run({ command: idleProgram, args: {} });
  without.push(performance.now() - t);
}

const dir = mkdtempSync(join(tmpdir(), 'claw-egress-bench-'));
const proxy = await startEgressProxy(join(dir, 'egress.sock'), { allow: ['127.0.0.1'] });
const get = (options: RequestOptions) =>
  new Promise<void>((resolve, reject) => request(options, (res) => res.resume().on('end', () => resolve())).on('error', reject).end());
const viaProxy = await sample(() => get({ socketPath: proxy.socketPath, path: `http://127.0.0.1:${port}/`, agent: false }), HOPS);
const direct = await sample(() => get({ host: '127.0.0.1', port, path: '/', agent: false }), HOPS);
await proxy.close();
rmSync(dir, { recursive: true, force: true });
server.close();

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const added = percentile(sorted(withEgress), 50) - percentile(sorted(without), 50);
const figures: Figure[] = [
  { name: 'program tool call with egress p50 (bridge + proxy + one request)', value: percentile(sorted(withEgress), 50), unit: 'ms', baseline: { name: 'the same sandbox, no egress, no request', value: percentile(sorted(without), 50) }, note: `${CALLS} calls each; adds ${added.toFixed(1)} ms p50 (the in-sandbox bridge is a Node process: its start-up is most of it); p99 ${percentile(sorted(withEgress), 99).toFixed(1)} vs ${percentile(sorted(without), 99).toFixed(1)} ms` },
  { name: 'one HTTP request through the proxy p50', value: percentile(viaProxy, 50), unit: 'ms', baseline: { name: 'the same request, direct', value: percentile(direct, 50) }, target: '< 5 ms', note: `${HOPS} requests; p99 ${percentile(viaProxy, 99).toFixed(2)} vs ${percentile(direct, 99).toFixed(2)} ms` },
];
report('egress', figures);
