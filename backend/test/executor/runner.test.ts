import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_LINE_BYTES,
  RunnerLogParser,
  type RunnerLogEvent,
} from '../../src/executor/kubernetes/runner-log-parser.js';
import { runnerCommand, type RunnerLimits } from '../../src/executor/kubernetes/runner-command.js';
import {
  parseTerminationRecord,
  type TerminationRecord,
} from '../../src/executor/kubernetes/termination-record.js';
import { isRunning } from '../processes/proc-stat.js';
import { eventually } from '../test-logger.js';

// The Go executor runner built from backend/executor-runner and run on this host with real
// programs (python3, bash), its stdout parsed by the TypeScript parser the pod monitor uses.
// Needs a Go toolchain (GO, else /usr/local/go/bin/go, else go on PATH); none of the servers.

const SOURCE_DIR = fileURLToPath(new URL('../../executor-runner/', import.meta.url));
const LIMITS: RunnerLimits = {
  wallSeconds: 10,
  cpuSeconds: 5,
  maxOutputBytes: 1 << 20,
  maxFileBytes: 8 << 20,
};
const MiB = 1024 * 1024;

let runner: string;
let root: string;

/** Builds the runner into a cache dir keyed by a hash of its sources; reuses an earlier build. */
function buildRunner(): string {
  const files = readdirSync(SOURCE_DIR)
    .filter((f) => f === 'go.mod' || (f.endsWith('.go') && !f.endsWith('_test.go')))
    .sort();
  const hash = createHash('sha256');
  for (const file of files)
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(SOURCE_DIR, file)))
      .update('\0');
  const dir = join(tmpdir(), `integr8scode-runner-${hash.digest('hex').slice(0, 16)}`);
  const binary = join(dir, 'integr8scode-runner');
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const partial = `${binary}.${process.pid}.partial`;
  const go = process.env.GO ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go');
  execFileSync(go, ['build', '-trimpath', '-o', partial, '.'], {
    cwd: SOURCE_DIR,
    env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  renameSync(partial, binary);
  return binary;
}

/** A script directory laid out like a ConfigMap volume: `..<timestamp>/`, `..data`, symlinks. */
function configMapDir(dir: string, files: Record<string, string | Buffer>): void {
  const data = join(dir, '..2025_01_01_00_00_00.000000001');
  mkdirSync(data, { recursive: true });
  symlinkSync('..2025_01_01_00_00_00.000000001', join(dir, '..data'));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(data, name), content);
    symlinkSync(`..data/${name}`, join(dir, name));
  }
}

interface Run {
  events: RunnerLogEvent[];
  /** When each event was parsed, ms since the runner was spawned. */
  at: number[];
  record: TerminationRecord;
  stdout: Buffer;
  stderr: Buffer;
  chunks: { stream: 'stdout' | 'stderr'; seq: number; data: Buffer }[];
  exitCode: number | null;
  elapsedMs: number;
  log: Buffer;
  terminationLog: string;
  workdir: string;
}

interface RunOptions {
  files?: Record<string, string | Buffer>;
  stdin?: string;
  limits?: Partial<RunnerLimits>;
  onEvent?: (event: RunnerLogEvent, runner: { kill(signal: NodeJS.Signals): void }) => void;
  /**
   * Start the runner as PID 1 of a new pid namespace with its own /proc (util-linux unshare), as
   * it runs in an executor container: the container is then everything it sees.
   */
  asContainerInit?: boolean;
}

async function run(program: string[], options: RunOptions = {}): Promise<Run> {
  const dir = mkdtempSync(join(root, 'run-'));
  const scriptDir = join(dir, 'script');
  const workdir = join(dir, 'work');
  const terminationLog = join(dir, 'termination-log');
  mkdirSync(workdir);
  configMapDir(scriptDir, {
    ...options.files,
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
  });
  const argv = runnerCommand({
    runnerPath: runner,
    scriptDir,
    workdir,
    ...(options.stdin === undefined ? {} : { stdinPath: join(scriptDir, 'stdin') }),
    terminationLog,
    limits: { ...LIMITS, ...options.limits },
    program,
    args: [],
  });
  const started = Date.now();
  const command = options.asContainerInit ? ['unshare', '--pid', '--fork', '--mount-proc', ...argv] : argv;
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const parser = new RunnerLogParser();
  const events: RunnerLogEvent[] = [];
  const at: number[] = [];
  const logChunks: Buffer[] = [];
  const stderrChunks: Buffer[] = [];
  const take = (batch: RunnerLogEvent[]): void => {
    for (const event of batch) {
      events.push(event);
      at.push(Date.now() - started);
      options.onEvent?.(event, { kill: (signal) => child.kill(signal) });
    }
  };
  child.stdout.on('data', (chunk: Buffer) => {
    logChunks.push(chunk);
    take(parser.push(chunk));
  });
  child.stderr.on('data', (chunk: Buffer) => stderrChunks.push(chunk));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  take(parser.end());
  const elapsedMs = Date.now() - started;
  const log = Buffer.concat(logChunks);

  // Every run must produce a clean log: nothing on the runner's stderr (Kubernetes merges it into
  // the same log), ASCII lines within the limit, no protocol problems, exactly one record.
  expect(Buffer.concat(stderrChunks).toString()).toBe('');
  expect(exitCode).toBe(0);
  expect([...log].every((b) => b < 0x80)).toBe(true);
  for (const line of log.toString('latin1').split('\n'))
    expect(line.length + 1).toBeLessThanOrEqual(MAX_LINE_BYTES);
  expect(events.filter((e) => e.kind === 'problem')).toEqual([]);
  expect(events[0]).toEqual({ kind: 'start', info: { v: 1 } });
  const last = events.at(-1);
  if (last?.kind !== 'record') throw new Error(`log does not end with a record: ${log.toString('latin1')}`);

  const chunks = events.flatMap((e) => (e.kind === 'output' ? [e] : []));
  const streamBytes = (stream: 'stdout' | 'stderr'): Buffer =>
    Buffer.concat(chunks.filter((c) => c.stream === stream).map((c) => c.data));
  return {
    events,
    at,
    record: last.record,
    stdout: streamBytes('stdout'),
    stderr: streamBytes('stderr'),
    chunks,
    exitCode,
    elapsedMs,
    log,
    terminationLog: readFileSync(terminationLog, 'utf8'),
    workdir,
  };
}

/** Waits until pid is gone or a zombie; fails after two seconds. */
async function expectGone(pid: number): Promise<void> {
  expect(pid).toBeGreaterThan(0);
  await eventually(() => !isRunning(pid) || undefined, {
    timeoutMs: 2000,
    intervalMs: 20,
    what: `pid ${pid} to exit`,
  });
  expect(isRunning(pid)).toBe(false);
}

beforeAll(() => {
  runner = buildRunner();
  root = mkdtempSync(join(tmpdir(), 'runner-test-'));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('executor runner', () => {
  it('when a python script prints hello, then stdout has it and the record says completed with exit 0', async () => {
    const r = await run(['python3', 'main.py'], { files: { 'main.py': 'print("hello")\n' } });
    expect(r.stdout.toString()).toBe('hello\n');
    expect(r.stderr.toString()).toBe('');
    expect(r.record).toMatchObject({
      v: 1,
      verdict: 'completed',
      exit_code: 0,
      signal: null,
      output_truncated: false,
      stdout_bytes: 6,
      stderr_bytes: 0,
      reason: null,
    });
    // print() is one write, or two with PYTHONUNBUFFERED set; the parser checked the count.
    expect(r.record.frames).toBe(r.chunks.length);
    expect(r.record.peak_memory_bytes).toBeGreaterThan(0);
    expect(r.record.wall_seconds).toBeGreaterThan(0);
  });

  it('when a bash script runs, then it sees its script in the workdir as a plain file, without the ConfigMap internals', async () => {
    const r = await run(['bash', 'main.sh'], {
      files: { 'main.sh': 'echo hello from bash; ls -A; test ! -L main.sh' },
    });
    expect(r.stdout.toString()).toBe('hello from bash\nmain.sh\n');
    expect(r.record).toMatchObject({ verdict: 'completed', exit_code: 0 });
  });

  it('when the run ends, then the termination log holds exactly the JSON of the X line', async () => {
    const r = await run(['bash', '-c', 'echo out; echo err >&2']);
    const lines = r.log.toString('latin1').trimEnd().split('\n');
    const xLine = lines.at(-1)!;
    expect(xLine.startsWith('X ')).toBe(true);
    expect(r.terminationLog).toBe(xLine.slice(2));
    expect(Buffer.byteLength(r.terminationLog)).toBeLessThan(4096);
    expect(parseTerminationRecord(r.terminationLog)).toEqual({ ok: true, record: r.record });
  });

  it('when stdout and stderr interleave, then they stay apart and seq gives their order', async () => {
    const script = [
      'import sys, time',
      'for i in range(4):',
      '    sys.stdout.write(f"out{i}\\n"); sys.stdout.flush(); time.sleep(0.05)',
      '    sys.stderr.write(f"err{i}\\n"); sys.stderr.flush(); time.sleep(0.05)',
    ].join('\n');
    const r = await run(['python3', 'main.py'], { files: { 'main.py': script } });
    expect(r.chunks.map((c) => [c.seq, c.stream, c.data.toString()])).toEqual([
      [0, 'stdout', 'out0\n'],
      [1, 'stderr', 'err0\n'],
      [2, 'stdout', 'out1\n'],
      [3, 'stderr', 'err1\n'],
      [4, 'stdout', 'out2\n'],
      [5, 'stderr', 'err2\n'],
      [6, 'stdout', 'out3\n'],
      [7, 'stderr', 'err3\n'],
    ]);
    expect(r.record).toMatchObject({ stdout_bytes: 20, stderr_bytes: 20, frames: 8 });
  });

  it('when output is written, then it is streamed before the program ends', async () => {
    const script = 'import time\nprint("first", flush=True)\ntime.sleep(1)\nprint("second", flush=True)\n';
    const r = await run(['python3', 'main.py'], { files: { 'main.py': script } });
    const first = r.events.findIndex((e) => e.kind === 'output' && e.data.toString().startsWith('first'));
    expect(first).toBeGreaterThan(0);
    expect(r.elapsedMs - r.at[first]!).toBeGreaterThan(700);
    expect(r.stdout.toString()).toBe('first\nsecond\n');
  });

  it('when the program exits non-zero, then the verdict is still completed with that exit code', async () => {
    const r = await run(['bash', '-c', 'echo failing >&2; exit 7']);
    expect(r.record).toMatchObject({ verdict: 'completed', exit_code: 7, signal: null, reason: null });
    expect(r.stderr.toString()).toBe('failing\n');
  });

  it('when the program kills itself with SIGKILL, then the signal is recorded and the verdict is completed', async () => {
    const r = await run(['bash', '-c', 'echo before; kill -9 $$; echo after']);
    expect(r.record).toMatchObject({ verdict: 'completed', exit_code: null, signal: 'SIGKILL' });
    expect(r.stdout.toString()).toBe('before\n');
  });

  it('when the program exits 152 (what a shell reports for SIGXCPU), then the verdict is completed with exit 152', async () => {
    const r = await run(['python3', '-c', 'import sys; sys.exit(152)']);
    expect(r.record).toMatchObject({ verdict: 'completed', exit_code: 152, signal: null, reason: null });
  });

  it('when the program sends itself SIGXCPU well below the CPU limit, then the verdict is completed with the signal', async () => {
    const r = await run(['python3', '-c', 'import os, signal; os.kill(os.getpid(), signal.SIGXCPU)']);
    expect(r.record).toMatchObject({ verdict: 'completed', exit_code: null, signal: 'SIGXCPU' });
  });

  it('when the program writes every byte value, then the bytes round-trip exactly, in chunks of at most 8 KiB', async () => {
    const script =
      'import sys\nsys.stdout.buffer.write(bytes(range(256)) * 200)\nsys.stderr.buffer.write(bytes(range(255, -1, -1)))\n';
    const r = await run(['python3', 'main.py'], { files: { 'main.py': script } });
    const all = Buffer.alloc(256 * 200);
    for (let i = 0; i < all.length; i++) all[i] = i % 256;
    expect(r.stdout.equals(all)).toBe(true);
    expect([...r.stderr]).toEqual([...Array(256).keys()].reverse());
    expect(Math.max(...r.chunks.map((c) => c.data.length))).toBeLessThanOrEqual(8192);
    expect(r.record).toMatchObject({ stdout_bytes: all.length, stderr_bytes: 256 });
  });

  it('when the program sleeps past the wall limit, then its group is killed within seconds and the verdict is timeout', async () => {
    const r = await run(['bash', '-c', 'sleep 30'], { limits: { wallSeconds: 1 } });
    expect(r.record).toMatchObject({ verdict: 'timeout', signal: 'SIGKILL', exit_code: null });
    expect(r.record.reason).toMatch(/wall-clock limit of 1s/);
    expect(r.record.wall_seconds).toBeGreaterThanOrEqual(1);
    expect(r.elapsedMs).toBeLessThan(5000);
  });

  it('when the program spins past the CPU limit, then the verdict is cpu_limit', async () => {
    const r = await run(['python3', '-c', 'while True: pass'], { limits: { cpuSeconds: 1 } });
    expect(r.record.verdict).toBe('cpu_limit');
    expect(r.record.reason).toMatch(/CPU time limit of 1s/);
    expect(r.record.cpu_seconds).toBeGreaterThanOrEqual(0.9);
    expect(r.record.cpu_seconds).toBeLessThan(3);
  });

  it('when several processes together pass the CPU limit, each under it, then the group is killed with cpu_limit', async () => {
    // Each process has RLIMIT_CPU 2 s; only the runner's poll of the whole group stops them at 1.5 s.
    const script = 'for i in 1 2 3 4; do (while :; do :; done) & done; wait';
    const r = await run(['bash', '-c', script], { limits: { cpuSeconds: 1.5 } });
    expect(r.record.verdict).toBe('cpu_limit');
    expect(r.record.cpu_seconds).toBeGreaterThanOrEqual(1.5);
    expect(r.record.cpu_seconds).toBeLessThan(3);
  });

  it('when, as the container init, two setsid children together pass the CPU limit (each under it) while the program sleeps, then the whole container counts and the verdict is cpu_limit', async () => {
    // Started from a subshell that exits at once, so they are children of the runner and outside
    // the program's group: only a container-wide count sees them (the group's waited-for children
    // never include them). Each stays under its own RLIMIT_CPU (2 s) when the two reach the limit.
    const burner = '(setsid python3 -c "while True: pass" &)';
    const r = await run(['bash', '-c', `${burner}; ${burner}; sleep 30`], {
      limits: { cpuSeconds: 2, wallSeconds: 20 },
      asContainerInit: true,
    });
    expect(r.record).toMatchObject({ verdict: 'cpu_limit' });
    expect(r.record.cpu_seconds).toBeGreaterThanOrEqual(2);
    expect(r.elapsedMs).toBeLessThan(15_000);
  });

  it('when a 0.3 s busy loop runs, then cpu_seconds reports it precisely', async () => {
    const script = 'import time\nwhile time.process_time() < 0.3: pass\n';
    const r = await run(['python3', 'main.py'], { files: { 'main.py': script } });
    expect(r.record.verdict).toBe('completed');
    expect(r.record.cpu_seconds).toBeGreaterThan(0.25);
    expect(r.record.cpu_seconds).toBeLessThan(2);
  });

  it('when the program prints forever, then exactly the cap is kept and the verdict is output_limit', async () => {
    const r = await run(['python3', '-c', 'while True: print("x" * 99)'], {
      limits: { maxOutputBytes: 10_000 },
    });
    expect(r.record).toMatchObject({
      verdict: 'output_limit',
      output_truncated: true,
      stdout_bytes: 10_000,
      stderr_bytes: 0,
      signal: 'SIGKILL',
    });
    expect(r.stdout.length).toBe(10_000);
    expect(r.stdout.toString()).toBe(`${'x'.repeat(99)}\n`.repeat(100));
  });

  it('when the program writes a file beyond the file size limit, then the write fails inside it and the run completes', async () => {
    const script = [
      'import errno, os',
      'try:',
      '    with open("big.bin", "wb") as f:',
      '        f.write(b"\\0" * 2_000_000)',
      '    print("wrote it all")',
      'except OSError as e:',
      '    print(errno.errorcode[e.errno])',
      'print(os.path.getsize("big.bin"))',
    ].join('\n');
    const r = await run(['python3', 'main.py'], {
      files: { 'main.py': script },
      limits: { maxFileBytes: MiB },
    });
    expect(r.stdout.toString()).toBe(`EFBIG\n${MiB}\n`);
    expect(r.record).toMatchObject({ verdict: 'completed', exit_code: 0 });
    expect(statSync(join(r.workdir, 'big.bin')).size).toBe(MiB);
  });

  it('when a stdin file is given, then the program reads it, and it is not copied into the workdir', async () => {
    const script =
      'import os, sys\nprint(sys.stdin.read().upper(), end="")\nprint(sorted(os.listdir(".")))\n';
    const r = await run(['python3', 'main.py'], {
      files: { 'main.py': script },
      stdin: 'line one\nline two\n',
    });
    expect(r.stdout.toString()).toBe("LINE ONE\nLINE TWO\n['main.py']\n");
  });

  it('when no stdin file is given, then stdin is empty', async () => {
    const r = await run(['bash', '-c', 'cat; echo "read $?"']);
    expect(r.stdout.toString()).toBe('read 0\n');
  });

  it('when the program exits and leaves a background process, then that process is killed', async () => {
    const r = await run(['bash', '-c', 'sleep 30 & echo $!']);
    expect(r.record).toMatchObject({ verdict: 'completed', exit_code: 0 });
    expect(r.elapsedMs).toBeLessThan(5000);
    await expectGone(Number(r.stdout.toString()));
  });

  it('when a process that left the group holds stdout open, then the runner stops reading after a grace period', async () => {
    let escaped = 0;
    try {
      const r = await run(['bash', '-c', 'setsid sleep 30 & echo $!']);
      escaped = Number(r.stdout.toString());
      expect(escaped).toBeGreaterThan(0);
      expect(r.record).toMatchObject({ verdict: 'completed', exit_code: 0 });
      expect(r.elapsedMs).toBeLessThan(5000);
    } finally {
      if (escaped > 0) process.kill(escaped, 'SIGKILL');
    }
  });

  it('when the runner gets SIGTERM, then it forwards it to the program and reports how the program ended', async () => {
    const script = "trap 'echo got-term; exit 5' TERM\necho ready\nwhile :; do sleep 0.05; done\n";
    const r = await run(['bash', 'main.sh'], {
      files: { 'main.sh': script },
      onEvent: (event, runnerProcess) => {
        if (event.kind === 'output' && event.data.toString() === 'ready\n') runnerProcess.kill('SIGTERM');
      },
    });
    expect(r.stdout.toString()).toBe('ready\ngot-term\n');
    expect(r.record).toMatchObject({ verdict: 'completed', exit_code: 5 });
  });

  it('when the program does not exist, then the verdict is failed with the reason', async () => {
    const r = await run(['no-such-program-8d2f']);
    expect(r.record).toMatchObject({
      verdict: 'failed',
      exit_code: null,
      signal: null,
      frames: 0,
      stdout_bytes: 0,
      stderr_bytes: 0,
    });
    expect(r.record.reason).toMatch(/cannot start the program: .*no-such-program-8d2f.*not found/);
  });

  it('when its flags are bad, then it exits 2 with a message and still writes a failed record', async () => {
    const dir = mkdtempSync(join(root, 'bad-'));
    const terminationLog = join(dir, 'termination-log');
    const child = spawn(runner, [
      'run',
      '--termination-log',
      terminationLog,
      '--workdir',
      dir,
      '--bogus',
      '--',
      'true',
    ]);
    const parser = new RunnerLogParser();
    const events: RunnerLogEvent[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => events.push(...parser.push(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    events.push(...parser.end());
    expect(code).toBe(2);
    expect(stderr).toMatch(/bogus/);
    const parsed = parseTerminationRecord(readFileSync(terminationLog, 'utf8'));
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.record.verdict).toBe('failed');
    expect(parsed.record.reason).toMatch(/bad runner arguments: .*bogus/);
    expect(events.map((e) => e.kind)).toEqual(['start', 'record']);
  });

  it('when installed somewhere, then the copy is an identical executable that runs programs', async () => {
    const dir = mkdtempSync(join(root, 'install-'));
    const dest = join(dir, 'integr8scode-runner');
    execFileSync(runner, ['install', dest]);
    expect(statSync(dest).mode & 0o777).toBe(0o755);
    expect(readFileSync(dest).equals(readFileSync(runner))).toBe(true);
    expect(readdirSync(dir)).toEqual(['integr8scode-runner']);

    const previous = runner;
    runner = dest;
    try {
      const r = await run(['bash', '-c', 'echo from the copy']);
      expect(r.stdout.toString()).toBe('from the copy\n');
    } finally {
      runner = previous;
    }
  });

  it('when the install destination is not writable, then install fails with a message', () => {
    const dest = join(root, 'missing-dir', 'integr8scode-runner');
    let failure: { status: number | null; stderr: Buffer } | undefined;
    try {
      execFileSync(runner, ['install', dest], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      failure = error as { status: number | null; stderr: Buffer };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr.toString()).toMatch(/integr8scode-runner install: .*no such file or directory/);
    expect(existsSync(dest)).toBe(false);
  });
});
