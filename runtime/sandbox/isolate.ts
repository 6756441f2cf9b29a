/**
 * JavaScript tools in V8 isolates (`isolated-vm`, the build for this Node: ivm.ts), DESIGN.md invariant 4.
 *
 * Each call gets a fresh isolate (from a warm pool when the memory limit matches) that
 * is disposed afterwards, so nothing survives from one call to the next. Inside: the
 * ECMAScript built-ins, `console.log` (captured, bounded) and the host functions the
 * executor grants (e.g. `fetch` for a tool with egress), each a `Callback` whose
 * arguments and results are copied — no `Reference` ever enters the isolate, so the code
 * cannot reach a host object. No `process`, `require`, file system, network or timers.
 *
 * Limits: heap (`memoryMb`, the isolate is killed at the limit), CPU time (a watchdog
 * polls `isolate.cpuTime`; synchronous code also gets V8's own timeout) and wall time
 * (a timer disposes the isolate). A limit ends the call with a clear error; the host
 * process and the other isolates carry on.
 *
 * Node 20: isolated-vm 5 documents `--no-node-snapshot` for Node >= 20. On this
 * machine's Node 20.20 isolates run without it (checked by the tests, which run under
 * vitest without the flag); if a Node build crashes on `new Isolate`, start the worker
 * with `node --no-node-snapshot`.
 */
import ivm from './ivm.js';
import type ivmTypes from 'isolated-vm';

export type HostFunction = (...args: unknown[]) => unknown | Promise<unknown>;

export interface IsolateJob {
  /** Source that defines `async function run(args, secrets)` (or a sync one). */
  code: string;
  args: unknown;
  /** Copied into the isolate as the second argument of `run`. */
  secrets?: Record<string, string>;
  memoryMb?: number;
  /** Wall-clock limit of the whole call. */
  timeoutMs?: number;
  /** CPU-time limit (defaults to the wall limit). */
  cpuMs?: number;
  /** Host functions granted to this call, installed as globals. */
  hostFunctions?: Record<string, HostFunction>;
}

export type IsolateErrorCode =
  | 'SANDBOX_TIMEOUT'
  | 'SANDBOX_CPU_LIMIT'
  | 'SANDBOX_MEMORY_LIMIT'
  | 'SANDBOX_TOOL_ERROR'
  | 'SANDBOX_BAD_TOOL'
  | 'SANDBOX_RESULT_TOO_LARGE';

export interface IsolateOutcome {
  ok: boolean;
  value?: unknown;
  error?: { code: IsolateErrorCode; message: string };
  logs: string[];
  cpuMs: number;
  wallMs: number;
  /** Heap in use by the isolate at the end of the call. */
  heapBytes?: number;
}

const DEFAULT_MEMORY_MB = 64;
const DEFAULT_TIMEOUT_MS = 5_000;
const MAX_RESULT_BYTES = 1_048_576;
const MAX_LOG_LINES = 200;
const MAX_LOG_LINE = 4_096;

interface Warm {
  isolate: ivmTypes.Isolate;
  context: ivmTypes.Context;
  memoryMb: number;
}

export interface IsolateSandboxOptions {
  /** Isolates kept ready per memory size (0 disables the pool). */
  poolSize?: number;
  /** The memory size the pool pre-creates. */
  poolMemoryMb?: number;
}

export class IsolateSandbox {
  private readonly pool: Warm[] = [];
  private readonly poolSize: number;
  private readonly poolMemoryMb: number;
  private refilling = false;
  private closed = false;

  constructor(options: IsolateSandboxOptions = {}) {
    this.poolSize = options.poolSize ?? 2;
    this.poolMemoryMb = options.poolMemoryMb ?? DEFAULT_MEMORY_MB;
  }

  /** Fill the warm pool now (the worker calls this at start). */
  async warm(): Promise<void> {
    while (!this.closed && this.pool.length < this.poolSize) this.pool.push(await createWarm(this.poolMemoryMb));
  }

  /** An isolate with a fresh context: from the pool when it fits, else created now (cold). */
  async acquire(memoryMb = this.poolMemoryMb): Promise<Warm> {
    const warm = memoryMb === this.poolMemoryMb ? this.pool.shift() : undefined;
    this.refill();
    return warm ?? createWarm(memoryMb);
  }

  private refill(): void {
    if (this.refilling || this.closed || this.poolSize === 0) return;
    this.refilling = true;
    setImmediate(() => {
      this.warm()
        .catch(() => undefined)
        .finally(() => {
          this.refilling = false;
        });
    });
  }

  async run(job: IsolateJob): Promise<IsolateOutcome> {
    const memoryMb = job.memoryMb ?? DEFAULT_MEMORY_MB;
    const wallLimit = job.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const cpuLimit = job.cpuMs ?? wallLimit;
    const { isolate, context } = await this.acquire(memoryMb);
    const logs: string[] = [];
    const started = performance.now();
    const cpuStart = isolate.cpuTime;
    let killed: IsolateErrorCode | undefined;
    const kill = (why: IsolateErrorCode) => {
      if (killed || isolate.isDisposed) return;
      killed = why;
      isolate.dispose();
    };
    const wallTimer = setTimeout(() => kill('SANDBOX_TIMEOUT'), wallLimit);
    const cpuWatch = setInterval(() => {
      if (!isolate.isDisposed && Number(isolate.cpuTime - cpuStart) / 1e6 > cpuLimit) kill('SANDBOX_CPU_LIMIT');
    }, Math.max(2, Math.min(20, Math.floor(cpuLimit / 10))));
    const outcome = (rest: Omit<IsolateOutcome, 'logs' | 'cpuMs' | 'wallMs'>): IsolateOutcome => ({
      ...rest,
      logs,
      cpuMs: isolate.isDisposed ? cpuLimit : Number(isolate.cpuTime - cpuStart) / 1e6,
      wallMs: performance.now() - started,
    });
    try {
      await installGlobals(context, logs, job.hostFunctions ?? {});
      const script = await isolate.compileScript(job.code, { filename: 'tool.js' });
      await script.run(context, { timeout: cpuLimit });
      const hasRun = await context.eval('typeof run === "function"', { timeout: cpuLimit });
      if (!hasRun) return outcome({ ok: false, error: { code: 'SANDBOX_BAD_TOOL', message: 'the tool code does not define a function run(args, secrets)' } });
      const value: unknown = await context.evalClosure(
        'return Promise.resolve(run($0, $1)).then((v) => JSON.stringify(v === undefined ? null : v))',
        [job.args ?? {}, job.secrets ?? {}],
        { arguments: { copy: true }, result: { promise: true, copy: true }, timeout: cpuLimit },
      );
      if (typeof value !== 'string') throw new Error('the tool returned no value');
      if (Buffer.byteLength(value) > MAX_RESULT_BYTES) {
        return outcome({ ok: false, error: { code: 'SANDBOX_RESULT_TOO_LARGE', message: `the tool returned more than ${MAX_RESULT_BYTES} bytes` } });
      }
      const heap = isolate.isDisposed ? undefined : (await isolate.getHeapStatistics()).used_heap_size;
      return outcome({ ok: true, value: JSON.parse(value), heapBytes: heap });
    } catch (err) {
      return outcome({ ok: false, error: classify(err, killed, { memoryMb, wallLimit, cpuLimit }) });
    } finally {
      clearTimeout(wallTimer);
      clearInterval(cpuWatch);
      if (!isolate.isDisposed) isolate.dispose();
    }
  }

  close(): void {
    this.closed = true;
    for (const warm of this.pool.splice(0)) if (!warm.isolate.isDisposed) warm.isolate.dispose();
  }
}

/**
 * Install console and the granted host functions before the tool's code runs. Only
 * plain functions (ivm Callbacks) and strings cross the boundary: a host function is
 * started by a Callback with JSON arguments, and settles the isolate-side promise through
 * a Reference the host holds (the isolate never holds one), with a JSON result. Whatever
 * the tool does to its own built-ins afterwards cannot reach a host object.
 */
async function installGlobals(context: ivmTypes.Context, logs: string[], hostFunctions: Record<string, HostFunction>): Promise<void> {
  const log = new ivm.Callback((...parts: unknown[]) => {
    if (logs.length < MAX_LOG_LINES) logs.push(parts.map((p) => (typeof p === 'string' ? p : safeJson(p))).join(' ').slice(0, MAX_LOG_LINE));
  });
  let settle: ivmTypes.Reference<(id: number, ok: boolean, json: string) => void> | undefined;
  const start = new ivm.Callback((name: string, id: number, argsJson: string) => {
    const fn = hostFunctions[name];
    const reply = (ok: boolean, json: string) => {
      settle?.apply(undefined, [id, ok, json], { arguments: { copy: true } }).catch(() => undefined); // the isolate may be gone
    };
    Promise.resolve()
      .then(() => fn!(...(JSON.parse(argsJson) as unknown[])))
      .then(
        (value) => reply(true, JSON.stringify(value === undefined ? null : value)),
        (err: unknown) => reply(false, err instanceof Error ? err.message : String(err)),
      );
  });
  settle = await context.evalClosure(
    `const [log, start, names] = [$0, $1, $2];
     const pending = new Map();
     let seq = 0;
     globalThis.console = Object.freeze({ log, info: log, warn: log, error: log, debug: log });
     for (const name of names) {
       globalThis[name] = (...args) => new Promise((resolve, reject) => {
         const id = ++seq;
         pending.set(id, { resolve, reject });
         start(name, id, JSON.stringify(args));
       });
     }
     return (id, ok, json) => {
       const p = pending.get(id);
       if (!p) return;
       pending.delete(id);
       if (ok) p.resolve(JSON.parse(json)); else p.reject(new Error(json));
     };`,
    [log, start, Object.keys(hostFunctions)],
    { arguments: { copy: true }, result: { reference: true } },
  );
}

async function createWarm(memoryMb: number): Promise<Warm> {
  const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
  const context = await isolate.createContext();
  return { isolate, context, memoryMb };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function classify(err: unknown, killed: IsolateErrorCode | undefined, limits: { memoryMb: number; wallLimit: number; cpuLimit: number }): { code: IsolateErrorCode; message: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (/memory limit/i.test(message)) {
    return { code: 'SANDBOX_MEMORY_LIMIT', message: `the tool exceeded its memory limit of ${limits.memoryMb} MB and was stopped` };
  }
  if (killed === 'SANDBOX_TIMEOUT') return { code: killed, message: `the tool ran longer than its ${limits.wallLimit} ms time limit and was stopped` };
  if (killed === 'SANDBOX_CPU_LIMIT' || /timed out/i.test(message)) {
    return { code: 'SANDBOX_CPU_LIMIT', message: `the tool used more than its ${limits.cpuLimit} ms of CPU time and was stopped` };
  }
  if (killed) return { code: killed, message: `the tool was stopped (${killed})` };
  if (/could not be cloned|non-transferable/i.test(message)) {
    return { code: 'SANDBOX_TOOL_ERROR', message: `the tool returned a value that is not JSON: ${message}` };
  }
  const name = err instanceof Error && err.name && err.name !== 'Error' ? `${err.name}: ` : '';
  return { code: 'SANDBOX_TOOL_ERROR', message: `${name}${message}`.slice(0, 2_000) };
}
