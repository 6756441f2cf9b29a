import { describe, expect, it } from 'vitest';
import { DENIED_SYSCALLS, seccompFilter } from './seccomp.js';

/** The filter as [code, jt, jf, k] instructions. */
function decode(filter: Buffer): Array<[number, number, number, number]> {
  return Array.from({ length: filter.length / 8 }, (_, i) => [filter.readUInt16LE(i * 8), filter.readUInt8(i * 8 + 2), filter.readUInt8(i * 8 + 3), filter.readUInt32LE(i * 8 + 4)]);
}

describe('seccompFilter', () => {
  it('checks the architecture first and kills a program of another one', () => {
    const program = decode(seccompFilter('x64')!);
    expect(program.slice(0, 3)).toEqual([[0x20, 0, 0, 4], [0x15, 1, 0, 0xc000003e], [0x06, 0, 0, 0x80000000]]);
    expect(decode(seccompFilter('arm64')!)[1]).toEqual([0x15, 1, 0, 0xc00000b7]);
  });

  it('sends every denied number (and x32 calls) to the EPERM return, and the rest to ALLOW', () => {
    for (const arch of ['x64', 'arm64']) {
      const program = decode(seccompFilter(arch)!);
      const allow = program.length - 2;
      const deny = program.length - 1;
      expect(program[allow]).toEqual([0x06, 0, 0, 0x7fff0000]);
      expect(program[deny]).toEqual([0x06, 0, 0, 0x00050001]);
      const checks = program.slice(4, allow);
      expect(checks).toHaveLength(DENIED_SYSCALLS.length + (arch === 'x64' ? 1 : 0));
      checks.forEach(([, jt, jf], i) => {
        expect(4 + i + 1 + jt).toBe(deny);
        expect(jf).toBe(0);
      });
      expect(new Set(checks.map(([, , , k]) => k)).size).toBe(checks.length);
    }
  });

  it('has no filter for an architecture without a syscall table', () => {
    expect(seccompFilter('ia32')).toBeUndefined();
  });
});
