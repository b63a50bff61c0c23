import { randomBytes } from 'node:crypto';
import { access, chmod, constants, lstat, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../platform/errors/app-error.js';
import { LifecycleGate, type Component } from '../../platform/lifecycle/component.js';
import { withCorrelation, type Logger } from '../../platform/logging/logger.js';
import type {
  ExecutionLimits,
  ExecutionOutcome,
  ExecutionRequest,
  ExecutorBackend,
  LimitEnforcement,
  OutputSink,
  OutputStream,
  Runtime,
} from '../executor-backend.js';
import { OutputCap } from '../output-cap.js';
import {
  discoverRuntimes,
  GO_CACHE_PROG_PATH,
  GO_CACHE_SEED_DIR,
  type MissingRuntime,
  type RuntimeSpec,
} from '../runtimes.js';
import { classify, type KillReason } from '../verdict.js';
import { detectCgroups, type CgroupDriver, type CgroupStats, type RunCgroup } from './cgroups.js';
import { ensureGoCacheSeed, installGoCacheProg } from './go-cache.js';
import { buildSandboxArgv, type RootEntry, type SandboxTools } from './sandbox-command.js';
import { SandboxLauncher, SandboxLauncherLostError } from './sandbox-launcher.js';
import { SANDBOX_ARGS_FD, SANDBOX_SECCOMP_FD, SANDBOX_STATUS_FD } from './sandbox-launcher-protocol.js';
import {
  assertRangeUnused,
  DEFAULT_SANDBOX_UIDS,
  reapUid,
  SANDBOX_INSIDE_ID,
  writeRunScript,
} from './sandbox-uids.js';
import { seccompArchOf, seccompFilter } from './seccomp-filter.js';
import { UidPool } from './uid-pool.js';

export interface LocalExecutorOptions {
  logger: Logger;
  /** Parent of the per-instance directory holding scripts and the sandbox's /etc files. */
  stateRoot?: string;
  /** Persistent cache directory (the Go build cache seed). */
  cacheDir?: string;
  /** `off` runs with prlimit only, as where no cgroup is writable. */
  cgroups?: 'auto' | 'off';
  /**
   * Host uids of the sandboxes when the worker runs as root, one per run (SANDBOX_UID_BASE,
   * SANDBOX_UID_COUNT); DEFAULT_SANDBOX_UIDS when absent.
   */
  uidPool?: UidPool;
  /** Starts the sandbox processes; the executor starts and stops it. One of its own by default. */
  launcher?: SandboxLauncher;
}

/** Limits of the start-up run that proves each runtime works in the sandbox. */
const PROBE_LIMITS: ExecutionLimits = {
  wallSeconds: 60,
  cpuSeconds: 30,
  memoryBytes: 512 * 1024 * 1024,
  maxProcesses: 128,
  maxFileBytes: 256 * 1024 * 1024,
  maxOutputBytes: 64 * 1024,
};

const CPU_POLL_MS = 25;
/** After the sandbox process exits, how long to wait for its pipes to drain. */
const DRAIN_MS = 1000;
const EXECUTION_ID = /^[A-Za-z0-9_.-]{1,128}$/;

const EMPTY_STATS: CgroupStats = { cpuSeconds: 0, peakMemoryBytes: 0, oomKills: 0, pidsLimitHits: 0 };

async function findTool(name: string): Promise<string | undefined> {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin']) {
    try {
      await access(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // Keep looking.
    }
  }
  return undefined;
}

/** Read-only root of every sandbox: the system dirs, symlinked as on the host when merged-/usr. */
async function systemRoot(): Promise<RootEntry[]> {
  const entries: RootEntry[] = [{ kind: 'ro-bind', host: '/usr', path: '/usr' }];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    try {
      const info = await lstat(dir);
      if (info.isSymbolicLink()) {
        entries.push({ kind: 'symlink', target: await readlink(dir), path: dir });
      } else if (info.isDirectory()) entries.push({ kind: 'ro-bind', host: dir, path: dir });
    } catch {
      // Not on this host.
    }
  }
  // The dynamic linker cache and the alternatives symlinks /usr/bin points into; nothing else of /etc.
  for (const file of ['/etc/ld.so.cache', '/etc/alternatives', '/etc/localtime']) {
    try {
      await access(file, constants.R_OK);
      entries.push({ kind: 'ro-bind', host: file, path: file });
    } catch {
      // Not on this host.
    }
  }
  return entries;
}

function validateLimits(limits: ExecutionLimits): void {
  const keys = Object.keys(PROBE_LIMITS) as (keyof ExecutionLimits)[];
  for (const key of keys) {
    const value: unknown = limits[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new AppError('validation', `limit ${key} must be a positive number`, {
        details: { [key]: value },
      });
    }
  }
}

/**
 * Runs scripts on this host in bubblewrap sandboxes: no network, read-only system dirs, a private
 * size-limited tmpfs, an unprivileged uid, and a per-run cgroup that bounds memory, tasks and CPU
 * and guarantees nothing outlives the run. See docs/sandbox.md.
 */
export class LocalExecutor implements ExecutorBackend, Component {
  readonly name = 'local-executor';
  private readonly gate = new LifecycleGate();
  private readonly logger: Logger;
  private tools: SandboxTools | undefined;
  private cgroups: CgroupDriver | null = null;
  private stateDir = '';
  private root: RootEntry[] = [];
  private specs: RuntimeSpec[] = [];
  private missing: MissingRuntime[] = [];
  private detected: LimitEnforcement | undefined;
  private readonly inFlight = new Map<string, { abort: AbortController; done: Promise<unknown> }>();
  /** uid/gid inside the sandbox; outside, a uid of uidPool (root) or the worker's own. */
  private readonly uid: number;
  private readonly gid: number;
  private readonly uidPool: UidPool | null;
  private seccompFile = '';
  private readonly launcher: SandboxLauncher;

  constructor(private readonly options: LocalExecutorOptions) {
    this.logger = options.logger.child({ component: 'local-executor' });
    this.launcher = options.launcher ?? new SandboxLauncher({ logger: options.logger });
    const root = process.getuid?.() === 0;
    this.uid = root ? SANDBOX_INSIDE_ID : (process.getuid?.() ?? SANDBOX_INSIDE_ID);
    this.gid = root ? SANDBOX_INSIDE_ID : (process.getgid?.() ?? SANDBOX_INSIDE_ID);
    this.uidPool = root
      ? (options.uidPool ?? new UidPool(DEFAULT_SANDBOX_UIDS.base, DEFAULT_SANDBOX_UIDS.count))
      : null;
  }

  start(): Promise<void> {
    return this.gate.start(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.gate.stop(() => this.doStop());
  }

  runtimes(): Runtime[] {
    return this.specs.map(({ lang, version, fullVersion, fileExtension, command, exampleScript }) => ({
      lang,
      version,
      fullVersion,
      fileExtension,
      command,
      exampleScript,
    }));
  }

  /** Runtimes found on the host but left out, with the reason. */
  unavailableRuntimes(): MissingRuntime[] {
    return [...this.missing];
  }

  enforcement(): LimitEnforcement {
    if (!this.detected) throw new AppError('internal', 'local executor not started');
    return { ...this.detected };
  }

  private async doStart(): Promise<void> {
    const [sh, prlimit, bwrap, setpriv] = await Promise.all(
      ['sh', 'prlimit', 'bwrap', 'setpriv'].map((name) => findTool(name)),
    );
    if (!sh || !prlimit || !bwrap) {
      throw new AppError(
        'dependency_unavailable',
        'local executor needs bwrap (bubblewrap) and prlimit: run scripts/install-sandbox.sh',
      );
    }
    const asRoot = process.getuid?.() === 0;
    if (asRoot && !setpriv) throw new AppError('dependency_unavailable', 'running as root needs setpriv');
    this.tools = { sh, prlimit, bwrap, ...(asRoot && setpriv ? { setpriv } : {}) };
    const arch = seccompArchOf(process.arch);
    if (!arch) throw new AppError('dependency_unavailable', `no seccomp filter for ${process.arch}`);
    if (this.uidPool) await assertRangeUnused(this.uidPool);

    if (this.options.cgroups !== 'off') {
      const detection = await detectCgroups();
      this.cgroups = detection.driver;
      for (const note of detection.notes) this.logger.info({ note }, 'cgroup detection');
    }

    this.stateDir = await mkdtemp(join(this.options.stateRoot ?? tmpdir(), 'integr8scode-sandbox-'));
    await chmod(this.stateDir, 0o755);
    // Read by the launcher (root) only, which hands each sandbox an fd of it.
    this.seccompFile = join(this.stateDir, 'seccomp.bpf');
    await writeFile(this.seccompFile, seccompFilter(arch), { mode: 0o600 });
    await writeFile(
      join(this.stateDir, 'passwd'),
      `sandbox:x:${this.uid}:${this.gid}:sandbox:/sandbox:/bin/sh\n`,
    );
    await writeFile(join(this.stateDir, 'group'), `sandbox:x:${this.gid}:\n`);
    await writeFile(join(this.stateDir, 'hosts'), '127.0.0.1 localhost sandbox\n::1 localhost\n');
    this.root = [
      ...(await systemRoot()),
      ...['passwd', 'group', 'hosts'].map((file): RootEntry => ({
        kind: 'ro-bind',
        host: join(this.stateDir, file),
        path: `/etc/${file}`,
      })),
    ];

    this.detected = this.describeEnforcement();
    await this.launcher.start();
    await this.loadRuntimes();
    this.logger.info(
      {
        enforcement: this.detected,
        runtimes: this.specs.map((s) => `${s.lang} ${s.version}`),
        unavailable: this.missing,
      },
      'local executor started',
    );
  }

  private describeEnforcement(): LimitEnforcement {
    const cg = this.cgroups;
    return {
      memory: cg ? `${cg.kind}${cg.memsw ? ' (memory+swap)' : ''}` : 'prlimit RLIMIT_AS',
      pids: cg
        ? cg.kind
        : `prlimit RLIMIT_NPROC (per uid${this.uidPool ? ': one uid per run' : ', shared by concurrent runs'})`,
      cpu: cg ? `${cg.kind} usage poll + prlimit RLIMIT_CPU` : 'prlimit RLIMIT_CPU (per process)',
      wall: 'timer',
      fileSize: 'prlimit RLIMIT_FSIZE',
      disk: 'tmpfs size (bwrap --size) of /sandbox, /tmp and /dev/shm each',
      output: 'byte cap on pipes',
      network: 'netns (loopback only)',
      filesystem: 'bwrap read-only system dirs and /dev, private tmpfs',
      user: this.uidPool
        ? `setpriv uid per run from ${this.uidPool.base}-${this.uidPool.last} (${this.uid} inside) + userns + seccomp`
        : `worker uid ${this.uid} + userns + seccomp`,
      kill: cg
        ? cg.kind === 'cgroup-v1'
          ? cg.freezer
            ? 'cgroup-v1 freezer + SIGKILL'
            : 'cgroup-v1 SIGKILL'
          : 'cgroup.kill'
        : 'process group + bwrap pid namespace',
      cpuAccounting: cg ? (cg.kind === 'cgroup-v1' ? 'cgroup-v1 cpuacct.usage' : 'cgroup-v2 cpu.stat') : null,
      memoryAccounting: cg
        ? cg.kind === 'cgroup-v1'
          ? 'cgroup-v1 memory.max_usage_in_bytes'
          : 'cgroup-v2 memory.peak'
        : null,
    };
  }

  /** Finds the runtimes and keeps each one whose example runs correctly in the sandbox. */
  private async loadRuntimes(): Promise<void> {
    const { found, missing } = await discoverRuntimes();
    this.missing = [...missing];
    const proven = await Promise.all(
      found.map(async (spec): Promise<RuntimeSpec | null> => {
        try {
          if (spec.goRoot) {
            const cacheDir = this.options.cacheDir ?? '/var/cache/integr8scode-executor';
            const cacheProgPath = await installGoCacheProg(spec, cacheDir);
            spec = { ...spec, cacheSeedDir: await ensureGoCacheSeed(spec, cacheDir), cacheProgPath };
          }
          const outcome = await this.execute(
            spec,
            {
              executionId: `probe-${spec.lang}`,
              runtime: spec,
              script: spec.exampleScript,
              limits: PROBE_LIMITS,
            },
            { started: () => undefined, output: () => undefined },
            new AbortController().signal,
          );
          if (
            outcome.verdict === 'completed' &&
            outcome.exitCode === 0 &&
            outcome.stdout.toString() === spec.exampleOutput
          ) {
            return spec;
          }
          this.missing.push({
            lang: spec.lang,
            reason:
              `example did not run in the sandbox: ${outcome.verdict} exit ${outcome.exitCode} ${outcome.reason ?? ''} ${outcome.stderr.toString().slice(0, 300)}`.trim(),
          });
        } catch (err) {
          this.missing.push({ lang: spec.lang, reason: (err as Error).message });
        }
        return null;
      }),
    );
    this.specs = proven.filter((spec): spec is RuntimeSpec => spec !== null);
  }

  private async doStop(): Promise<void> {
    for (const run of this.inFlight.values()) run.abort.abort();
    await Promise.allSettled([...this.inFlight.values()].map((run) => run.done));
    await this.launcher.stop();
    await this.cgroups?.close();
    if (this.stateDir) await rm(this.stateDir, { recursive: true, force: true });
    this.logger.info('local executor stopped');
  }

  async run(request: ExecutionRequest, sink: OutputSink, signal: AbortSignal): Promise<ExecutionOutcome> {
    if (!this.gate.running || !this.tools) throw new AppError('internal', 'local executor not running');
    if (!EXECUTION_ID.test(request.executionId)) {
      throw new AppError('validation', 'executionId must be 1-128 characters of [A-Za-z0-9_.-]');
    }
    const spec = this.specs.find(
      (s) => s.lang === request.runtime.lang && s.version === request.runtime.version,
    );
    if (!spec) {
      throw new AppError(
        'validation',
        `runtime ${request.runtime.lang} ${request.runtime.version} is not available`,
      );
    }
    validateLimits(request.limits);
    // Our own controller lets stop() end in-flight runs as cancelled.
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    if (signal.aborted) abort.abort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const key = `${request.executionId}-${randomBytes(4).toString('hex')}`;
    const done = this.execute(spec, request, sink, abort.signal, key);
    this.inFlight.set(key, { abort, done });
    try {
      return await done;
    } finally {
      this.inFlight.delete(key);
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async execute(
    spec: RuntimeSpec,
    request: ExecutionRequest,
    sink: OutputSink,
    signal: AbortSignal,
    key = `${request.executionId}-${randomBytes(4).toString('hex')}`,
  ): Promise<ExecutionOutcome> {
    const log = withCorrelation(this.logger, request.executionId, {
      runtime: `${spec.lang} ${spec.version}`,
    });
    const { limits } = request;
    const cap = new OutputCap(limits.maxOutputBytes);
    const startedAt = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - startedAt) / 1e9;
    const outcomeOf = (
      facts: { setupError?: string; killReason?: KillReason; exitCode: number | null; signal: string | null },
      stats: CgroupStats,
    ): ExecutionOutcome => {
      const c = classify({ ...facts, ...stats, limits });
      return {
        verdict: c.verdict,
        exitCode: c.exitCode,
        signal: c.signal,
        stdout: cap.collected('stdout'),
        stderr: cap.collected('stderr'),
        outputTruncated: cap.truncated,
        wallSeconds: elapsed(),
        cpuSeconds: stats.cpuSeconds,
        peakMemoryBytes: stats.peakMemoryBytes,
        ...(c.reason === undefined ? {} : { reason: c.reason }),
      };
    };
    if (signal.aborted)
      return outcomeOf({ killReason: 'cancelled', exitCode: null, signal: null }, EMPTY_STATS);
    const tools = this.tools;
    if (!tools) throw new AppError('internal', 'local executor not started');

    const runDir = await mkdtemp(join(this.stateDir, 'run-'));
    let cgroup: RunCgroup | null = null;
    // Its own host uid, held until no process of the run is left (releaseUid).
    const hostUid = this.uidPool?.acquire();
    try {
      if (this.uidPool && hostUid === undefined) {
        const { count, base, last, retired } = this.uidPool;
        log.error({ count, retired }, 'no free sandbox uid');
        const setupError = `no free sandbox uid: all ${count} of ${base}-${last} are held by runs or retired`;
        return outcomeOf({ setupError, exitCode: null, signal: null }, EMPTY_STATS);
      }
      const scriptName = `main.${spec.fileExtension}`;
      const scriptHostPath = await writeRunScript(runDir, scriptName, request.script, hostUid);
      if (this.cgroups) {
        try {
          cgroup = await this.cgroups.create(key, limits);
        } catch (err) {
          log.error({ err }, 'cannot create the run cgroup');
          return outcomeOf(
            {
              setupError: `cannot create the sandbox cgroup: ${(err as Error).message}`,
              exitCode: null,
              signal: null,
            },
            EMPTY_STATS,
          );
        }
      }
      const { cacheSeedDir: seedDir, cacheProgPath } = spec;
      const { file, args, bwrapArgsData } = buildSandboxArgv({
        tools,
        cgroupProcsFiles: cgroup?.procsFiles ?? [],
        rlimits: {
          // With a cgroup, its exact CPU poll enforces the limit and RLIMIT_CPU (tick-sampled, it
          // fires at ~0.9 s of real CPU under load) is a backstop a second later (see verdict.ts).
          cpuSeconds: cgroup ? limits.cpuSeconds + 1 : limits.cpuSeconds,
          fileBytes: limits.maxFileBytes,
          openFiles: 1024,
          ...(cgroup ? {} : { addressSpaceBytes: limits.memoryBytes, processes: limits.maxProcesses }),
        },
        uid: hostUid ?? this.uid,
        gid: hostUid ?? this.gid,
        insideUid: this.uid,
        insideGid: this.gid,
        root: [
          ...this.root,
          ...spec.hostBinds.map((dir): RootEntry => ({ kind: 'ro-bind', host: dir, path: dir })),
          ...(seedDir ? [{ kind: 'ro-bind', host: seedDir, path: GO_CACHE_SEED_DIR } as const] : []),
          ...(cacheProgPath
            ? [{ kind: 'ro-bind', host: cacheProgPath, path: GO_CACHE_PROG_PATH } as const]
            : []),
        ],
        tmpfsBytes: limits.maxFileBytes,
        scriptHostPath,
        scriptName,
        env: spec.env,
        command: spec.command,
        args: request.args ?? [],
        statusFd: SANDBOX_STATUS_FD,
        seccompFd: SANDBOX_SECCOMP_FD,
        argsFd: SANDBOX_ARGS_FD,
      });
      return await this.supervise({
        file,
        args,
        argsData: bwrapArgsData,
        request,
        sink,
        signal,
        cap,
        cgroup,
        log,
        outcomeOf,
        elapsed,
      });
    } finally {
      const removed = await cgroup?.destroy().then(
        () => true,
        (err: unknown) => {
          log.error({ err }, 'cannot remove the run cgroup');
          return false;
        },
      );
      try {
        await rm(runDir, { recursive: true, force: true });
      } finally {
        if (hostUid !== undefined) await this.releaseUid(hostUid, removed, log);
      }
    }
  }

  /**
   * Back to the pool once no process of the run is left: its cgroup removed (so empty), or, without
   * one, none of its uid found in /proc (stragglers SIGKILLed). Otherwise retired for good.
   */
  private async releaseUid(uid: number, cgroupRemoved: boolean | undefined, log: Logger): Promise<void> {
    const gone = cgroupRemoved ?? (await reapUid(uid));
    if (gone) return this.uidPool?.release(uid);
    this.uidPool?.retire(uid);
    log.error({ uid }, 'sandbox uid retired: processes of the run may be left');
  }

  private async supervise(ctx: {
    file: string;
    args: string[];
    argsData: string;
    request: ExecutionRequest;
    sink: OutputSink;
    signal: AbortSignal;
    cap: OutputCap;
    cgroup: RunCgroup | null;
    log: Logger;
    outcomeOf: (
      facts: { setupError?: string; killReason?: KillReason; exitCode: number | null; signal: string | null },
      stats: CgroupStats,
    ) => ExecutionOutcome;
    elapsed: () => number;
  }): Promise<ExecutionOutcome> {
    const { request, sink, cap, cgroup, log } = ctx;
    const { limits } = request;
    // Aborted while the run was being set up: no sandbox is started just to be killed. Nothing
    // awaits between here and the abort listener below, so a later abort reaches that listener.
    if (ctx.signal.aborted)
      return ctx.outcomeOf({ killReason: 'cancelled', exitCode: null, signal: null }, EMPTY_STATS);
    // Spawned by the launcher process: a fork from this (large) process would block the event loop.
    const child = this.launcher.launch({
      file: ctx.file,
      args: ctx.args,
      argsData: ctx.argsData,
      seccompFile: this.seccompFile,
      stdin: request.stdin ?? '',
      inCgroup: cgroup !== null,
    });
    let killReason: KillReason | undefined;
    let killing: Promise<unknown> = Promise.resolve();
    const kill = (reason: KillReason): void => {
      killReason ??= reason;
      child.kill();
      if (cgroup) killing = cgroup.killAll();
    };

    let status = '';
    let startedReported = false;
    child.on('status', (text) => {
      status += text;
      const pid = /"child-pid":\s*(\d+)/.exec(status)?.[1];
      if (pid && !startedReported) {
        startedReported = true;
        sink.started({ pid: Number(pid) });
      }
    });

    const onData = (stream: OutputStream) => (chunk: Buffer) => {
      const { pass, crossed } = cap.accept(stream, chunk);
      if (pass) sink.output(stream, pass);
      if (crossed) kill('output_limit');
    };
    child.on('stdout', onData('stdout'));
    child.on('stderr', onData('stderr'));

    const onAbort = () => kill('cancelled');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const wallTimer = setTimeout(() => kill('timeout'), limits.wallSeconds * 1000);
    const cpuTimer = cgroup
      ? setInterval(() => {
          cgroup
            .cpuSeconds()
            .then((seconds) => {
              if (seconds > limits.cpuSeconds) kill('cpu_limit');
            })
            .catch(() => undefined);
        }, CPU_POLL_MS)
      : undefined;

    // A spawn failure, or the launcher lost mid-run (SandboxLauncherLostError).
    let spawnError: Error | undefined;
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.once('exit', (code, signalName) => resolve([code, signalName]));
      child.once('error', (err) => {
        spawnError = err;
        resolve([null, null]);
      });
    });
    const closed = once(child, 'close').catch(() => undefined);
    try {
      const [code, signalName] = await exited;
      clearTimeout(wallTimer);
      clearInterval(cpuTimer);
      // Whatever is left in the cgroup (nothing, normally: the pid namespace died with bwrap).
      if (cgroup) await cgroup.killAll();
      await killing;
      await Promise.race([closed, sleep(DRAIN_MS)]);
      // The cut-off: a launcher lost or output arriving while the stats are read below must not
      // change the outcome of a run that is over (the 'error' listener above is still attached).
      child.release();

      const stats = cgroup ? await cgroup.stats() : { ...EMPTY_STATS };
      const exitMatch = /"exit-code":\s*(\d+)/.exec(status)?.[1];
      const started = /"child-pid"/.test(status);
      let setupError: string | undefined;
      if (spawnError instanceof SandboxLauncherLostError) setupError = spawnError.message;
      else if (spawnError) setupError = `cannot start the sandbox: ${spawnError.message}`;
      else if (!started && killReason === undefined) {
        setupError =
          code === 125
            ? 'cannot join the sandbox cgroup'
            : `sandbox setup failed: ${cap.collected('stderr').toString('utf8').trim().slice(0, 500) || `exit ${code ?? signalName}`}`;
      }
      const outcome = ctx.outcomeOf(
        {
          ...(setupError === undefined ? {} : { setupError }),
          ...(killReason === undefined ? {} : { killReason }),
          exitCode: exitMatch !== undefined ? Number(exitMatch) : code,
          signal: exitMatch !== undefined ? null : signalName,
        },
        stats,
      );
      log.info(
        {
          verdict: outcome.verdict,
          exitCode: outcome.exitCode,
          signal: outcome.signal,
          wallSeconds: outcome.wallSeconds,
          cpuSeconds: outcome.cpuSeconds,
          peakMemoryBytes: outcome.peakMemoryBytes,
          reason: outcome.reason,
        },
        'execution finished',
      );
      return outcome;
    } finally {
      clearTimeout(wallTimer);
      clearInterval(cpuTimer);
      ctx.signal.removeEventListener('abort', onAbort);
      // For the paths that throw before the cut-off (a failed cgroup kill); a no-op otherwise.
      child.release();
    }
  }
}
