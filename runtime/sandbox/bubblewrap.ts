/**
 * Program tools under bubblewrap (`bwrap`), DESIGN.md invariant 4, local target.
 *
 * The program sees: /usr (and the /bin, /lib symlinks) read-only, fresh /proc, /dev and
 * /tmp, and a scratch directory per call at /scratch (its working directory and HOME),
 * deleted afterwards. All namespaces are unshared, the network always: the sandbox has
 * only its own loopback, so neither the store, Temporal nor anything else on the host is
 * reachable. A tool granted egress gets one way out: HTTP(S)_PROXY=127.0.0.1:3128, a
 * bridge (the host's Node, inside the sandbox) to the call's egress proxy on a Unix socket
 * (egress-proxy.ts: allowed hosts only, no internal addresses). Capabilities are dropped,
 * no further user namespaces may be made, the environment is built from nothing (PATH,
 * HOME, TMPDIR, the proxy, the tool's secrets) and handed to bwrap as its environment,
 * never as arguments (which any local user can read in /proc); address space, written
 * file sizes, open files and processes are capped with prlimit, a seccomp filter
 * (seccomp.ts) refuses the kernel's riskiest calls, and a wall-clock timer kills the whole
 * sandbox. Arguments arrive as JSON on stdin; stdout is the result.
 *
 * Not covered here: a CPU-share or cgroup memory limit (no cgroup delegation on the local
 * target; RLIMIT_AS bounds memory per process).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEgressProxy, type EgressDenial, type EgressProxy } from './egress-proxy.js';
import { seccompFilter } from './seccomp.js';

/** The compiled seccomp filter for this machine (x64, arm64; elsewhere programs run without one: seccomp.ts has no syscall table for it). */
const SECCOMP = seccompFilter();
/** The descriptor bwrap reads the filter from (the child's fd 3). */
const SECCOMP_FD = 3;

export interface ProgramJob {
  command: string[];
  args: unknown;
  /** Set as environment variables of the program (name = secret name). */
  secrets?: Record<string, string>;
  /** The hosts the program may reach through the egress proxy (none: no way out at all). */
  egress?: { allow: string[]; resolve?: (host: string) => Promise<string[]> };
  memoryMb?: number;
  timeoutMs?: number;
}

export interface ProgramOutcome {
  ok: boolean;
  value?: unknown;
  stderr: string;
  exitCode: number | null;
  error?: { code: 'SANDBOX_TIMEOUT' | 'SANDBOX_EXIT' | 'SANDBOX_OUTPUT_TOO_LARGE' | 'SANDBOX_UNAVAILABLE'; message: string };
  wallMs: number;
  /** Connections the egress proxy refused (for the tool call's trace). */
  egressDenied?: EgressDenial[];
}

/** Where the egress proxy's socket and the host's Node appear inside the sandbox. */
const SANDBOX_RUN = '/run/claw';
const SANDBOX_NODE = '/run/node';
const PROXY_PORT = 3128;
/** More processes than the user already runs that one call may start (RLIMIT_NPROC counts per user). */
const EXTRA_PROCESSES = 128;

/**
 * The in-sandbox bridge: listens on 127.0.0.1:3128 in the sandbox's network namespace,
 * pipes each connection to the proxy's socket, then runs the tool and exits with its code.
 */
const BRIDGE = `const net=require('net'),cp=require('child_process');const [sock,...cmd]=process.argv.slice(1);
net.createServer(c=>{const u=net.connect(sock);c.pipe(u);u.pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());})
.listen(${PROXY_PORT},'127.0.0.1',function(){const ch=cp.spawn(cmd[0],cmd.slice(1),{stdio:'inherit'});ch.on('exit',(code,sig)=>process.exit(code===null?128:code));});`;

const MAX_STDOUT = 1_048_576;
const MAX_STDERR = 16_384;
const MAX_FILE_BYTES = 64 * 1_048_576;
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Top-level directories that are symlinks into /usr on merged-/usr systems. */
function rootLinks(): string[][] {
  const out: string[][] = [];
  for (const dir of ['bin', 'sbin', 'lib', 'lib64', 'lib32']) {
    const path = `/${dir}`;
    if (!existsSync(path)) continue;
    out.push(lstatSync(path).isSymbolicLink() ? ['--symlink', `usr/${dir}`, path] : ['--ro-bind', path, path]);
  }
  return out;
}

/**
 * The environment bwrap is started with, which the program inherits: built from nothing,
 * so no host variable leaks in, and never on a command line.
 */
export function sandboxEnv(job: ProgramJob): Record<string, string> {
  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/scratch', TMPDIR: '/tmp' };
  if (job.egress?.allow.length) {
    const proxy = `http://127.0.0.1:${PROXY_PORT}`;
    Object.assign(env, { HTTPS_PROXY: proxy, HTTP_PROXY: proxy, https_proxy: proxy, http_proxy: proxy });
  }
  for (const [name, value] of Object.entries(job.secrets ?? {})) {
    if (!SECRET_NAME.test(name)) throw new Error(`secret name '${name}' cannot be an environment variable`);
    env[name] = value;
  }
  return env;
}

/**
 * Processes the user runs (RLIMIT_NPROC counts them all, sandboxed or not). Counted at most
 * every 10 s: a tool call should not stat all of /proc, and the cap's margin absorbs drift.
 */
let counted: { at: number; count: number } | undefined;
function processesOfThisUser(): number {
  if (counted && Date.now() - counted.at < 10_000) return counted.count;
  counted = { at: Date.now(), count: countProcesses() };
  return counted.count;
}

function countProcesses(): number {
  const uid = process.getuid?.() ?? 0;
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (statSync(`/proc/${entry}`).uid === uid) count++;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}

/** The bwrap command line for a job: a pure function of the job, its scratch dir and (with egress) the proxy's directory. */
export function bwrapArgs(job: ProgramJob, scratch: string, links: string[][] = rootLinks(), egress?: { dir: string; node: string }, maxProcesses = 1_024, seccompFd?: number): string[] {
  const memoryBytes = (job.memoryMb ?? 256) * 1_048_576;
  const limited = ['/usr/bin/prlimit', `--as=${memoryBytes}`, `--fsize=${MAX_FILE_BYTES}`, '--nofile=256', `--nproc=${maxProcesses}`, '--core=0', '--', ...job.command];
  return [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    ...(egress ? ['--ro-bind', egress.dir, SANDBOX_RUN, '--ro-bind', egress.node, SANDBOX_NODE, '--ro-bind-try', '/etc/ssl', '/etc/ssl', '--ro-bind-try', '/etc/ca-certificates', '/etc/ca-certificates'] : []),
    '--die-with-parent',
    '--new-session',
    '--cap-drop', 'ALL',
    '--hostname', 'sandbox',
    '--ro-bind', '/usr', '/usr',
    ...links.flat(),
    '--ro-bind-try', '/etc/alternatives', '/etc/alternatives',
    '--proc', '/proc',
    '--dev', '/dev',
    '--tmpfs', '/tmp',
    '--bind', scratch, '/scratch',
    '--chdir', '/scratch',
    ...(seccompFd !== undefined ? ['--seccomp', String(seccompFd)] : []),
    '--',
    ...(egress ? [SANDBOX_NODE, '-e', BRIDGE, '--', `${SANDBOX_RUN}/egress.sock`, ...limited] : limited),
  ];
}

export class BubblewrapSandbox {
  constructor(private readonly bwrap = '/usr/bin/bwrap') {}

  available(): boolean {
    return existsSync(this.bwrap);
  }

  async run(job: ProgramJob): Promise<ProgramOutcome> {
    const started = performance.now();
    if (!this.available()) {
      return { ok: false, stderr: '', exitCode: null, wallMs: 0, error: { code: 'SANDBOX_UNAVAILABLE', message: `bubblewrap is not installed (${this.bwrap})` } };
    }
    const scratch = mkdtempSync(join(tmpdir(), 'claw-scratch-'));
    let proxy: EgressProxy | undefined;
    let proxyDir: string | undefined;
    try {
      if (job.egress?.allow.length) {
        proxyDir = mkdtempSync(join(tmpdir(), 'claw-egress-'));
        proxy = await startEgressProxy(join(proxyDir, 'egress.sock'), { allow: job.egress.allow, ...(job.egress.resolve ? { resolve: job.egress.resolve } : {}) });
      }
      // The filter reaches bwrap as a file descriptor; the file sits beside the scratch dir, outside the sandbox.
      let filterFd: number | undefined;
      if (SECCOMP) {
        const filterFile = `${scratch}.seccomp`;
        writeFileSync(filterFile, SECCOMP, { mode: 0o600 });
        filterFd = openSync(filterFile, 'r');
        rmSync(filterFile);
      }
      const args = bwrapArgs(job, scratch, rootLinks(), proxyDir ? { dir: proxyDir, node: process.execPath } : undefined, processesOfThisUser() + EXTRA_PROCESSES, filterFd === undefined ? undefined : SECCOMP_FD);
      const outcome = await new Promise<ProgramOutcome>((resolvePromise) => {
        const child = spawn(this.bwrap, args, { stdio: ['pipe', 'pipe', 'pipe', ...(filterFd === undefined ? [] : [filterFd])], detached: true, env: sandboxEnv(job) }) as ChildProcessWithoutNullStreams;
        if (filterFd !== undefined) closeSync(filterFd);
        const stdout: Buffer[] = [];
        let stdoutBytes = 0;
        let stderr = '';
        let failure: ProgramOutcome['error'];
        const killAll = () => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        };
        const timer = setTimeout(() => {
          failure = { code: 'SANDBOX_TIMEOUT', message: `the program ran longer than its ${job.timeoutMs ?? 30_000} ms time limit and was killed` };
          killAll();
        }, job.timeoutMs ?? 30_000);
        child.stdout.on('data', (chunk: Buffer) => {
          stdoutBytes += chunk.length;
          if (stdoutBytes > MAX_STDOUT) {
            failure ??= { code: 'SANDBOX_OUTPUT_TOO_LARGE', message: `the program wrote more than ${MAX_STDOUT} bytes to stdout` };
            killAll();
          } else stdout.push(chunk);
        });
        child.stderr.on('data', (chunk: Buffer) => {
          if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8').slice(0, MAX_STDERR - stderr.length);
        });
        child.stdin.on('error', () => undefined); // a program that does not read stdin
        child.stdin.end(JSON.stringify(job.args ?? {}));
        child.on('close', (code) => {
          clearTimeout(timer);
          const wallMs = performance.now() - started;
          const text = Buffer.concat(stdout).toString('utf8');
          if (failure) return resolvePromise({ ok: false, stderr, exitCode: code, error: failure, wallMs });
          if (code !== 0) {
            return resolvePromise({
              ok: false,
              stderr,
              exitCode: code,
              wallMs,
              error: { code: 'SANDBOX_EXIT', message: `the program exited with code ${code}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}` },
            });
          }
          resolvePromise({ ok: true, value: parseOutput(text), stderr, exitCode: code, wallMs });
        });
      });
      return proxy?.denied.length ? { ...outcome, egressDenied: [...proxy.denied] } : outcome;
    } finally {
      await proxy?.close();
      rmSync(scratch, { recursive: true, force: true });
      if (proxyDir) rmSync(proxyDir, { recursive: true, force: true });
    }
  }
}

function parseOutput(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    return trimmed;
  }
}
