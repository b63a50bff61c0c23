import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import {
  SANDBOX_ARGS_FD,
  SANDBOX_ENV,
  SANDBOX_SECCOMP_FD,
  SANDBOX_STATUS_FD,
  type LauncherEvent,
  type LauncherRequest,
} from './sandbox-launcher-protocol.js';

// Entry of the sandbox launcher, a child of the worker (see sandbox-launcher.ts). fork() copies the
// parent's memory map, so spawning from this small process costs ~1 ms where spawning from the
// worker costs ~15 ms of blocked event loop. Imports nothing but node: built-ins on purpose.

/** Unsent output of one run above which its pipes are paused, so the sandbox waits, not our heap. */
const PAUSE_BYTES = 1024 * 1024;
const RESUME_BYTES = 256 * 1024;

interface Run {
  child: ChildProcess;
  exited: boolean;
  unsent: number;
  paused: boolean;
}

const runs = new Map<number, Run>();

function send(event: LauncherEvent, sent?: () => void): void {
  if (!process.connected || !process.send) return;
  process.send(event, undefined, undefined, sent ? () => sent() : undefined);
}

function killGroup(run: Run): void {
  // Only while the leader has not been reaped: afterwards its pid (the group id) may be reused.
  if (run.exited || run.child.pid === undefined) return;
  try {
    process.kill(-run.child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function killAllAndExit(code: number): never {
  for (const run of runs.values()) killGroup(run);
  process.exit(code);
}

function launch(request: Extract<LauncherRequest, { type: 'launch' }>): void {
  const { id } = request;
  let child: ChildProcess;
  let seccompFd: number | undefined;
  try {
    // Opened per run: each sandbox reads its own copy from offset 0. The child gets it without
    // close-on-exec, so it survives sh → prlimit → setpriv into bwrap, which closes it.
    if (request.seccompFile !== undefined) seccompFd = openSync(request.seccompFile, 'r');
    const stdio: StdioOptions = ['pipe', 'pipe', 'pipe', 'pipe'];
    if (request.seccompFile !== undefined || request.argsData !== undefined) {
      stdio[SANDBOX_SECCOMP_FD] = seccompFd ?? 'ignore';
      stdio[SANDBOX_ARGS_FD] = request.argsData === undefined ? 'ignore' : 'pipe';
    }
    child = spawn(request.file, request.args, {
      // Nothing of any environment reaches the sandbox (bwrap also runs with --clearenv).
      env: SANDBOX_ENV,
      // Not the worker's directory: sh exports it as PWD, and bwrap's pid-1 init (a fork of bwrap)
      // keeps that environment where the program can read it (/proc/1/environ).
      cwd: '/',
      stdio,
      // Its own process group, so one kill reaches everything it forked outside the cgroup.
      detached: true,
    });
  } catch (err) {
    send({ type: 'error', id, message: (err as Error).message });
    return;
  } finally {
    if (seccompFd !== undefined) closeSync(seccompFd);
  }
  const run: Run = { child, exited: false, unsent: 0, paused: false };
  runs.set(id, run);
  const current = () => runs.get(id) === run;
  if (child.pid !== undefined) send({ type: 'spawn', id, pid: child.pid });

  const outputs = [child.stdout, child.stderr];
  const forward = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    if (!current()) return;
    run.unsent += chunk.length;
    send({ type: 'output', id, stream, chunk }, () => {
      run.unsent -= chunk.length;
      if (run.paused && run.unsent <= RESUME_BYTES) {
        run.paused = false;
        for (const output of outputs) output?.resume();
      }
    });
    if (!run.paused && run.unsent > PAUSE_BYTES) {
      run.paused = true;
      for (const output of outputs) output?.pause();
    }
  };
  child.stdout?.on('data', forward('stdout'));
  child.stderr?.on('data', forward('stderr'));
  const status = child.stdio[SANDBOX_STATUS_FD] as Readable | null;
  status?.setEncoding('utf8');
  status?.on('data', (text: string) => {
    if (current()) send({ type: 'status', id, text });
  });
  for (const stream of [child.stdout, child.stderr, status]) stream?.on('error', () => undefined);
  // The program may exit (or close stdin) before reading all of it.
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(request.stdin);
  if (request.argsData !== undefined) {
    // ChildProcess types its stdio as five streams; the sixth is there all the same.
    const args = (child.stdio as readonly unknown[])[SANDBOX_ARGS_FD] as Writable | null | undefined;
    args?.on('error', () => undefined);
    args?.end(request.argsData);
  }

  child.on('exit', (code, signal) => {
    run.exited = true;
    if (current()) send({ type: 'exit', id, code, signal });
  });
  child.on('error', (err) => {
    // A failed spawn: there is no process to wait for.
    run.exited = true;
    if (!current()) return;
    runs.delete(id);
    send({ type: 'error', id, message: err.message });
  });
  child.on('close', () => {
    if (!current()) return;
    runs.delete(id);
    send({ type: 'close', id });
  });
}

function release(id: number): void {
  const run = runs.get(id);
  if (!run) return;
  runs.delete(id);
  for (const stream of run.child.stdio) stream?.destroy();
}

function onRequest(request: LauncherRequest): void {
  switch (request.type) {
    case 'launch':
      launch(request);
      break;
    case 'kill': {
      const run = runs.get(request.id);
      if (run) killGroup(run);
      break;
    }
    case 'release':
      release(request.id);
      break;
  }
}

if (!process.send) {
  process.stderr.write('sandbox-launcher-process: must be started by the worker (child_process.fork)\n');
  process.exit(2);
}
// The worker is gone (or stopped us): nothing may outlive it.
process.on('disconnect', () => killAllAndExit(0));
process.on('SIGTERM', () => killAllAndExit(0));
process.on('uncaughtException', (err) => {
  process.stderr.write(`sandbox-launcher-process: ${err.stack ?? err.message}\n`);
  killAllAndExit(70);
});
process.on('message', (request: LauncherRequest) => onRequest(request));
send({ type: 'ready', pid: process.pid });
