import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BubblewrapSandbox, bwrapArgs, sandboxEnv } from './bubblewrap.js';

const sandbox = new BubblewrapSandbox();
const sh = (script: string) => ['/bin/sh', '-c', script];

describe('bwrapArgs (pure)', () => {
  const links = [['--symlink', 'usr/bin', '/bin']];
  it('unshares every namespace, the network always (egress goes through the proxy), and forbids new user namespaces', () => {
    for (const egress of [undefined, { dir: '/tmp/e', node: '/usr/bin/node' }]) {
      const args = bwrapArgs({ command: ['true'], args: {}, egress: { allow: ['api.github.com'] } }, '/tmp/s', links, egress);
      expect(args).toContain('--unshare-all');
      expect(args).toContain('--disable-userns');
      expect(args).not.toContain('--share-net');
    }
  });
  it('binds /usr read-only, the scratch dir read-write, drops capabilities, limits processes; no secret on the command line', () => {
    const args = bwrapArgs({ command: ['true'], args: {}, secrets: { TOKEN: 'v-secret' }, memoryMb: 32 }, '/tmp/s', links, undefined, 300).join(' ');
    expect(args).toContain('--ro-bind /usr /usr');
    expect(args).toContain('--bind /tmp/s /scratch --chdir /scratch');
    expect(args).toContain('--cap-drop ALL');
    expect(args).not.toContain('v-secret');
    expect(args).toContain(`/usr/bin/prlimit --as=${32 * 1_048_576}`);
    expect(args).toContain('--nproc=300');
    expect(args).not.toMatch(/--bind \/ |--ro-bind \/ \/ |\/home|\/work/);
  });
  it('builds the environment from nothing: PATH, HOME, the proxy when egress is granted, the secrets', () => {
    expect(sandboxEnv({ command: ['true'], args: {}, secrets: { TOKEN: 'v' } })).toEqual({ PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/scratch', TMPDIR: '/tmp', TOKEN: 'v' });
    expect(sandboxEnv({ command: ['true'], args: {}, egress: { allow: ['x.test'] } }).HTTPS_PROXY).toBe('http://127.0.0.1:3128');
  });
  it('refuses a secret name that is not an environment variable name', () => {
    expect(() => sandboxEnv({ command: ['true'], args: {}, secrets: { 'A=B': 'x' } })).toThrow(/cannot be an environment variable/);
  });
});

describe.runIf(existsSync('/usr/bin/bwrap'))('BubblewrapSandbox (real bwrap)', () => {
  it('runs a program with JSON arguments on stdin and parses JSON stdout', async () => {
    const out = await sandbox.run({ command: sh('read -r line; printf \'{"got":%s}\' "$line"'), args: { n: 1 } });
    expect(out).toMatchObject({ ok: true, value: { got: { n: 1 } }, exitCode: 0 });
  });

  it('gives the program its secrets as environment variables and nothing of the host environment', async () => {
    process.env.CLAW_HOST_ONLY = 'host-value';
    const out = await sandbox.run({ command: sh('echo "$TOKEN|${CLAW_HOST_ONLY:-unset}|$HOME"'), args: {}, secrets: { TOKEN: 's3cret-value' } });
    expect(out.value).toBe('s3cret-value|unset|/scratch');
  });

  it.runIf(process.arch === 'x64')('refuses the kernel calls of the seccomp denylist with EPERM, and still runs ordinary programs (x86-64 numbers)', async () => {
    // Unfiltered, in this sandbox: keyctl -> EINVAL, io_uring_setup, perf_event_open, mount, chroot -> EFAULT,
    // bpf, setns, process_vm_readv -> EINVAL, unshare(0) -> success. Filtered, each is EPERM (1).
    const calls = { keyctl: 250, io_uring_setup: 425, perf_event_open: 298, bpf: 321, unshare: 272, setns: 308, mount: 165, chroot: 161, process_vm_readv: 310 };
    const perl = `for my $n (${Object.values(calls).join(', ')}) { $! = 0; my $r = syscall($n, 0, 0, 0, 0, 0); print "$r/", $!+0, " "; }`;
    const out = await sandbox.run({ command: ['/usr/bin/perl', '-e', perl], args: {} });
    expect(out.ok, out.stderr).toBe(true);
    expect(String(out.value).trim().split(' ')).toEqual(Object.values(calls).map(() => '-1/1'));
    // Allowed calls still work: getpid, and a whole shell pipeline.
    const fine = await sandbox.run({ command: ['/usr/bin/perl', '-e', 'print syscall(39) > 0 ? "ok" : "no"'], args: {} });
    expect(fine.value).toBe('ok');
  });

  it('has no network without egress', async () => {
    const out = await sandbox.run({ command: sh('ls /sys/class/net 2>/dev/null || cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "'), args: {} });
    expect(String(out.value).split(/\s+/).filter(Boolean)).toEqual(['lo']);
  });

  it('has a read-only root and a writable scratch dir that is gone afterwards', async () => {
    const out = await sandbox.run({ command: sh('touch /usr/x 2>/dev/null && echo wrote-usr; echo hi > note && cat note; pwd; ls / | tr "\\n" " "'), args: {} });
    expect(out.ok).toBe(true);
    const text = String(out.value);
    expect(text).not.toContain('wrote-usr');
    expect(text).toContain('hi\n/scratch');
    expect(text).not.toMatch(/\bwork\b|\bhome\b|\broot\b/);
  });

  it('kills a program at its time limit', async () => {
    const out = await sandbox.run({ command: sh('while :; do :; done'), args: {}, timeoutMs: 300 });
    expect(out.error?.code).toBe('SANDBOX_TIMEOUT');
    expect(out.wallMs).toBeLessThan(3_000);
  });

  it('reports a failing program with its exit code and the end of stderr', async () => {
    const out = await sandbox.run({ command: sh('echo broken >&2; exit 3'), args: {} });
    expect(out).toMatchObject({ ok: false, exitCode: 3, error: { code: 'SANDBOX_EXIT', message: 'the program exited with code 3: broken' } });
  });

  it('caps memory with RLIMIT_AS', async () => {
    const out = await sandbox.run({ command: ['/usr/bin/python3', '-c', 'x = bytearray(512 * 1024 * 1024); print(len(x))'], args: {}, memoryMb: 64 });
    expect(out.ok).toBe(false);
    expect(out.stderr).toMatch(/MemoryError/);
  });
});
