/**
 * A seccomp filter for program tools (bubblewrap's `--seccomp <fd>` takes a compiled
 * classic-BPF program): the kernel refuses, with EPERM, the system calls an ordinary
 * program has no use for and a sandbox escape or host attack does — tracing and reading
 * other processes, mounting and changing namespaces, the kernel keyring, eBPF and perf,
 * io_uring (a long record of kernel bugs, and a way around per-syscall filtering), module
 * and kexec loading, clock, host name and swap changes. A call from another ABI (x32 on
 * x86-64) is refused too, and a program of another architecture is killed, since syscall
 * numbers would not mean the same.
 *
 * A denylist, not an allowlist: programs are arbitrary (a shell, Python, a compiled tool),
 * and a missing entry in an allowlist breaks them in ways a tool author cannot debug. The
 * namespaces, dropped capabilities and rlimits stay the main boundary; this takes the
 * kernel's riskiest entry points off the table behind them.
 *
 * The program is assembled here (8-byte `struct sock_filter` entries: code, jt, jf, k)
 * because Node has no seccomp binding and libseccomp's compiler is not on the target; it is
 * small enough to read, and bubblewrap.test.ts runs each denied call inside the sandbox.
 */

/** The denied system calls by name, with their numbers on each architecture we run on. */
const DENIED: Record<string, { x64: number; arm64: number }> = {
  ptrace: { x64: 101, arm64: 117 },
  process_vm_readv: { x64: 310, arm64: 270 },
  process_vm_writev: { x64: 311, arm64: 271 },
  mount: { x64: 165, arm64: 40 },
  umount2: { x64: 166, arm64: 39 },
  pivot_root: { x64: 155, arm64: 41 },
  chroot: { x64: 161, arm64: 51 },
  open_tree: { x64: 428, arm64: 428 },
  move_mount: { x64: 429, arm64: 429 },
  fsopen: { x64: 430, arm64: 430 },
  fsconfig: { x64: 431, arm64: 431 },
  fsmount: { x64: 432, arm64: 432 },
  mount_setattr: { x64: 442, arm64: 442 },
  unshare: { x64: 272, arm64: 97 },
  setns: { x64: 308, arm64: 268 },
  keyctl: { x64: 250, arm64: 219 },
  add_key: { x64: 248, arm64: 217 },
  request_key: { x64: 249, arm64: 218 },
  bpf: { x64: 321, arm64: 280 },
  perf_event_open: { x64: 298, arm64: 241 },
  userfaultfd: { x64: 323, arm64: 282 },
  io_uring_setup: { x64: 425, arm64: 425 },
  io_uring_enter: { x64: 426, arm64: 426 },
  io_uring_register: { x64: 427, arm64: 427 },
  kexec_load: { x64: 246, arm64: 104 },
  kexec_file_load: { x64: 320, arm64: 294 },
  init_module: { x64: 175, arm64: 105 },
  finit_module: { x64: 313, arm64: 273 },
  delete_module: { x64: 176, arm64: 106 },
  open_by_handle_at: { x64: 304, arm64: 265 },
  name_to_handle_at: { x64: 303, arm64: 264 },
  reboot: { x64: 169, arm64: 142 },
  swapon: { x64: 167, arm64: 224 },
  swapoff: { x64: 168, arm64: 225 },
  acct: { x64: 163, arm64: 89 },
  quotactl: { x64: 179, arm64: 60 },
  syslog: { x64: 103, arm64: 116 },
  sethostname: { x64: 170, arm64: 161 },
  setdomainname: { x64: 171, arm64: 162 },
  settimeofday: { x64: 164, arm64: 170 },
  clock_settime: { x64: 227, arm64: 112 },
};

export const DENIED_SYSCALLS = Object.keys(DENIED);

/** AUDIT_ARCH_* (linux/audit.h): the value of seccomp_data.arch on each architecture. */
const AUDIT_ARCH = { x64: 0xc000003e, arm64: 0xc00000b7 } as const;
/** x86-64 syscall numbers with this bit are the x32 ABI. */
const X32_SYSCALL_BIT = 0x40000000;

// Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const RET_K = 0x06;
const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;
/** offsetof(struct seccomp_data, nr) and (…, arch). */
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;

export type SeccompArch = keyof typeof AUDIT_ARCH;

/** The compiled filter for `arch` (default: this process's), or undefined where we have no syscall table. */
export function seccompFilter(arch: string = process.arch): Buffer | undefined {
  if (arch !== 'x64' && arch !== 'arm64') return undefined;
  const numbers = Object.values(DENIED).map((n) => n[arch]);
  const program: Array<[code: number, jt: number, jf: number, k: number]> = [
    [LD_W_ABS, 0, 0, OFFSET_ARCH],
    [JEQ_K, 1, 0, AUDIT_ARCH[arch]],
    [RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS],
    [LD_W_ABS, 0, 0, OFFSET_NR],
  ];
  // Every check jumps to the EPERM return, which sits right after the ALLOW return.
  const checks = (arch === 'x64' ? 1 : 0) + numbers.length;
  const toDeny = (index: number) => checks - index; // from check `index` (0-based), past the rest and ALLOW
  let index = 0;
  if (arch === 'x64') program.push([JGE_K, toDeny(index++), 0, X32_SYSCALL_BIT]);
  for (const nr of numbers) program.push([JEQ_K, toDeny(index++), 0, nr]);
  program.push([RET_K, 0, 0, SECCOMP_RET_ALLOW], [RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM]);

  const out = Buffer.alloc(program.length * 8);
  program.forEach(([code, jt, jf, k], i) => {
    out.writeUInt16LE(code, i * 8);
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(jf, i * 8 + 3);
    out.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return out;
}
