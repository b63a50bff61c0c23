import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AppError } from '../../platform/errors/app-error.js';
import { LifecycleGate, type Component } from '../../platform/lifecycle/component.js';
import type { Logger } from '../../platform/logging/logger.js';
import { SANDBOX_ENV, type LauncherEvent, type LauncherRequest } from './sandbox-launcher-protocol.js';

export interface SandboxLauncherOptions {
  logger: Logger;
}

export interface SandboxCommand {
  file: string;
  args: string[];
  /** Written to the sandbox's stdin, which is then closed. */
  stdin: string;
  /** A file the launcher opens and passes as fd SANDBOX_SECCOMP_FD (bwrap --seccomp). */
  seccompFile?: string;
  /** Written to a pipe on fd SANDBOX_ARGS_FD, then closed (bwrap --args). */
  argsData?: string;
  /**
   * Every process of the run joins a cgroup that the caller kills when the run fails (the local
   * executor's): if the launcher dies, that kill ends them and the launcher leaves the group alone.
   */
  inCgroup?: boolean;
}

/** What one sandbox process reports, in the order its launcher saw it (like a ChildProcess). */
export interface SandboxProcessEvents {
  spawn: [pid: number];
  stdout: [chunk: Buffer];
  stderr: [chunk: Buffer];
  /** Text bwrap wrote on the status fd (fd 3). */
  status: [text: string];
  exit: [code: number | null, signal: NodeJS.Signals | null];
  /** The spawn failed, or the launcher was lost (SandboxLauncherLostError): nothing follows. */
  error: [err: Error];
  /** Exited and every pipe closed: nothing follows. */
  close: [];
}

/** The launcher died or was stopped while this sandbox was in flight. */
export class SandboxLauncherLostError extends Error {
  override readonly name = 'SandboxLauncherLostError';
}

/** One sandbox process, started and read by the launcher on the worker's behalf. */
export class SandboxProcess extends EventEmitter<SandboxProcessEvents> {
  constructor(private readonly control: { kill(): void; release(): void }) {
    super();
  }

  /** SIGKILLs the sandbox's process group, unless it has already exited. */
  kill(): void {
    this.control.kill();
  }

  /** Done with it: the launcher stops reading its pipes, and no event follows. */
  release(): void {
    this.control.release();
  }
}

interface RunState {
  handle: SandboxProcess;
  pid: number | undefined;
  exited: boolean;
  inCgroup: boolean;
}

/** One forked launcher process; a lost one is replaced by a new instance on the next launch. */
interface Instance {
  child: ChildProcess;
  ready: boolean;
  lost: boolean;
  /** stop() asked it to exit. */
  stopping: boolean;
  /** Why it went away when that is not just its exit status (stopped, never became ready…). */
  note: string | undefined;
  /** Requests sent before the launcher listens. */
  queue: LauncherRequest[];
  runs: Map<number, RunState>;
  whenReady: Promise<void>;
  exited: Promise<void>;
}

/** How long a new launcher may take to report ready (under tsx it compiles its entry first). */
const READY_TIMEOUT_MS = 20_000;
/** After disconnecting, how long the launcher has to kill its sandboxes and exit. */
const STOP_GRACE_MS = 5_000;

/** The child entry beside this module, and the node flags that can load it. */
function launcherEntry(): { path: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  const path = join(dirname(self), `sandbox-launcher-process${extname(self)}`);
  // Compiled JS, or node --import tsx / the tsx CLI: the inherited flags load the entry.
  if (extname(self) !== '.ts' || process.execArgv.some((arg) => arg.includes('tsx'))) {
    return { path, execArgv: process.execArgv };
  }
  // TypeScript loaded by something else (vitest): the entry needs tsx's loader.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { path, execArgv: [...process.execArgv, '--import', tsx] };
}

/**
 * Starts sandbox processes from a small, long-lived child process instead of the worker. Node's
 * spawn forks the calling process, and fork costs time in proportion to the caller's memory: ~15 ms
 * of blocked event loop from a 260 MB worker, ~1 ms from this launcher (~45 MB compiled, ~75 MB
 * under tsx; docs/sandbox.md).
 * Only spawning and pipe reading live there; limits, cgroups and verdicts stay in the worker.
 * A launcher that dies fails its runs with SandboxLauncherLostError and is replaced on next use.
 */
export class SandboxLauncher implements Component {
  readonly name = 'sandbox-launcher';
  private readonly gate = new LifecycleGate();
  private readonly logger: Logger;
  private instance: Instance | undefined;
  private nextId = 0;

  constructor(options: SandboxLauncherOptions) {
    this.logger = options.logger.child({ component: 'sandbox-launcher' });
  }

  start(): Promise<void> {
    return this.gate.start(() => this.current().whenReady);
  }

  stop(): Promise<void> {
    return this.gate.stop(() => this.shutdown());
  }

  /** pid of the live launcher process, if any. */
  get pid(): number | undefined {
    return this.instance && !this.instance.lost ? this.instance.child.pid : undefined;
  }

  /** Starts `file args` in its own process group; restarts the launcher first if it died. */
  launch(command: SandboxCommand): SandboxProcess {
    if (!this.gate.running) throw new AppError('internal', 'sandbox launcher not running');
    const instance = this.current();
    const id = ++this.nextId;
    const handle = new SandboxProcess({
      kill: () => {
        const run = instance.runs.get(id);
        if (run && !run.exited) this.post(instance, { type: 'kill', id });
      },
      release: () => {
        // Not there: released before, or already closed, failed or lost (each forgets the run).
        if (!instance.runs.delete(id)) return;
        this.post(instance, { type: 'release', id });
        this.updateRef(instance);
      },
    });
    instance.runs.set(id, { handle, pid: undefined, exited: false, inCgroup: command.inCgroup ?? false });
    const { file, args, stdin, seccompFile, argsData } = command;
    this.post(instance, {
      type: 'launch',
      id,
      file,
      args,
      stdin,
      ...(seccompFile === undefined ? {} : { seccompFile }),
      ...(argsData === undefined ? {} : { argsData }),
    });
    this.updateRef(instance);
    return handle;
  }

  private current(): Instance {
    if (this.instance && !this.instance.lost) return this.instance;
    this.instance = this.forkLauncher();
    return this.instance;
  }

  private forkLauncher(): Instance {
    const { path, execArgv } = launcherEntry();
    const child = fork(path, [], {
      execArgv,
      // The launcher's whole environment: nothing of the worker's (SECRET_KEY, MONGO_PASSWORD…).
      env: SANDBOX_ENV,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Out of the worker's process group: a terminal's Ctrl-C reaches the worker, which then
      // stops its runs and this launcher in order.
      detached: true,
    });
    let resolveReady: () => void = () => undefined;
    let rejectReady: (err: Error) => void = () => undefined;
    const whenReady = new Promise<void>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    // Rejected when the launcher is lost before it is ready; only start() needs to hear about it.
    whenReady.catch(() => undefined);
    let markExited: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => (markExited = resolve));
    const instance: Instance = {
      child,
      ready: false,
      lost: false,
      stopping: false,
      note: undefined,
      queue: [],
      runs: new Map(),
      whenReady,
      exited,
    };
    const readyTimer = setTimeout(() => {
      instance.note = `did not become ready within ${READY_TIMEOUT_MS} ms`;
      child.kill('SIGKILL');
    }, READY_TIMEOUT_MS);

    child.on('message', (event: LauncherEvent) => {
      if (event.type === 'ready') {
        clearTimeout(readyTimer);
        instance.ready = true;
        for (const request of instance.queue.splice(0)) this.post(instance, request);
        this.updateRef(instance);
        this.logger.info({ launcherPid: event.pid }, 'sandbox launcher ready');
        resolveReady();
      } else this.deliver(instance, event);
    });
    // Without its channel the launcher is of no use; it exits on its own, this makes sure.
    child.on('disconnect', () => {
      if (!instance.stopping && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const lost = (reason: string): void => {
      clearTimeout(readyTimer);
      markExited();
      const err = new SandboxLauncherLostError(
        `sandbox launcher (pid ${child.pid ?? '?'}) ${instance.note ?? reason}`,
      );
      rejectReady(err);
      this.lose(instance, err);
    };
    child.on('exit', (code, signal) =>
      lost(signal ? `was killed by ${signal}` : `exited with code ${code ?? '?'}`),
    );
    // Only a failed fork ends without 'exit'.
    child.on('error', (err) => {
      if (child.pid === undefined) lost(`could not be started: ${err.message}`);
    });
    return instance;
  }

  private post(instance: Instance, request: LauncherRequest): void {
    if (instance.lost) return;
    if (!instance.ready) {
      instance.queue.push(request);
      return;
    }
    // A closed channel shows up as the launcher's exit, which fails the runs.
    instance.child.send(request, () => undefined);
  }

  private deliver(instance: Instance, event: Exclude<LauncherEvent, { type: 'ready' }>): void {
    const run = instance.runs.get(event.id);
    if (!run) return; // released
    const { handle } = run;
    switch (event.type) {
      case 'spawn':
        run.pid = event.pid;
        handle.emit('spawn', event.pid);
        break;
      case 'output':
        handle.emit(event.stream, event.chunk);
        break;
      case 'status':
        handle.emit('status', event.text);
        break;
      case 'exit':
        run.exited = true;
        handle.emit('exit', event.code, event.signal);
        break;
      case 'error':
        instance.runs.delete(event.id);
        this.updateRef(instance);
        emitError(handle, new Error(event.message));
        break;
      case 'close':
        instance.runs.delete(event.id);
        this.updateRef(instance);
        handle.emit('close');
        break;
    }
  }

  private lose(instance: Instance, err: SandboxLauncherLostError): void {
    if (instance.lost) return;
    instance.lost = true;
    instance.queue = [];
    if (this.instance === instance) this.instance = undefined;
    const runs = [...instance.runs.values()];
    instance.runs.clear();
    for (const run of runs) {
      // Orphans, now reaped by init: once a whole group is gone its id may be reused, so a root
      // worker kills by id only without a cgroup (whose kill follows the error below). Then this
      // alone ends a plain command, or sh → prlimit → setpriv before bwrap's --die-with-parent.
      if (!run.inCgroup && !run.exited && run.pid !== undefined) {
        try {
          process.kill(-run.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      emitError(run.handle, err);
    }
    if (instance.stopping) this.logger.info('sandbox launcher stopped');
    else this.logger.warn({ err: err.message, runsFailed: runs.length }, 'sandbox launcher lost');
  }

  /** While idle, the launcher does not keep the worker's event loop alive. */
  private updateRef(instance: Instance): void {
    if (instance.lost) return;
    const { child } = instance;
    if (!instance.ready || instance.runs.size > 0) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }

  private async shutdown(): Promise<void> {
    const instance = this.instance;
    this.instance = undefined;
    if (!instance || instance.lost) return;
    instance.stopping = true;
    instance.note = 'was stopped';
    // On disconnect the launcher kills its sandboxes' process groups and exits.
    if (instance.child.connected) instance.child.disconnect();
    const timer = setTimeout(() => instance.child.kill('SIGKILL'), STOP_GRACE_MS);
    await instance.exited;
    clearTimeout(timer);
  }
}

function emitError(handle: SandboxProcess, err: Error): void {
  // An 'error' event without a listener would throw in the middle of the IPC handler.
  if (handle.listenerCount('error') > 0) handle.emit('error', err);
}
