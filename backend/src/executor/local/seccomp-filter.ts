// The seccomp filter every sandbox runs under (bwrap --seccomp FD): a classic-BPF program built
// here, without libseccomp, so that it can be read in one sitting. Allow by default; deny the
// kernel interfaces a script never needs and that keep turning up in privilege escalations.

export type SeccompArch = 'x86_64' | 'aarch64';

/** AUDIT_ARCH_* of <linux/audit.h>: the arch field of seccomp_data. */
export const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };

/** SECCOMP_RET_* actions of <linux/seccomp.h>; ERRNO carries the errno in its low 16 bits. */
export const SECCOMP_RET = { KILL_PROCESS: 0x80000000, ERRNO: 0x00050000, ALLOW: 0x7fff0000 } as const;
export const EPERM = 1;
export const ENOSYS = 38;
/** Set in the syscall number by the x86_64 x32 ABI, whose calls would slip past a number list. */
export const X32_SYSCALL_BIT = 0x40000000;

interface Denied {
  name: string;
  /** The call's number per arch; absent where the arch has no such call. */
  nr: Partial<Record<SeccompArch, number>>;
  /** ENOSYS tells runtimes (libuv) the feature is missing, so they fall back instead of failing. */
  errno: typeof EPERM | typeof ENOSYS;
}

const deny = (
  name: string,
  x86_64: number | null,
  aarch64: number | null,
  errno: Denied['errno'] = EPERM,
): Denied => ({
  name,
  nr: { ...(x86_64 === null ? {} : { x86_64 }), ...(aarch64 === null ? {} : { aarch64 }) },
  errno,
});

/** Numbers from <asm/unistd_64.h> (x86_64) and <asm-generic/unistd.h> (aarch64); 4xx are shared. */
export const DENIED_SYSCALLS: readonly Denied[] = [
  // io_uring: a large, frequently exploited attack surface; libuv falls back on ENOSYS.
  deny('io_uring_setup', 425, 425, ENOSYS),
  deny('io_uring_enter', 426, 426, ENOSYS),
  deny('io_uring_register', 427, 427, ENOSYS),
  // Kernel keyrings are not namespaced.
  deny('add_key', 248, 217),
  deny('request_key', 249, 218),
  deny('keyctl', 250, 219),
  // eBPF, perf events and userfaultfd: unprivileged kernel attack surface (and exploit helpers).
  deny('bpf', 321, 280),
  deny('perf_event_open', 298, 241),
  deny('userfaultfd', 323, 282),
  // Kernel code loading.
  deny('kexec_load', 246, 104),
  deny('kexec_file_load', 320, 294),
  deny('init_module', 175, 105),
  deny('finit_module', 313, 273),
  deny('delete_module', 176, 106),
  // Mounts, old and new API (open_tree_attr: Linux 6.15, not yet in Debian's headers).
  deny('mount', 165, 40),
  deny('umount2', 166, 39),
  deny('pivot_root', 155, 41),
  deny('open_tree', 428, 428),
  deny('move_mount', 429, 429),
  deny('fsopen', 430, 430),
  deny('fsconfig', 431, 431),
  deny('fsmount', 432, 432),
  deny('fspick', 433, 433),
  deny('mount_setattr', 442, 442),
  deny('open_tree_attr', 467, 467),
  // Namespaces (clone's CLONE_NEW* flags are left to bwrap's --disable-userns and the dropped caps).
  deny('unshare', 272, 97),
  deny('setns', 308, 268),
  // Looking into or comparing other processes.
  deny('ptrace', 101, 117),
  deny('process_vm_readv', 310, 270),
  deny('process_vm_writev', 311, 271),
  deny('kcmp', 312, 272),
  // Host administration; each needs a capability the sandbox lacks, denied so no bug can skip that.
  deny('syslog', 103, 116),
  deny('reboot', 169, 142),
  deny('swapon', 167, 224),
  deny('swapoff', 168, 225),
  deny('acct', 163, 89),
  deny('quotactl', 179, 60),
  deny('quotactl_fd', 443, 443),
  deny('open_by_handle_at', 304, 265),
  deny('iopl', 172, null),
  deny('ioperm', 173, null),
];

/** personality(2): allowed only to query (0xffffffff) or to set PER_LINUX (0), never to turn off ASLR. */
export const PERSONALITY_NR: Readonly<Record<SeccompArch, number>> = { x86_64: 135, aarch64: 92 };
export const PERSONALITY_ALLOWED: readonly number[] = [0, 0xffffffff];

// Classic BPF opcodes (<linux/filter.h>) and offsets in struct seccomp_data { nr, arch, ip, args[6] }.
export const BPF = { LD_W_ABS: 0x20, JMP_JA: 0x05, JMP_JEQ_K: 0x15, JMP_JSET_K: 0x45, RET_K: 0x06 } as const;
export const SECCOMP_DATA = { nr: 0, arch: 4, arg0Low: 16 } as const;

export interface BpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

type Step =
  | { op: 'label'; name: string }
  | { op: 'ld'; offset: number }
  | { op: 'jeq' | 'jset'; k: number; jt: string | null; jf: string | null }
  | { op: 'ret'; k: number };

/** Turns labelled steps into instructions; a null target is the next instruction. */
function assemble(steps: readonly Step[]): BpfInsn[] {
  const labels = new Map<string, number>();
  let pc = 0;
  for (const step of steps) {
    if (step.op === 'label') labels.set(step.name, pc);
    else pc++;
  }
  const out: BpfInsn[] = [];
  const offset = (target: string | null): number => {
    if (target === null) return 0;
    const at = labels.get(target);
    const distance = at === undefined ? -1 : at - (out.length + 1);
    // Classic BPF jumps only forward, at most 255 instructions.
    if (distance < 0 || distance > 255) throw new Error(`seccomp: bad jump to ${target}`);
    return distance;
  };
  for (const step of steps) {
    if (step.op === 'ld') out.push({ code: BPF.LD_W_ABS, jt: 0, jf: 0, k: step.offset });
    else if (step.op === 'ret') out.push({ code: BPF.RET_K, jt: 0, jf: 0, k: step.k });
    else if (step.op === 'jeq' || step.op === 'jset') {
      const code = step.op === 'jeq' ? BPF.JMP_JEQ_K : BPF.JMP_JSET_K;
      out.push({ code, jt: offset(step.jt), jf: offset(step.jf), k: step.k >>> 0 });
    }
  }
  return out;
}

/** The filter program for one arch: any other arch (i386 via int 0x80 on x86_64) is killed. */
export function seccompProgram(arch: SeccompArch): BpfInsn[] {
  const denied = DENIED_SYSCALLS.flatMap((d) => {
    const nr = d.nr[arch];
    return nr === undefined ? [] : [{ nr, errno: d.errno }];
  });
  const steps: Step[] = [
    { op: 'ld', offset: SECCOMP_DATA.arch },
    { op: 'jeq', k: AUDIT_ARCH[arch], jt: null, jf: 'kill' },
    { op: 'ld', offset: SECCOMP_DATA.nr },
    ...(arch === 'x86_64' ? [{ op: 'jset', k: X32_SYSCALL_BIT, jt: 'eperm', jf: null } as const] : []),
    ...denied.map(({ nr, errno }): Step => ({
      op: 'jeq',
      k: nr,
      jt: errno === ENOSYS ? 'enosys' : 'eperm',
      jf: null,
    })),
    { op: 'jeq', k: PERSONALITY_NR[arch], jt: null, jf: 'allow' },
    // The kernel takes an unsigned int: the low half of args[0] is the whole argument.
    { op: 'ld', offset: SECCOMP_DATA.arg0Low },
    ...PERSONALITY_ALLOWED.map((k): Step => ({ op: 'jeq', k, jt: 'allow', jf: null })),
    { op: 'label', name: 'eperm' },
    { op: 'ret', k: SECCOMP_RET.ERRNO | EPERM },
    { op: 'label', name: 'enosys' },
    { op: 'ret', k: SECCOMP_RET.ERRNO | ENOSYS },
    { op: 'label', name: 'kill' },
    { op: 'ret', k: SECCOMP_RET.KILL_PROCESS },
    { op: 'label', name: 'allow' },
    { op: 'ret', k: SECCOMP_RET.ALLOW },
  ];
  return assemble(steps);
}

/** struct sock_filter[] as bwrap reads it (8 bytes each; both supported arches are little-endian). */
export function encodeProgram(program: readonly BpfInsn[]): Buffer {
  const out = Buffer.alloc(program.length * 8);
  program.forEach((insn, i) => {
    out.writeUInt16LE(insn.code, i * 8);
    out.writeUInt8(insn.jt, i * 8 + 2);
    out.writeUInt8(insn.jf, i * 8 + 3);
    out.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return out;
}

/** The arch of this Node process as seccomp names it, or undefined where we have no numbers. */
export function seccompArchOf(nodeArch: string): SeccompArch | undefined {
  if (nodeArch === 'x64') return 'x86_64';
  if (nodeArch === 'arm64') return 'aarch64';
  return undefined;
}

/** The bytes to hand to bwrap --seccomp. */
export function seccompFilter(arch: SeccompArch): Buffer {
  return encodeProgram(seccompProgram(arch));
}
