import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_ARCH,
  DENIED_SYSCALLS,
  ENOSYS,
  EPERM,
  PERSONALITY_NR,
  SECCOMP_RET,
  seccompArchOf,
  seccompFilter,
  type SeccompArch,
} from './seccomp-filter.js';

const ALLOW = SECCOMP_RET.ALLOW;
const KILL = SECCOMP_RET.KILL_PROCESS;
const ERRNO_EPERM = SECCOMP_RET.ERRNO | EPERM;
const ERRNO_ENOSYS = SECCOMP_RET.ERRNO | ENOSYS;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_ARM = 0x40000028;

/**
 * A classic-BPF interpreter for the instructions a seccomp filter may use here, reading the encoded
 * bytes as the kernel would. It throws on anything else: an unknown opcode, a jump out of the
 * program, a load outside struct seccomp_data (64 bytes), or falling off the end.
 */
function runFilter(bytes: Buffer, data: { nr: number; arch: number; args?: bigint[] }): number {
  expect(bytes.length % 8).toBe(0);
  const seccompData = Buffer.alloc(64);
  seccompData.writeUInt32LE(data.nr >>> 0, 0);
  seccompData.writeUInt32LE(data.arch >>> 0, 4);
  (data.args ?? []).forEach((arg, i) => seccompData.writeBigUInt64LE(arg, 16 + i * 8));
  const length = bytes.length / 8;
  let acc = 0;
  for (let pc = 0, steps = 0; pc < length; pc++, steps++) {
    if (steps > length) throw new Error('loop');
    const code = bytes.readUInt16LE(pc * 8);
    const jt = bytes.readUInt8(pc * 8 + 2);
    const jf = bytes.readUInt8(pc * 8 + 3);
    const k = bytes.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20: // BPF_LD | BPF_W | BPF_ABS
        if (k % 4 !== 0 || k + 4 > 64) throw new Error(`load at ${k}`);
        acc = seccompData.readUInt32LE(k);
        break;
      case 0x05: // BPF_JMP | BPF_JA
        pc += k;
        break;
      case 0x15: // BPF_JMP | BPF_JEQ | BPF_K
        pc += acc === k ? jt : jf;
        break;
      case 0x45: // BPF_JMP | BPF_JSET | BPF_K
        pc += (acc & k) !== 0 ? jt : jf;
        break;
      case 0x06: // BPF_RET | BPF_K
        return k;
      default:
        throw new Error(`opcode ${code.toString(16)} at ${pc}`);
    }
    if (pc + 1 > length) throw new Error(`jump past the end from ${pc}`);
  }
  throw new Error('fell off the end of the program');
}

const ARCHES: SeccompArch[] = ['x86_64', 'aarch64'];

/** Allowed calls any runtime needs (x86_64 / aarch64 numbers). */
const EVERYDAY: Record<SeccompArch, Record<string, number>> = {
  x86_64: {
    read: 0,
    write: 1,
    mmap: 9,
    clone: 56,
    execve: 59,
    futex: 202,
    exit_group: 231,
    openat: 257,
    clone3: 435,
  },
  aarch64: {
    read: 63,
    write: 64,
    mmap: 222,
    clone: 220,
    execve: 221,
    futex: 98,
    exit_group: 94,
    openat: 56,
    clone3: 435,
  },
};

describe.each(ARCHES)('seccomp filter (%s)', (arch) => {
  const bytes = seccompFilter(arch);
  const native = AUDIT_ARCH[arch];
  const deniedNumbers = new Set(
    DENIED_SYSCALLS.flatMap((d) => (d.nr[arch] === undefined ? [] : [d.nr[arch]])),
  );

  it('when decoded, then it is a well-formed program the kernel accepts (≤ 4096 instructions of 8 bytes)', () => {
    expect(bytes.length % 8).toBe(0);
    expect(bytes.length / 8).toBeGreaterThan(10);
    expect(bytes.length / 8).toBeLessThanOrEqual(4096);
    // The last instruction returns, so no path can fall off the end.
    expect(bytes.readUInt16LE(bytes.length - 8)).toBe(0x06);
  });

  it.each(DENIED_SYSCALLS.filter((d) => d.nr[arch] !== undefined).map((d) => [d.name, d] as const))(
    'when %s is called, then it fails with its errno',
    (_name, denied) => {
      const result = runFilter(bytes, { nr: denied.nr[arch]!, arch: native });
      expect(result).toBe(denied.errno === ENOSYS ? ERRNO_ENOSYS : ERRNO_EPERM);
    },
  );

  it('when io_uring is called, then the answer is ENOSYS (runtimes fall back) and the rest EPERM', () => {
    for (const d of DENIED_SYSCALLS) expect(d.errno).toBe(d.name.startsWith('io_uring') ? ENOSYS : EPERM);
  });

  it('when any other call number up to 1023 is made, then it is allowed', () => {
    const denied: number[] = [];
    for (let nr = 0; nr < 1024; nr++) {
      if (deniedNumbers.has(nr) || nr === PERSONALITY_NR[arch]) continue;
      if (runFilter(bytes, { nr, arch: native }) !== ALLOW) denied.push(nr);
    }
    expect(denied).toEqual([]);
    for (const nr of Object.values(EVERYDAY[arch]))
      expect(runFilter(bytes, { nr, arch: native })).toBe(ALLOW);
  });

  it('when personality is called, then only the query (0xffffffff) and PER_LINUX (0) pass', () => {
    const personality = (arg: bigint) =>
      runFilter(bytes, { nr: PERSONALITY_NR[arch], arch: native, args: [arg] });
    expect(personality(0n)).toBe(ALLOW);
    expect(personality(0xffffffffn)).toBe(ALLOW);
    // The kernel reads an unsigned int, so only the low half counts, as in the filter.
    expect(personality(0x1_00000000n)).toBe(ALLOW);
    for (const flags of [0x0008n, 0x20000n, 0x40000n, 0x400000n, 0x0800000n, 0xfffffffen, 1n]) {
      expect(personality(flags)).toBe(ERRNO_EPERM);
    }
  });

  it('when the call comes from another arch, then the process is killed, whatever the number', () => {
    const others = [
      AUDIT_ARCH_I386,
      AUDIT_ARCH_ARM,
      0,
      ...ARCHES.filter((a) => a !== arch).map((a) => AUDIT_ARCH[a]),
    ];
    for (const other of others) {
      for (const nr of [0, 1, 20, 39, 172, 425]) expect(runFilter(bytes, { nr, arch: other })).toBe(KILL);
    }
  });
});

describe('seccomp filter (x86_64 only)', () => {
  it('when a call uses the x32 ABI (number | 0x40000000), then it fails with EPERM', () => {
    const bytes = seccompFilter('x86_64');
    for (const nr of [0, 39, 56, 101, 165, 512, 547]) {
      expect(runFilter(bytes, { nr: 0x40000000 | nr, arch: AUDIT_ARCH.x86_64 })).toBe(ERRNO_EPERM);
    }
  });

  it('when Node reports its arch, then x64 and arm64 map to a filter and others to none', () => {
    expect(seccompArchOf('x64')).toBe('x86_64');
    expect(seccompArchOf('arm64')).toBe('aarch64');
    expect(seccompArchOf('ia32')).toBeUndefined();
    expect(seccompArchOf('riscv64')).toBeUndefined();
  });
});

/** `#define __NR_name number` lines of a kernel uapi header. */
function headerNumbers(path: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const match of readFileSync(path, 'utf8').matchAll(/^#define __NR(?:3264)?_(\w+)\s+(\d+)\s*$/gm)) {
    out.set(match[1]!, Number(match[2]));
  }
  return out;
}

const HEADERS: Record<SeccompArch, string> = {
  x86_64: '/usr/include/x86_64-linux-gnu/asm/unistd_64.h',
  aarch64: '/usr/include/asm-generic/unistd.h',
};

describe.each(ARCHES)('seccomp numbers (%s) against the kernel headers', (arch) => {
  // The headers come with Debian's linux-libc-dev; without them there is nothing to compare to.
  it.skipIf(!existsSync(HEADERS[arch]))('when compared to the uapi header, then every number matches', () => {
    const header = headerNumbers(HEADERS[arch]);
    const compared: string[] = [];
    for (const d of DENIED_SYSCALLS) {
      const expected = header.get(d.name);
      // Newer than the installed headers (open_tree_attr), or not on this arch (iopl on aarch64).
      if (expected === undefined) {
        expect(['open_tree_attr', 'iopl', 'ioperm']).toContain(d.name);
        continue;
      }
      expect([d.name, d.nr[arch]]).toEqual([d.name, expected]);
      compared.push(d.name);
    }
    expect(compared.length).toBeGreaterThanOrEqual(DENIED_SYSCALLS.length - 3);
    expect(header.get('personality')).toBe(PERSONALITY_NR[arch]);
  });
});
