import { afterAll, describe, expect, it } from 'vitest';
import { IsolateSandbox } from './isolate.js';

const sandbox = new IsolateSandbox({ poolSize: 2 });
afterAll(() => sandbox.close());

const HEALTHY = 'async function run(args) { return { sum: args.a + args.b }; }';

/** After every hostile tool, a normal one still runs in the same process. */
async function stillHealthy() {
  const out = await sandbox.run({ code: HEALTHY, args: { a: 2, b: 3 } });
  expect(out).toMatchObject({ ok: true, value: { sum: 5 } });
}

describe('IsolateSandbox', () => {
  it('runs a tool with its arguments and secrets, capturing console output', async () => {
    const out = await sandbox.run({
      code: 'async function run(args, secrets) { console.log("got", args.n); return { n: args.n * 2, hasKey: secrets.KEY.length }; }',
      args: { n: 21 },
      secrets: { KEY: 'abcd' },
    });
    expect(out).toMatchObject({ ok: true, value: { n: 42, hasKey: 4 }, logs: ['got 21'] });
    expect(out.heapBytes).toBeGreaterThan(0);
  });

  it('stops while(true){} at the CPU limit with a clear error', async () => {
    const out = await sandbox.run({ code: 'function run() { while (true) {} }', args: {}, cpuMs: 300, timeoutMs: 5_000 });
    expect(out.ok).toBe(false);
    expect(out.error?.code).toBe('SANDBOX_CPU_LIMIT');
    expect(out.error?.message).toBe('the tool used more than its 300 ms of CPU time and was stopped');
    expect(out.wallMs).toBeLessThan(2_000);
    await stillHealthy();
  });

  it('stops an endless loop that starts after an await (past V8 sync timeout) by the watchdog', async () => {
    const out = await sandbox.run({ code: 'async function run() { await null; for (;;) {} }', args: {}, timeoutMs: 300 });
    expect(out.ok).toBe(false);
    expect(['SANDBOX_CPU_LIMIT', 'SANDBOX_TIMEOUT']).toContain(out.error?.code);
    await stillHealthy();
  });

  it('stops a heap bomb at the memory limit', async () => {
    const out = await sandbox.run({
      code: 'function run() { const a = []; for (;;) a.push(new Array(100000).fill("x".repeat(10))); }',
      args: {},
      memoryMb: 16,
      timeoutMs: 10_000,
    });
    expect(out.ok).toBe(false);
    expect(out.error).toEqual({ code: 'SANDBOX_MEMORY_LIMIT', message: 'the tool exceeded its memory limit of 16 MB and was stopped' });
    await stillHealthy();
  });

  for (const [name, code, expected] of [
    ['process', 'function run() { return process.env; }', /ReferenceError: process is not defined/],
    ['require', 'function run() { return require("child_process").execSync("id").toString(); }', /ReferenceError: require is not defined/],
    ['fetch', 'async function run() { return (await fetch("http://127.0.0.1:1/")).status; }', /ReferenceError: fetch is not defined/],
    ['timers', 'function run() { setTimeout(() => {}, 10); }', /ReferenceError: setTimeout is not defined/],
    ['dynamic import', 'async function run() { return await import("node:fs"); }', /import|not supported|module/i],
    // The classic vm/vm2 escape: climb to the Function constructor and ask for `process`.
    ['constructor escape', 'function run() { return this.constructor.constructor("return process")().mainModule.require("fs"); }', /process is not defined/],
    ['console escape', 'function run() { return console.log.constructor("return process")(); }', /process is not defined/],
  ] as const) {
    it(`contains ${name}`, async () => {
      const out = await sandbox.run({ code, args: {} });
      expect(out.ok).toBe(false);
      expect(out.error?.code).toBe('SANDBOX_TOOL_ERROR');
      expect(out.error?.message).toMatch(expected);
      await stillHealthy();
    });
  }

  it('leaks no isolated-vm Reference, Callback internals or host object into the isolate', async () => {
    // Known isolated-vm escape: a host Reference inside the isolate lets code call
    // ref.deref()/ref.get("constructor") on a host object. Look for anything shaped like one.
    const out = await sandbox.run({
      code: `function run() {
        const found = [];
        const seen = new Set();
        const visit = (v, path, depth) => {
          if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v) || v === WeakRef.prototype || depth > 4) return;
          seen.add(v);
          for (const k of ['deref', 'derefInto', 'applySync', 'applyIgnored', 'copyInto', 'typeof']) {
            try { if (typeof v[k] === 'function' || (k === 'typeof' && typeof v[k] === 'string')) found.push(path + '.' + k); } catch {}
          }
          for (const key of Reflect.ownKeys(v)) {
            let child; try { child = v[key]; } catch { continue; }
            visit(child, path + '.' + String(key), depth + 1);
          }
        };
        visit(globalThis, 'globalThis', 0);
        const fn = console.log;
        return { found, consoleFnProto: Object.getPrototypeOf(fn) === Function.prototype, hostProcess: (() => { try { return typeof fn.constructor('return process')(); } catch (e) { return String(e); } })(), globals: Object.getOwnPropertyNames(globalThis).filter((n) => /^(process|require|module|global|Buffer|fetch|setTimeout|setInterval|ivm|_ivm)$/.test(n)) };
      }`,
      args: {},
      hostFunctions: { lookup: async (x: unknown) => ({ echoed: x }) },
    });
    expect(out.ok).toBe(true);
    expect(out.value).toEqual({ found: [], consoleFnProto: true, hostProcess: 'ReferenceError: process is not defined', globals: [] });
  });

  it('calls only the host functions granted, with copied arguments and results', async () => {
    const calls: unknown[] = [];
    const out = await sandbox.run({
      code: 'async function run(args) { const r = await lookup({ q: args.q }); r.mutated = true; return { r, other: typeof fetch }; }',
      args: { q: 'x' },
      hostFunctions: {
        lookup: async (query: unknown) => {
          calls.push(query);
          return { answer: 42 };
        },
      },
    });
    expect(out).toMatchObject({ ok: true, value: { r: { answer: 42, mutated: true }, other: 'undefined' } });
    expect(calls).toEqual([{ q: 'x' }]);
  });

  it('keeps host functions safe from a tool that poisons its own built-ins first', async () => {
    const out = await sandbox.run({
      code: `async function run() {
        const grabbed = [];
        Object.defineProperty(Object.prototype, 'reference', { get() { grabbed.push('reference'); return true; }, configurable: true });
        Function.prototype.call = function (...a) { grabbed.push(a[0]); return 0; };
        Function.prototype.apply = function (t, a) { grabbed.push(t); return 0; };
        const r = await lookup('x');
        let failed; try { await broken(); } catch (e) { failed = e.message; }
        return { r, failed, leaked: grabbed.map((g) => typeof g === 'object' && g && typeof g.apply === 'function' && typeof g.deref === 'function') };
      }`,
      args: {},
      hostFunctions: { lookup: (q: unknown) => ({ q }), broken: () => { throw new Error('host says no'); } },
    });
    expect(out.ok).toBe(true);
    const value = out.value as { r: unknown; failed: string; leaked: boolean[] };
    expect(value.r).toEqual({ q: 'x' });
    expect(value.failed).toBe('host says no');
    expect(value.leaked.every((l) => l === false)).toBe(true);
  });

  it('stops a tool that waits forever at the wall-time limit', async () => {
    const out = await sandbox.run({ code: 'function run() { return new Promise(() => {}); }', args: {}, timeoutMs: 200 });
    expect(out.error?.code).toBe('SANDBOX_TIMEOUT');
    await stillHealthy();
  });

  it('rejects code without run() and reports syntax errors', async () => {
    expect((await sandbox.run({ code: 'const x = 1;', args: {} })).error?.code).toBe('SANDBOX_BAD_TOOL');
    const bad = await sandbox.run({ code: 'function run( {', args: {} });
    expect(bad.error?.code).toBe('SANDBOX_TOOL_ERROR');
    expect(bad.error?.message).toMatch(/SyntaxError/);
  });

  it('gives every call a fresh global: state does not survive between calls', async () => {
    await sandbox.run({ code: 'globalThis.stash = "left behind"; function run() { return 1; }', args: {} });
    const out = await sandbox.run({ code: 'function run() { return typeof globalThis.stash; }', args: {} });
    expect(out.value).toBe('undefined');
  });
});
