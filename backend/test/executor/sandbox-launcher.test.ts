import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/executor/local/local-executor.js';
import {
  SandboxLauncher,
  SandboxLauncherLostError,
  type SandboxProcess,
  type SandboxProcessEvents,
} from '../../src/executor/local/sandbox-launcher.js';
import { isRunning, procStat } from '../processes/proc-stat.js';
import { eventually } from '../test-logger.js';
import { runScript, testUidPool } from './fixtures/local-runs.js';

// The launcher process with real programs (sh, sleep, head, cat), no sandbox; the last block runs
// the local executor (bubblewrap, cgroups) on top of it. None of the Kafka/Mongo/Redis servers.
const SECRET = 'launcher-must-not-see-0123456789abcdef';
const logger = pino({ level: 'warn' });
const HOST_FIXTURE = fileURLToPath(new URL('./fixtures/launcher-host.ts', import.meta.url));

interface Collected {
  /** stdout/stderr chunks in arrival order. */
  chunks: { stream: 'stdout' | 'stderr'; chunk: Buffer }[];
  status: string;
  pid: Promise<number>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  closed: Promise<void>;
  error: Promise<Error>;
  stream(name: 'stdout' | 'stderr'): Buffer;
}

function collect(handle: SandboxProcess): Collected {
  const collected: Collected = {
    chunks: [],
    status: '',
    pid: new Promise((resolve) => handle.once('spawn', resolve)),
    exit: new Promise((resolve) => handle.once('exit', (code, signal) => resolve({ code, signal }))),
    closed: new Promise((resolve) => handle.once('close', resolve)),
    error: new Promise((resolve) => handle.once('error', resolve)),
    stream: (name) => Buffer.concat(collected.chunks.filter((c) => c.stream === name).map((c) => c.chunk)),
  };
  handle.on('stdout', (chunk) => collected.chunks.push({ stream: 'stdout', chunk }));
  handle.on('stderr', (chunk) => collected.chunks.push({ stream: 'stderr', chunk }));
  handle.on('status', (text) => (collected.status += text));
  return collected;
}

function sh(
  launcher: SandboxLauncher,
  script: string,
  stdin = '',
): { handle: SandboxProcess; run: Collected } {
  const handle = launcher.launch({ file: '/bin/sh', args: ['-c', script], stdin });
  return { handle, run: collect(handle) };
}

/** Live (non-zombie) members of a process group; the host's init reaps orphaned zombies late. */
function liveMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      const s = procStat(pid);
      return s !== undefined && s.pgrp === pgid && s.state !== 'Z';
    });
}

/** Waits (3 s at most) for `condition`; the processes here all die or appear within milliseconds. */
async function until(condition: () => boolean, what: string): Promise<void> {
  await eventually(() => condition() || undefined, { timeoutMs: 3000, intervalMs: 20, what });
}

async function firstOutput(collected: Collected): Promise<void> {
  await until(() => collected.chunks.length > 0, 'first output');
}

let launcher: SandboxLauncher;

beforeAll(async () => {
  process.env.SECRET_KEY = SECRET;
  process.env.MONGO_PASSWORD = SECRET;
  launcher = new SandboxLauncher({ logger });
  await launcher.start();
});

afterAll(async () => {
  await launcher?.stop();
  delete process.env.SECRET_KEY;
  delete process.env.MONGO_PASSWORD;
});

describe('sandbox launcher: forwarding', () => {
  it('when a process writes to stdout, stderr and the status fd, then each arrives in order and the exit code follows', async () => {
    const { run } = sh(
      launcher,
      'printf out1; sleep 0.05; printf err1 >&2; sleep 0.05; printf out2; printf \'{"child-pid": 1}\' >&3; exit 7',
    );
    expect(await run.exit).toEqual({ code: 7, signal: null });
    await run.closed;
    // How the bytes are cut into chunks (and whether out2 beats err1) depends on when the
    // launcher gets to read: only each stream's bytes and which stream came first are fixed.
    expect(run.stream('stdout').toString()).toBe('out1out2');
    expect(run.stream('stderr').toString()).toBe('err1');
    const first = (stream: 'stdout' | 'stderr') => run.chunks.findIndex((c) => c.stream === stream);
    expect(first('stdout')).toBe(0);
    expect(first('stderr')).toBeGreaterThan(0);
    expect(run.status).toBe('{"child-pid": 1}');
    expect(await run.pid).toBeGreaterThan(1);
  });

  it('when a seccomp file and args data are given, then they arrive as fds 4 and 5 through exec and each run reads the file from its start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'launcher-fds-'));
    try {
      const file = join(dir, 'filter.bpf');
      writeFileSync(file, 'filter bytes\n', { mode: 0o600 });
      const launch = () =>
        launcher.launch({
          file: '/bin/sh',
          // exec: the fds must survive an exec, as through prlimit and setpriv into bwrap.
          args: ['-c', "exec /bin/sh -c \"cat <&4; cat <&5 | tr '\\0' '|'\""],
          stdin: '',
          seccompFile: file,
          argsData: '--seccomp\x004\0--args\0',
        });
      const runs = [collect(launch()), collect(launch())];
      for (const run of runs) {
        expect(await run.exit).toEqual({ code: 0, signal: null });
        await run.closed;
        expect(run.stream('stdout').toString()).toBe('filter bytes\n--seccomp|4|--args|');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when a process writes megabytes of random bytes, then every byte arrives in order', async () => {
    const { run } = sh(
      launcher,
      'f=$(mktemp); head -c 3000000 /dev/urandom > "$f"; cat "$f"; sha256sum "$f" >&2; rm "$f"',
    );
    await run.closed;
    const stdout = run.stream('stdout');
    expect(stdout.length).toBe(3_000_000);
    expect(run.stream('stderr').toString().split(' ')[0]).toBe(
      createHash('sha256').update(stdout).digest('hex'),
    );
    expect(Buffer.isBuffer(run.chunks[0]?.chunk)).toBe(true);
  });

  it('when stdin is given, then the process reads all of it and then end of file', async () => {
    const input = 'line one\n'.repeat(20_000);
    const { run } = sh(launcher, 'cat; echo EOF', input);
    await run.closed;
    expect(run.stream('stdout').toString()).toBe(`${input}EOF\n`);
  });

  it('when the program does not exist, then an error says so and nothing else follows', async () => {
    const handle = launcher.launch({ file: '/nonexistent/program', args: [], stdin: '' });
    const run = collect(handle);
    const seen: (keyof SandboxProcessEvents)[] = [];
    const names: (keyof SandboxProcessEvents)[] = [
      'spawn',
      'stdout',
      'stderr',
      'status',
      'exit',
      'error',
      'close',
    ];
    for (const name of names) handle.on(name, () => seen.push(name));
    const err = await run.error;
    expect(err.message).toMatch(/ENOENT/);
    expect(err).not.toBeInstanceOf(SandboxLauncherLostError);
    // The launcher's events reach the worker in order, so once a later launch has closed,
    // anything it sent for the failed run has arrived too.
    const { run: barrier } = sh(launcher, 'exit 0');
    await barrier.closed;
    expect(seen).toEqual(['error']);
  });

  it('when the worker has secrets in its environment, then neither the launcher nor its processes see them', async () => {
    const environ = readFileSync(`/proc/${launcher.pid}/environ`, 'utf8');
    expect(environ).not.toContain(SECRET);
    // fork() adds its channel variables; node removes them from process.env at start.
    expect(environ.split('\0').filter((v) => v && !v.startsWith('NODE_CHANNEL_'))).toEqual([
      'PATH=/usr/bin:/bin',
    ]);
    const handle = launcher.launch({ file: '/usr/bin/env', args: [], stdin: '' });
    const run = collect(handle);
    await run.closed;
    expect(run.stream('stdout').toString()).toBe('PATH=/usr/bin:/bin\n');
  });
});

describe('sandbox launcher: killing and losing it', () => {
  it('when a process is killed, then its whole process group dies', async () => {
    const { handle, run } = sh(launcher, 'sleep 30 & sleep 30 & echo ready; wait');
    const pid = await run.pid;
    await firstOutput(run);
    expect(liveMembers(pid).length).toBe(3);
    handle.kill();
    expect(await run.exit).toEqual({ code: null, signal: 'SIGKILL' });
    await until(() => liveMembers(pid).length === 0, 'the process group to die');
  });

  it('when the launcher is SIGKILLed mid-run, then the run fails at once, its group is killed, and the next launch starts a new launcher', async () => {
    const { run } = sh(launcher, 'sleep 30 & echo ready; wait');
    const pid = await run.pid;
    await firstOutput(run);
    const oldLauncher = launcher.pid!;
    const killedAt = Date.now();
    process.kill(oldLauncher, 'SIGKILL');
    const err = await run.error;
    expect(Date.now() - killedAt).toBeLessThan(1000);
    expect(err).toBeInstanceOf(SandboxLauncherLostError);
    expect(err.message).toMatch(/sandbox launcher \(pid \d+\) was killed by SIGKILL/);
    await until(() => liveMembers(pid).length === 0, 'the orphaned process group to die');

    const { run: next } = sh(launcher, 'echo again');
    await next.closed;
    expect(next.stream('stdout').toString()).toBe('again\n');
    expect(launcher.pid).toBeDefined();
    expect(launcher.pid).not.toBe(oldLauncher);
  });

  it('when the worker dies, then its launcher kills its processes and exits', async () => {
    const host = spawn(process.execPath, ['--import', 'tsx', HOST_FIXTURE], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let text = '';
        host.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('\n')) resolve(text.split('\n')[0]!);
        });
        host.once('exit', (code) => reject(new Error(`host exited with ${code}`)));
      });
      const { launcherPid, sandboxPid } = JSON.parse(line) as { launcherPid: number; sandboxPid: number };
      expect(isRunning(launcherPid)).toBe(true);
      expect(liveMembers(sandboxPid).length).toBe(3);
      host.kill('SIGKILL');
      await until(() => !isRunning(launcherPid), 'the launcher to exit');
      await until(() => liveMembers(sandboxPid).length === 0, 'the process group to die');
    } finally {
      host.kill('SIGKILL');
    }
  });

  it('when stopped with a run in flight, then the run fails, its group is killed, and launch is refused', async () => {
    const own = new SandboxLauncher({ logger });
    await own.start();
    const launcherPid = own.pid!;
    const { run } = sh(own, 'sleep 30 & echo ready; wait');
    const pid = await run.pid;
    await firstOutput(run);
    await own.stop();
    expect(await run.error).toBeInstanceOf(SandboxLauncherLostError);
    expect(isRunning(launcherPid)).toBe(false);
    await until(() => liveMembers(pid).length === 0, 'the process group to die');
    expect(() => own.launch({ file: '/bin/true', args: [], stdin: '' })).toThrow(/not running/);
  });
});

// Its own executor, to reach the launcher it kills: on the executor of local-executor.test.ts this
// would fail that file's concurrent runs. The tests of this file run one at a time.
describe('local executor on the launcher', () => {
  const executorLauncher = new SandboxLauncher({ logger });
  const executor = new LocalExecutor({ logger, launcher: executorLauncher, uidPool: testUidPool(1) });

  beforeAll(async () => {
    await executor.start();
  }, 300_000);

  afterAll(async () => {
    await executor.stop();
  });

  it('when the launcher is SIGKILLed mid-run, then the run fails with the reason, the sandbox is gone, and the next run works', async () => {
    let sandboxPid: number | undefined;
    const launcherPid = executorLauncher.pid!;
    const { outcome } = await runScript(
      executor,
      'bash',
      'sleep 30 & echo started; wait\n',
      { limits: { wallSeconds: 20 } },
      (pid) => {
        sandboxPid = pid;
        process.kill(launcherPid, 'SIGKILL');
      },
    );
    expect(outcome.verdict).toBe('failed');
    expect(outcome.reason).toMatch(/sandbox launcher \(pid \d+\) was killed by SIGKILL/);
    expect(outcome.wallSeconds).toBeLessThan(3);
    expect(sandboxPid).toBeDefined();
    expect(isRunning(sandboxPid!)).toBe(false);

    const { outcome: after } = await runScript(executor, 'bash', 'echo alive\n');
    expect(after).toMatchObject({ verdict: 'completed', exitCode: 0 });
    expect(after.stdout.toString()).toBe('alive\n');
    expect(executorLauncher.pid).not.toBe(launcherPid);
  });
});
