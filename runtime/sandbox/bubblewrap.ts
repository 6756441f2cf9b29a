/**
 * Program tools under bubblewrap (`bwrap`), DESIGN.md invariant 4, local target.
 *
 * The program sees: /usr (and the /bin, /lib symlinks) read-only, fresh /proc, /dev and
 * /tmp, and a scratch directory per call at /scratch (its working directory and HOME),
 * deleted afterwards. All namespaces are unshared — no network at all unless the tool
 * is granted egress (then the host network is shared; per-host filtering is the egress
 * authorization plus, in the cloud, the pod's NetworkPolicy). Capabilities are dropped,
 * the environment is cleared (only PATH, HOME and the tool's secrets are set), the
 * address space and written file sizes are capped with prlimit, and a wall-clock timer
 * kills the whole sandbox. Arguments arrive as JSON on stdin; stdout is the result.
 *
 * Not covered here: a CPU-share or cgroup memory limit (no cgroup delegation on the
 * local target; RLIMIT_AS bounds memory per process), and per-host egress filtering.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ProgramJob {
  command: string[];
  args: unknown;
  /** Set as environment variables of the program (name = secret name). */
  secrets?: Record<string, string>;
  /** Share the host network namespace (only when the tool is granted egress). */
  network?: boolean;
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
}

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

/** The bwrap command line for a job: a pure function of the job and its scratch dir. */
export function bwrapArgs(job: ProgramJob, scratch: string, links: string[][] = rootLinks()): string[] {
  const memoryBytes = (job.memoryMb ?? 256) * 1_048_576;
  const env: string[] = ['--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin', '--setenv', 'HOME', '/scratch', '--setenv', 'TMPDIR', '/tmp'];
  for (const [name, value] of Object.entries(job.secrets ?? {})) {
    if (!SECRET_NAME.test(name)) throw new Error(`secret name '${name}' cannot be an environment variable`);
    env.push('--setenv', name, value);
  }
  return [
    '--unshare-all',
    ...(job.network ? ['--share-net', '--ro-bind-try', '/etc/resolv.conf', '/etc/resolv.conf', '--ro-bind-try', '/etc/hosts', '/etc/hosts', '--ro-bind-try', '/etc/ssl', '/etc/ssl', '--ro-bind-try', '/etc/ca-certificates', '/etc/ca-certificates'] : []),
    '--die-with-parent',
    '--new-session',
    '--cap-drop', 'ALL',
    '--hostname', 'sandbox',
    '--clearenv',
    ...env,
    '--ro-bind', '/usr', '/usr',
    ...links.flat(),
    '--ro-bind-try', '/etc/alternatives', '/etc/alternatives',
    '--proc', '/proc',
    '--dev', '/dev',
    '--tmpfs', '/tmp',
    '--bind', scratch, '/scratch',
    '--chdir', '/scratch',
    '--',
    '/usr/bin/prlimit', `--as=${memoryBytes}`, `--fsize=${MAX_FILE_BYTES}`, '--nofile=256', '--core=0', '--',
    ...job.command,
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
    try {
      return await new Promise<ProgramOutcome>((resolvePromise) => {
        const child = spawn(this.bwrap, bwrapArgs(job, scratch), { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: {} });
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
    } finally {
      rmSync(scratch, { recursive: true, force: true });
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
