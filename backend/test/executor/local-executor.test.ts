import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OutputStream } from '../../src/executor/executor-backend.js';
import { LocalExecutor } from '../../src/executor/local/local-executor.js';
import { SandboxLauncher } from '../../src/executor/local/sandbox-launcher.js';
import { liveProcessesOf } from '../../src/executor/local/sandbox-uids.js';
import type { UidPool } from '../../src/executor/local/uid-pool.js';
import { isRunning } from '../processes/proc-stat.js';
import { MiB, runScript, testUidPool, type Observed, type RunArgs } from './fixtures/local-runs.js';

// Real sandboxed processes on this host: needs root, bubblewrap and writable cgroups
// (scripts/install-sandbox.sh); none of the Kafka/Mongo/Redis servers.
const SECRET = 'do-not-leak-0123456789abcdef0123456789abcdef';

let executor: LocalExecutor;
let launcher: SandboxLauncher;
/** The executor's host uids (a range of this test process, not the default one). */
let uids: UidPool;
/** Parent of the executor's state directory, so a test can look for leftover run directories. */
let stateRoot: string;

function run(...args: RunArgs): Promise<Observed> {
  return runScript(executor, ...args);
}

/**
 * Live (non-zombie) processes of the sandbox uids. bwrap's pid-namespace init is reparented to the
 * host's pid 1 when bwrap exits; this VM's init reaps such zombies only late, so they are ignored.
 */
function sandboxUserProcesses(): string {
  const uidList = Array.from({ length: uids.count }, (_, i) => String(uids.base + i)).join(',');
  try {
    return execFileSync('ps', ['-u', uidList, '-o', 'pid=,stat=,comm='], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '' && !/^\s*\d+\s+Z/.test(line))
      .join('\n');
  } catch {
    return ''; // ps exits 1 when nothing matches
  }
}

/** Real, effective, saved and filesystem uid of a host process, from /proc/<pid>/status. */
function hostUids(pid: number): number[] {
  const line = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
  return line.split(/\s+/).map(Number);
}

/** Run cgroups of this process's executor (cgroup v1 memory hierarchy, as on this host). */
function leftoverRunCgroups(): string[] {
  const parent = '/sys/fs/cgroup/memory';
  const own =
    /memory:(.*)$/m.exec(execFileSync('cat', ['/proc/self/cgroup'], { encoding: 'utf8' }))?.[1] ?? '/';
  const base = `${parent}${own === '/' ? '' : own}/integr8scode-sandbox`;
  const instance = readdirSync(base).find((name) => name.startsWith(`${process.pid}-`));
  expect(instance).toBeDefined();
  return readdirSync(`${base}/${instance}`, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
}

/** Per-run directories (script, work files) under the executor's state directory. */
function leftoverRunDirs(): string[] {
  const stateDirs = readdirSync(stateRoot);
  expect(stateDirs).toHaveLength(1);
  return readdirSync(join(stateRoot, stateDirs[0]!)).filter((name) => name.startsWith('run-'));
}

beforeAll(async () => {
  // Secrets in the worker's environment must not reach the sandbox.
  process.env.SECRET_KEY = SECRET;
  process.env.MONGO_PASSWORD = SECRET;
  const logger = pino({ level: 'warn' });
  stateRoot = mkdtempSync(join(tmpdir(), 'local-executor-test-'));
  // The sandbox (a uid of the pool) reaches its script and /etc files through this directory.
  chmodSync(stateRoot, 0o755);
  launcher = new SandboxLauncher({ logger });
  uids = testUidPool(0);
  executor = new LocalExecutor({ logger, launcher, stateRoot, uidPool: uids });
  await executor.start();
}, 300_000);

afterAll(async () => {
  await executor?.stop();
  if (stateRoot) rmSync(stateRoot, { recursive: true, force: true });
  delete process.env.SECRET_KEY;
  delete process.env.MONGO_PASSWORD;
});

describe.concurrent('local executor: normal runs', () => {
  it('when started on this host, then cgroup v1 limits, netns, a per-run uid and seccomp are enforced', () => {
    expect(executor.enforcement()).toMatchObject({
      memory: expect.stringContaining('cgroup') as unknown,
      pids: expect.stringContaining('cgroup') as unknown,
      network: expect.stringContaining('netns') as unknown,
      user: `setpriv uid per run from ${uids.base}-${uids.last} (65534 inside) + userns + seccomp`,
    });
    expect(executor.runtimes().map((r) => r.lang)).toEqual(
      expect.arrayContaining(['python', 'node', 'bash']),
    );
  });

  it.each(['python', 'node', 'bash', 'go', 'ruby'])(
    'when the %s example runs, then it completes with exit 0 and exact stdout (or the runtime is listed as unavailable with a reason)',
    async (lang) => {
      const runtime = executor.runtimes().find((r) => r.lang === lang);
      if (!runtime) {
        const missing = executor.unavailableRuntimes().find((m) => m.lang === lang);
        expect(missing?.reason).toBeTruthy();
        return;
      }
      const limits = lang === 'go' ? { wallSeconds: 20, cpuSeconds: 10, memoryBytes: 256 * MiB } : {};
      const { outcome, out } = await run(lang, runtime.exampleScript, { limits });
      expect(outcome).toMatchObject({
        verdict: 'completed',
        exitCode: 0,
        signal: null,
        outputTruncated: false,
      });
      expect(out).toBe('Hello, world!\n');
    },
  );

  it('when the script exits non-zero, then the run is completed with that exit code', async () => {
    const { outcome } = await run('python', 'import sys\nsys.exit(3)\n');
    expect(outcome).toMatchObject({ verdict: 'completed', exitCode: 3, signal: null });
    expect(outcome.reason).toBeUndefined();
  });

  it('when the script writes to both streams, then stdout and stderr are kept apart and streamed', async () => {
    const { out, err, chunks } = await run('bash', 'echo out1; echo err1 >&2; echo out2\n');
    expect(out).toBe('out1\nout2\n');
    expect(err).toBe('err1\n');
    const streamed = (s: OutputStream) =>
      Buffer.concat(chunks.filter((c) => c.stream === s).map((c) => c.chunk)).toString();
    expect(streamed('stdout')).toBe(out);
    expect(streamed('stderr')).toBe(err);
  });

  it('when stdin is given, then the script reads it', async () => {
    const { out } = await run('python', 'import sys\nprint(sys.stdin.read().upper(), end="")\n', {
      stdin: 'line one\nline two\n',
    });
    expect(out).toBe('LINE ONE\nLINE TWO\n');
  });

  it('when args contain shell syntax, then they arrive literally and nothing is executed', async () => {
    const args = ['; touch /tmp/pwned', '$(id)', 'a b', "'quoted'"];
    const { outcome, out } = await run('bash', 'printf "%s\\n" "$@"; ls /tmp\n', { args });
    expect(outcome.verdict).toBe('completed');
    expect(out).toBe(args.join('\n') + '\n');
    expect(existsSync('/tmp/pwned')).toBe(false);
  });

  it('when go gets args, then they arrive after the program name', async () => {
    if (!executor.runtimes().some((r) => r.lang === 'go'))
      return expect(executor.unavailableRuntimes().some((m) => m.lang === 'go')).toBe(true);
    const script =
      'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() { fmt.Println(os.Args[1:]) }\n';
    const { out } = await run('go', script, {
      args: ['x; rm -rf /', 'y'],
      limits: { wallSeconds: 20, cpuSeconds: 10, memoryBytes: 256 * MiB },
    });
    expect(out).toBe('[x; rm -rf / y]\n');
  });

  it('when the output is binary and invalid UTF-8, then it is returned byte-exact', async () => {
    const expected = Buffer.concat([
      Buffer.from([...Array(256).keys()]),
      Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
    ]);
    const { outcome, chunks } = await run(
      'python',
      'import sys\nsys.stdout.buffer.write(bytes(range(256)) + b"\\xc3\\x28\\xff\\xfe")\n',
    );
    expect(outcome.stdout.equals(expected)).toBe(true);
    expect(Buffer.concat(chunks.map((c) => c.chunk)).equals(expected)).toBe(true);
  });

  it('when a ~50 ms busy loop runs, then its CPU time reads above zero (not jiffy-rounded)', async () => {
    const { outcome } = await run('python', 'import time\nwhile time.process_time() < 0.05: pass\n');
    expect(outcome.verdict).toBe('completed');
    expect(outcome.cpuSeconds).toBeGreaterThan(0.04);
    expect(outcome.cpuSeconds).toBeLessThan(1);
    expect(outcome.peakMemoryBytes).toBeGreaterThan(1 * MiB);
  });
});

describe.concurrent('local executor: abuse cases', () => {
  it('when the script loops forever, then it is stopped with cpu_limit at about the CPU limit', async () => {
    const { outcome } = await run('python', 'while True: pass\n', {
      limits: { cpuSeconds: 1, wallSeconds: 5 },
    });
    expect(outcome.verdict).toBe('cpu_limit');
    // RLIMIT_CPU counts in ticks, cpuacct in ns: the two differ a little under load.
    expect(outcome.cpuSeconds).toBeGreaterThanOrEqual(0.5);
    expect(outcome.cpuSeconds).toBeLessThan(2.5);
  });

  it('when the wall limit is below the CPU limit and the script loops, then the verdict is timeout', async () => {
    const { outcome } = await run('bash', 'while :; do :; done\n', {
      limits: { cpuSeconds: 10, wallSeconds: 1 },
    });
    expect(outcome.verdict).toBe('timeout');
  });

  it('when the script sleeps past the wall limit, then it is killed with timeout', async () => {
    const { outcome } = await run('bash', 'sleep 30\n', { limits: { wallSeconds: 1 } });
    expect(outcome.verdict).toBe('timeout');
    expect(outcome.wallSeconds).toBeLessThan(2.5);
  });

  it('when the script closes stdout and keeps running, then it is still stopped at the wall limit', async () => {
    const { outcome, out } = await run('bash', 'echo before; exec 1>&- 2>&-; sleep 30\n', {
      limits: { wallSeconds: 1 },
    });
    expect(outcome.verdict).toBe('timeout');
    expect(out).toBe('before\n');
    expect(outcome.wallSeconds).toBeLessThan(2.5);
  });

  it('when the script leaves a background child behind, then the run ends with the script and the child dies', async () => {
    const { outcome, out } = await run('bash', '(sleep 30 >/dev/null 2>&1 &)\necho done\n');
    expect(outcome).toMatchObject({ verdict: 'completed', exitCode: 0 });
    expect(out).toBe('done\n');
    expect(outcome.wallSeconds).toBeLessThan(2);
  });

  it('when the script is a fork bomb, then the process limit contains it and the run is killed', async () => {
    const { outcome } = await run('bash', ':(){ :|:& };:\nwait\n', {
      limits: { maxProcesses: 32, wallSeconds: 2, cpuSeconds: 2 },
    });
    expect(['timeout', 'cpu_limit', 'completed']).toContain(outcome.verdict);
    expect(outcome.reason).toMatch(/fork\(s\) refused by the process limit/);
    // The host still runs work normally afterwards.
    const after = await run('bash', 'echo alive\n');
    expect(after.out).toBe('alive\n');
  });

  it('when the script allocates past the memory limit, then the verdict is memory_limit', async () => {
    const { outcome } = await run(
      'python',
      'chunks = []\nwhile True: chunks.append(bytearray(8 * 1024 * 1024))\n',
      {
        limits: { memoryBytes: 64 * MiB },
      },
    );
    expect(outcome.verdict).toBe('memory_limit');
    expect(outcome.reason).toContain('64 MiB');
    expect(outcome.peakMemoryBytes).toBeGreaterThan(32 * MiB);
    expect(outcome.peakMemoryBytes).toBeLessThanOrEqual(64 * MiB);
  });

  it('when the script floods stdout, then output stops at exactly the cap with output_limit', async () => {
    const cap = 10_000;
    const { outcome, chunks } = await run('python', 'while True: print("x" * 999)\n', {
      limits: { maxOutputBytes: cap },
    });
    expect(outcome.verdict).toBe('output_limit');
    expect(outcome.outputTruncated).toBe(true);
    expect(outcome.stdout.length).toBe(cap);
    expect(chunks.reduce((n, c) => n + c.chunk.length, 0)).toBe(cap);
  });

  it('when the script fills the work dir, then the write fails at the tmpfs size and the run ends', async () => {
    const { outcome, err } = await run(
      'python',
      'f = open("/sandbox/fill", "wb")\nwhile True: f.write(b"\\0" * 1024 * 1024); f.flush()\n',
      { limits: { maxFileBytes: 8 * MiB } },
    );
    expect(outcome.verdict).toBe('completed');
    expect(outcome.exitCode).not.toBe(0);
    expect(err).toMatch(/No space left on device|File too large/);
  });

  it('when one file grows past maxFileBytes, then RLIMIT_FSIZE stops it (SIGXFSZ) with a clear reason', async () => {
    const { outcome } = await run('bash', 'head -c 20000000 /dev/zero > /tmp/big\n', {
      limits: { maxFileBytes: 4 * MiB },
    });
    expect(outcome.verdict).toBe('completed');
    // bash reports its child's SIGXFSZ as its own exit 153 (128+25).
    expect(outcome).toMatchObject({ exitCode: 153, signal: null });
    expect(outcome.reason).toContain('file size');
  });

  it('when the script exits 152 (what bwrap reports for SIGXCPU), then it is completed with exit 152, not cpu_limit', async () => {
    const { outcome } = await run('python', 'import sys; sys.exit(152)\n');
    expect(outcome).toMatchObject({ verdict: 'completed', exitCode: 152, signal: null });
    expect(outcome.cpuSeconds).toBeLessThan(1);
  });

  it('when the script exits 137 (what bwrap reports for SIGKILL), then it is completed with exit 137', async () => {
    const { outcome } = await run('python', 'import sys; sys.exit(137)\n');
    expect(outcome).toMatchObject({ verdict: 'completed', exitCode: 137, signal: null });
  });

  it('when the script sends itself SIGXCPU well below the CPU limit, then it is completed, not cpu_limit', async () => {
    const { outcome } = await run('python', 'import os, signal\nos.kill(os.getpid(), signal.SIGXCPU)\n');
    expect(outcome).toMatchObject({ verdict: 'completed', exitCode: 152, signal: null });
    expect(outcome.reason).toContain('not the CPU time limit');
  });

  it('when the script tries the network, then the internet, cloud metadata and host loopback are unreachable', async () => {
    const server: Server = createServer((socket) => socket.end('hello from the host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    let connections = 0;
    server.on('connection', () => connections++);
    const port = (server.address() as { port: number }).port;
    try {
      const script = [
        'import socket',
        `for host, port in [("1.1.1.1", 53), ("169.254.169.254", 80), ("127.0.0.1", ${port})]:`,
        '    try:',
        '        socket.create_connection((host, port), timeout=1).close()',
        '        print(host, "OPEN")',
        '    except OSError as e:',
        '        print(host, "blocked", type(e).__name__)',
      ].join('\n');
      const { out } = await run('python', script, { limits: { wallSeconds: 5 } });
      expect(out).toMatch(/1\.1\.1\.1 blocked/);
      expect(out).toMatch(/169\.254\.169\.254 blocked/);
      expect(out).toMatch(/127\.0\.0\.1 blocked/);
      expect(out).not.toContain('OPEN');
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('when the script dumps its environment, then no worker secret is in it', async () => {
    const { out } = await run('bash', 'env; cat /proc/1/environ 2>/dev/null | tr "\\0" "\\n"\n');
    expect(out).toContain('HOME=/sandbox');
    expect(out).not.toContain(SECRET);
    expect(out).not.toMatch(/SECRET_KEY|MONGO_PASSWORD/);
  });

  it('when the script checks who it is, then it is uid 65534 with no capabilities and sees no host dirs', async () => {
    const { out } = await run(
      'bash',
      'id -u; grep CapEff /proc/self/status; ls -d /root /home /work /var 2>&1 | wc -l; ls /proc | grep -c "^[0-9]"; ls /\n',
    );
    const [uid, capEff, , procCount] = out.split('\n');
    expect(uid).toBe('65534');
    expect(capEff).toMatch(/CapEff:\s+0+$/);
    expect(out).not.toMatch(/^\/(root|home|work|var)$/m);
    expect(Number(procCount)).toBeLessThan(10);
  });

  it('when the script writes to /usr, /etc and /tmp, then system dirs refuse and /tmp is private', async () => {
    const marker = `/tmp/sandbox-marker-${process.pid}-${Date.now()}`;
    const { out } = await run(
      'bash',
      `for f in /usr/x /etc/x /x ${marker}; do if echo hi > "$f" 2>/dev/null; then echo "$f written"; else echo "$f refused"; fi; done\n`,
    );
    expect(out).toContain('/usr/x refused');
    expect(out).toContain('/etc/x refused');
    expect(out).toContain('/x refused');
    expect(out).toContain(`${marker} written`);
    expect(existsSync(marker)).toBe(false);
  });

  it('when run 1 writes files, then run 2 does not see them', async () => {
    const first = await run('bash', 'echo 1 > /sandbox/persist; echo 1 > /tmp/persist; ls /sandbox /tmp\n');
    expect(first.out).toContain('persist');
    const second = await run(
      'bash',
      'ls -A /sandbox /tmp; cat /sandbox/persist /tmp/persist 2>&1 | head -2\n',
    );
    expect(second.out).not.toMatch(/^persist$/m);
    expect(second.out).toContain('No such file');
  });
});

/**
 * x86_64 calls with arguments that, without the filter, fail otherwise (EFAULT, EBADF, ESRCH…) or
 * succeed: each line shows the filter at work. pivot_root, move_mount, fsopen, fsmount, fspick,
 * syslog, reboot, swapon/off and acct answer EPERM even unfiltered (no capability), and the kexec
 * and module calls ENOSYS on this kernel: those are covered by seccomp-filter.test.ts only.
 */
const SYSCALL_CASES: [name: string, nr: number, args: number[], filtered: string][] = [
  ['io_uring_setup', 425, [1, 0], 'ENOSYS'],
  ['io_uring_enter', 426, [-1, 0, 0, 0, 0, 0], 'ENOSYS'],
  ['io_uring_register', 427, [-1, 0, 0, 0], 'ENOSYS'],
  ['add_key', 248, [0, 0, 0, 0, 0], 'EPERM'],
  ['request_key', 249, [0, 0, 0, 0], 'EPERM'],
  ['keyctl', 250, [-1, 0, 0, 0, 0], 'EPERM'],
  ['bpf', 321, [-1, 0, 0], 'EPERM'],
  ['perf_event_open', 298, [0, 0, -1, -1, 0], 'EPERM'],
  ['userfaultfd', 323, [1], 'EPERM'],
  ['kexec_load', 246, [0, 0, 0, 0], 'EPERM'],
  ['kexec_file_load', 320, [-1, -1, 0, 0, 0], 'EPERM'],
  ['init_module', 175, [0, 0, 0], 'EPERM'],
  ['finit_module', 313, [-1, 0, 0], 'EPERM'],
  ['delete_module', 176, [0, 0], 'EPERM'],
  ['mount', 165, [0, 0, 0, 0, 0], 'EPERM'],
  ['umount2', 166, [0, 0], 'EPERM'],
  ['pivot_root', 155, [0, 0], 'EPERM'],
  ['open_tree', 428, [-100, 0, 0], 'EPERM'],
  ['move_mount', 429, [-1, 0, -1, 0, 0], 'EPERM'],
  ['fsopen', 430, [0, 0], 'EPERM'],
  ['fsconfig', 431, [-1, 0, 0, 0, 0], 'EPERM'],
  ['fsmount', 432, [-1, 0, 0], 'EPERM'],
  ['fspick', 433, [-1, 0, 0], 'EPERM'],
  ['mount_setattr', 442, [-1, 0, 0, 0, 0], 'EPERM'],
  ['open_tree_attr', 467, [-1, 0, 0, 0, 0], 'EPERM'],
  ['unshare', 272, [0], 'EPERM'],
  ['setns', 308, [-1, 0], 'EPERM'],
  ['ptrace', 101, [2, 999999, 0, 0], 'EPERM'],
  ['process_vm_readv', 310, [-2, 0, 0, 0, 0, 0], 'EPERM'],
  ['process_vm_writev', 311, [-2, 0, 0, 0, 0, 0], 'EPERM'],
  ['kcmp', 312, [-2, -2, 0, 0, 0], 'EPERM'],
  ['personality ADDR_NO_RANDOMIZE', 135, [0x40000], 'EPERM'],
  ['personality READ_IMPLIES_EXEC', 135, [0x400000], 'EPERM'],
  ['personality query', 135, [0xffffffff], 'ok'],
  ['personality PER_LINUX', 135, [0], 'ok'],
  ['x32 getpid', 0x40000000 | 39, [], 'EPERM'],
  ['quotactl_fd', 443, [-1, 0, 0, 0], 'EPERM'],
  ['open_by_handle_at', 304, [-1, 0, 0], 'EPERM'],
  ['getpid', 39, [], 'ok'],
];

describe.concurrent('local executor: hardening', () => {
  it('when the script makes denied system calls, then each fails with EPERM (ENOSYS for io_uring) under a seccomp filter', async () => {
    const script = [
      'import ctypes, errno, os',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'libc.syscall.restype = ctypes.c_long',
      'def call(nr, *args):',
      '    args = [os.getpid() if a == -2 else a for a in args]',
      '    ctypes.set_errno(0)',
      '    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])',
      '    return "ok" if r >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")',
      ...SYSCALL_CASES.map(
        ([name, nr, args]) => `print(${JSON.stringify(name)}, call(${[nr, ...args].join(', ')}), sep=":")`,
      ),
      'status = open("/proc/self/status").read()',
      'print("Seccomp", status.split("Seccomp:")[1].split()[0], sep=":")',
    ].join('\n');
    const { outcome, out, err } = await run('python', script);
    expect(err).toBe('');
    expect(outcome).toMatchObject({ verdict: 'completed', exitCode: 0 });
    expect(out.trim().split('\n')).toEqual([
      ...SYSCALL_CASES.map(([name, , , filtered]) => `${name}:${filtered}`),
      // 2: SECCOMP_MODE_FILTER.
      'Seccomp:2',
    ]);
  });

  it('when the script makes an i386 system call (int 0x80), then the process is killed by SIGSYS (unknown arch)', async () => {
    const child = [
      'import ctypes, mmap',
      'm = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)',
      // mov eax, 20 (i386 getpid); int 0x80; ret
      'm.write(bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3]))',
      'f = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))',
      'print("getpid", f())',
    ].join('\n');
    const script = `import subprocess, sys\nr = subprocess.run([sys.executable, "-c", ${JSON.stringify(child)}])\nprint("exit", r.returncode)\n`;
    const { out } = await run('python', script);
    expect(out).toBe('exit -31\n');
  });

  it('when node does file and child-process work (io_uring refused), then it still works', async () => {
    const script = [
      "const fs = require('node:fs/promises');",
      "const { execFileSync } = require('node:child_process');",
      '(async () => {',
      "  await fs.writeFile('/tmp/a.txt', 'x'.repeat(100000));",
      "  const text = await fs.readFile('/tmp/a.txt', 'utf8');",
      "  console.log(text.length, execFileSync('/bin/echo', ['child']).toString().trim());",
      '})();',
    ].join('\n');
    const { outcome, out } = await run('node', script);
    expect(outcome).toMatchObject({ verdict: 'completed', exitCode: 0 });
    expect(out).toBe('100000 child\n');
  });

  it('when the script fills /dev/shm, then it stops at the disk cap (ENOSPC) and the rest of /dev is read-only', async () => {
    const { outcome, out } = await run('python', DEV_SHM_FILL, { limits: { maxFileBytes: 8 * MiB } });
    expect(outcome).toMatchObject({ verdict: 'completed', exitCode: 0 });
    expect(out).toBe('shm stopped at file 2: ENOSPC\n/dev/x: EROFS\n/dev/null: writable\n');
  });

  it('when the script reads /proc/1/cmdline and environ, then no host path (state dir, cgroup, cache) is in them', async () => {
    const { out } = await run(
      'bash',
      'tr "\\0" "\\n" < /proc/1/cmdline; echo ---; tr "\\0" "\\n" < /proc/1/environ\n',
    );
    expect(out).toMatch(/^\S*bwrap\n--args\n5\n--\n/);
    // sh exports PWD: the launcher starts it in / so that the worker's directory does not show.
    expect(out.split('---\n')[1]).toBe('PATH=/usr/bin:/bin\nPWD=/\n');
    for (const hostPath of [stateRoot, '/sys/fs/cgroup', '/var/cache', '/work', 'integr8scode']) {
      expect(out).not.toContain(hostPath);
    }
  });

  it('when two runs overlap, then each runs as its own host uid of the range', async () => {
    const seen: number[][] = [];
    const both = await Promise.all(
      [0, 1].map(() => run('bash', 'sleep 0.5; echo done\n', {}, (pid) => seen.push(hostUids(pid!)))),
    );
    for (const { outcome } of both) expect(outcome.verdict).toBe('completed');
    expect(seen).toHaveLength(2);
    const [a, b] = seen.map((ids) => ids[0]!);
    // Real, effective, saved and fs uid all the same.
    for (const ids of seen) expect(new Set(ids).size).toBe(1);
    expect(a).not.toBe(b);
    for (const uid of [a!, b!]) expect(uids.contains(uid)).toBe(true);
  });

  it('when a run is in flight, then its script is readable by its uid only: not by 65534 nor another sandbox uid', async () => {
    const marker = `script-marker-${Date.now()}`;
    let checks: Record<string, unknown> = {};
    const ours = (dir: string) => {
      try {
        return readFileSync(join(dir, 'main.sh'), 'utf8').includes(marker);
      } catch {
        return false; // another run's directory (or one just removed)
      }
    };
    const { outcome, out } = await run(
      'bash',
      `# ${marker}\nsleep 0.3; cat /sandbox/main.sh | head -1\n`,
      {},
      (pid) => {
        const stateDir = join(stateRoot, readdirSync(stateRoot)[0]!);
        const runDir = readdirSync(stateDir)
          .filter((name) => name.startsWith('run-'))
          .map((name) => join(stateDir, name))
          .find(ours)!;
        const script = join(runDir, 'main.sh');
        const runUid = hostUids(pid!)[0]!;
        const readAs = (uid: number) =>
          spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'cat', script], {
            encoding: 'utf8',
          });
        const mode = (path: string) => {
          const st = statSync(path);
          return `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
        };
        checks = {
          dir: mode(runDir),
          file: mode(script),
          nobody: readAs(65534).stderr.includes('Permission denied'),
          otherSandbox: readAs(runUid === uids.base ? uids.base + 1 : uids.base).stderr.includes(
            'Permission denied',
          ),
          itself: readAs(runUid).stdout.includes(marker),
          runUid,
        };
      },
    );
    expect(outcome.verdict).toBe('completed');
    expect(out).toBe(`# ${marker}\n`);
    const runUid = checks.runUid as number;
    expect(checks).toEqual({
      dir: `710 0:${runUid}`,
      file: `440 0:${runUid}`,
      nobody: true,
      otherSandbox: true,
      itself: true,
      runUid,
    });
  });
});

/** Writes three 3 MiB files into /dev/shm (cap 8 MiB), then tries /dev itself and /dev/null. */
const DEV_SHM_FILL = [
  'import errno',
  'try:',
  '    for i in range(3):',
  '        with open(f"/dev/shm/f{i}", "wb") as f:',
  '            f.write(b"\\0" * (3 * 1024 * 1024))',
  '    print("shm not limited")',
  'except OSError as e:',
  '    print(f"shm stopped at file {i}:", errno.errorcode[e.errno])',
  'for path in ["/dev/x", "/dev/null"]:',
  '    try:',
  '        open(path, "w").write("x")',
  '        print(f"{path}: writable")',
  '    except OSError as e:',
  '        print(f"{path}:", errno.errorcode[e.errno])',
].join('\n');

describe('local executor: per-run uids', () => {
  it('when a run leaves a background child, then its uid goes back to the pool only after the child is gone', async () => {
    const released: { uid: number; alive: number[] }[] = [];
    const original = uids.release.bind(uids);
    const release = vi.spyOn(uids, 'release').mockImplementation((uid) => {
      released.push({ uid, alive: liveProcessesOf(uid) });
      original(uid);
    });
    let runUid = 0;
    try {
      const { outcome, out } = await run('bash', 'sleep 30 >/dev/null 2>&1 &\necho left\n', {}, (pid) => {
        runUid = hostUids(pid!)[0]!;
      });
      expect(outcome).toMatchObject({ verdict: 'completed', exitCode: 0 });
      expect(out).toBe('left\n');
    } finally {
      release.mockRestore();
    }
    expect(released).toEqual([{ uid: runUid, alive: [] }]);
  });

  it('when every uid of the pool is held, then a run fails at once with a clear reason and starts nothing', async () => {
    const held: number[] = [];
    for (let uid = uids.acquire(); uid !== undefined; uid = uids.acquire()) held.push(uid);
    try {
      let started = false;
      const { outcome } = await run('bash', 'echo never\n', {}, () => (started = true));
      expect(outcome.verdict).toBe('failed');
      expect(outcome.reason).toBe(
        `no free sandbox uid: all 50 of ${uids.base}-${uids.last} are held by runs or retired`,
      );
      expect(started).toBe(false);
    } finally {
      for (const uid of held) uids.release(uid);
    }
    const { outcome } = await run('bash', 'echo again\n');
    expect(outcome.verdict).toBe('completed');
  });
});

// A second executor forced onto the fallback (prlimit only, as where no cgroup is writable).
describe('local executor without cgroups', () => {
  const logger = pino({ level: 'warn' });
  const pool = testUidPool(1);
  let fallbackRoot: string;
  let fallback: LocalExecutor;

  beforeAll(async () => {
    fallbackRoot = mkdtempSync(join(tmpdir(), 'local-executor-nocg-'));
    chmodSync(fallbackRoot, 0o755);
    fallback = new LocalExecutor({ logger, stateRoot: fallbackRoot, cgroups: 'off', uidPool: pool });
    await fallback.start();
  }, 300_000);

  afterAll(async () => {
    await fallback?.stop();
    if (fallbackRoot) rmSync(fallbackRoot, { recursive: true, force: true });
  });

  it('when started with cgroups off, then limits are prlimit-only and RLIMIT_NPROC is per run', () => {
    expect(fallback.enforcement()).toMatchObject({
      memory: 'prlimit RLIMIT_AS',
      pids: 'prlimit RLIMIT_NPROC (per uid: one uid per run)',
    });
  });

  it('when the script fills /dev/shm, then it stops at the disk cap (ENOSPC) here too', async () => {
    const { outcome, out } = await runScript(fallback, 'python', DEV_SHM_FILL, {
      limits: { maxFileBytes: 8 * MiB },
    });
    expect(outcome).toMatchObject({ verdict: 'completed', exitCode: 0 });
    expect(out).toBe('shm stopped at file 2: ENOSPC\n/dev/x: EROFS\n/dev/null: writable\n');
  });

  it('when a run leaves a background child, then its uid is released only once no process of it is alive', async () => {
    const released: { uid: number; alive: number[] }[] = [];
    const original = pool.release.bind(pool);
    const release = vi.spyOn(pool, 'release').mockImplementation((uid) => {
      released.push({ uid, alive: liveProcessesOf(uid) });
      original(uid);
    });
    let runUid = 0;
    try {
      const { outcome } = await runScript(
        fallback,
        'bash',
        'sleep 30 >/dev/null 2>&1 &\necho left\n',
        {},
        (pid) => {
          runUid = hostUids(pid!)[0]!;
        },
      );
      expect(outcome).toMatchObject({ verdict: 'completed', exitCode: 0 });
    } finally {
      release.mockRestore();
    }
    expect(released).toEqual([{ uid: runUid, alive: [] }]);
  });
});

describe('local executor: cancellation and cleanup', () => {
  it('when the caller aborts mid-run, then the run is cancelled within a second and nothing is left', async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    const { outcome, pid } = await run(
      'bash',
      'sleep 30 & sleep 30 & echo started; wait\n',
      { signal: controller.signal, limits: { wallSeconds: 20 } },
      () => {
        setTimeout(() => {
          abortedAt = Date.now();
          controller.abort();
        }, 300);
      },
    );
    expect(outcome.verdict).toBe('cancelled');
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(pid).toBeDefined();
    expect(isRunning(pid!)).toBe(false);
    expect(sandboxUserProcesses()).toBe('');
  });

  it('when aborted before it starts, then nothing runs and the verdict is cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    let started = false;
    const { outcome } = await run(
      'bash',
      'echo never\n',
      { signal: controller.signal },
      () => (started = true),
    );
    expect(outcome.verdict).toBe('cancelled');
    expect(started).toBe(false);
  });

  it('when aborted while the run is being set up, then no sandbox is launched, the verdict is cancelled and the run leaves nothing behind', async () => {
    const controller = new AbortController();
    const launch = vi.spyOn(launcher, 'launch');
    try {
      let started = false;
      // run() is past its own abort check once it returns: it awaits the run directory's creation.
      const pending = run('bash', 'echo never\n', { signal: controller.signal }, () => (started = true));
      controller.abort();
      const { outcome, chunks } = await pending;
      expect(outcome.verdict).toBe('cancelled');
      expect(launch).not.toHaveBeenCalled();
      expect(started).toBe(false);
      expect(chunks).toEqual([]);
      expect(leftoverRunDirs()).toEqual([]);
      expect(leftoverRunCgroups()).toEqual([]);
    } finally {
      launch.mockRestore();
    }
  });

  it('when an unknown runtime is requested, then run rejects with a validation error', async () => {
    await expect(run('cobol', 'DISPLAY "HI"')).rejects.toMatchObject({ code: 'validation' });
  });

  it('when all runs are over, then no sandbox process, no run cgroup and no run directory is left', () => {
    expect(sandboxUserProcesses()).toBe('');
    expect(leftoverRunCgroups()).toEqual([]);
    expect(leftoverRunDirs()).toEqual([]);
  });
});
