import { randomBytes } from 'node:crypto';
import {
  accessSync,
  mkdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
  type MakeDirectoryOptions,
} from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CgroupLimits {
  memoryBytes: number;
  maxProcesses: number;
}

export interface CgroupStats {
  cpuSeconds: number;
  peakMemoryBytes: number;
  oomKills: number;
  pidsLimitHits: number;
}

/** The cgroup(s) of one run. */
export interface RunCgroup {
  /** Files the launcher writes its pid into, one per hierarchy. */
  readonly procsFiles: readonly string[];
  cpuSeconds(): Promise<number>;
  stats(): Promise<CgroupStats>;
  /** SIGKILLs every task until none is left (frozen first, so nothing forks in between). */
  killAll(): Promise<boolean>;
  pids(): Promise<number[]>;
  /** Kills what is left and removes the directories. */
  destroy(): Promise<void>;
}

export interface CgroupDriver {
  readonly kind: 'cgroup-v1' | 'cgroup-v2';
  readonly memsw: boolean;
  readonly freezer: boolean;
  /** Directories this driver creates runs under, one per hierarchy. */
  readonly bases: readonly string[];
  create(name: string, limits: CgroupLimits): Promise<RunCgroup>;
  /** Removes the base directories (after all runs ended). */
  close(): Promise<void>;
}

// Every file here is a cgroupfs file: kernel state in memory, answered at once, never disk. The
// promise API would send each read or write through the libuv thread pool as separate open,
// fstat, read/write and close steps (4 hops per file, about ten files per run, plus the CPU poll
// every 25 ms); a synchronous call is a few microseconds. These wrappers keep the promise
// signatures so errors still arrive as rejections.
function readFile(path: string, encoding: 'utf8'): Promise<string> {
  return attempt(() => readFileSync(path, encoding));
}

function writeFile(path: string, data: string): Promise<void> {
  return attempt(() => writeFileSync(path, data));
}

function mkdir(path: string, options?: MakeDirectoryOptions): Promise<void> {
  return attempt(() => void mkdirSync(path, options));
}

function rmdir(path: string): Promise<void> {
  return attempt(() => rmdirSync(path));
}

function access(path: string): Promise<void> {
  return attempt(() => accessSync(path));
}

function attempt<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

async function readText(path: string): Promise<string> {
  return (await readFile(path, 'utf8')).trim();
}

async function readNumber(path: string): Promise<number> {
  const n = Number(await readText(path));
  return Number.isFinite(n) ? n : 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** `key value` lines (memory.oom_control, pids.events, cpu.stat, memory.events). */
export function parseKeyedLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && Number.isFinite(Number(value))) out.set(key, Number(value));
  }
  return out;
}

function parsePids(text: string): number[] {
  return text
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function removeDir(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw err;
      await sleep(10);
    }
  }
  throw new Error(`cgroup ${dir} still busy after kill`);
}

/** Mount table entries of a given filesystem type: mount point and options. */
export function parseMounts(text: string, fsType: string): { mountPoint: string; options: string[] }[] {
  const out: { mountPoint: string; options: string[] }[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields[2] === fsType && fields[1] && fields[3]) {
      out.push({ mountPoint: fields[1].replace(/\\040/g, ' '), options: fields[3].split(',') });
    }
  }
  return out;
}

/** This process's cgroup path per v1 controller, and its v2 path under the key ''. */
export function parseSelfCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!match || match[2] === undefined) continue;
    const controllers = match[1] ?? '';
    if (controllers === '') out.set('', match[2]);
    for (const c of controllers.split(',')) if (c) out.set(c, match[2]);
  }
  return out;
}

// ---- cgroup v1 -------------------------------------------------------------------------------

class V1RunCgroup implements RunCgroup {
  readonly procsFiles: string[];

  constructor(private readonly dirs: { memory: string; pids: string; cpuacct: string; freezer?: string }) {
    this.procsFiles = Object.values(dirs).map((dir) => join(dir, 'cgroup.procs'));
  }

  async cpuSeconds(): Promise<number> {
    return (await readNumber(join(this.dirs.cpuacct, 'cpuacct.usage'))) / 1e9;
  }

  async stats(): Promise<CgroupStats> {
    const oom = parseKeyedLines(await readText(join(this.dirs.memory, 'memory.oom_control')));
    const events = parseKeyedLines(await readText(join(this.dirs.pids, 'pids.events')).catch(() => ''));
    return {
      cpuSeconds: await this.cpuSeconds(),
      peakMemoryBytes: await readNumber(join(this.dirs.memory, 'memory.max_usage_in_bytes')),
      // Kernels before 4.13 lack the counter; then any failed charge that ended in a kill counts.
      oomKills: oom.get('oom_kill') ?? (await readNumber(join(this.dirs.memory, 'memory.failcnt'))),
      pidsLimitHits: events.get('max') ?? 0,
    };
  }

  async pids(): Promise<number[]> {
    const all = new Set<number>();
    for (const file of this.procsFiles) {
      for (const pid of parsePids(await readFile(file, 'utf8').catch(() => ''))) all.add(pid);
    }
    return [...all];
  }

  async killAll(): Promise<boolean> {
    const freezer = this.dirs.freezer;
    for (let round = 0; round < 100; round++) {
      if (freezer) await this.freeze(freezer);
      const pids = await this.pids();
      for (const pid of pids) killPid(pid);
      if (freezer) await writeFile(join(freezer, 'freezer.state'), 'THAWED').catch(() => undefined);
      if (pids.length === 0) return true;
      await sleep(round < 10 ? 2 : 20);
    }
    return (await this.pids()).length === 0;
  }

  private async freeze(dir: string): Promise<void> {
    await writeFile(join(dir, 'freezer.state'), 'FROZEN').catch(() => undefined);
    for (let i = 0; i < 50; i++) {
      if ((await readText(join(dir, 'freezer.state')).catch(() => 'FROZEN')) === 'FROZEN') return;
      await sleep(2);
    }
  }

  async destroy(): Promise<void> {
    await this.killAll();
    for (const dir of Object.values(this.dirs)) await removeDir(dir);
  }
}

class V1Driver implements CgroupDriver {
  readonly kind = 'cgroup-v1';
  readonly bases: string[];

  constructor(
    private readonly roots: { memory: string; pids: string; cpuacct: string; freezer?: string },
    readonly memsw: boolean,
  ) {
    this.bases = Object.values(roots);
  }

  get freezer(): boolean {
    return this.roots.freezer !== undefined;
  }

  async create(name: string, limits: CgroupLimits): Promise<RunCgroup> {
    const dirs = {
      memory: join(this.roots.memory, name),
      pids: join(this.roots.pids, name),
      cpuacct: join(this.roots.cpuacct, name),
      ...(this.roots.freezer ? { freezer: join(this.roots.freezer, name) } : {}),
    };
    const cgroup = new V1RunCgroup(dirs);
    try {
      for (const dir of Object.values(dirs)) await mkdir(dir);
      await writeFile(join(dirs.memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // memsw = memory + swap; equal to the memory limit means no swap at all.
      if (this.memsw)
        await writeFile(join(dirs.memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      await writeFile(join(dirs.pids, 'pids.max'), String(limits.maxProcesses));
      return cgroup;
    } catch (err) {
      await cgroup.destroy().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    for (const base of this.bases) await removeDir(base).catch(() => undefined);
  }
}

// ---- cgroup v2 -------------------------------------------------------------------------------

class V2RunCgroup implements RunCgroup {
  readonly procsFiles: string[];

  constructor(private readonly dir: string) {
    this.procsFiles = [join(dir, 'cgroup.procs')];
  }

  async cpuSeconds(): Promise<number> {
    const stat = parseKeyedLines(await readText(join(this.dir, 'cpu.stat')));
    return (stat.get('usage_usec') ?? 0) / 1e6;
  }

  async stats(): Promise<CgroupStats> {
    const events = parseKeyedLines(await readText(join(this.dir, 'memory.events')));
    const pidsEvents = parseKeyedLines(await readText(join(this.dir, 'pids.events')).catch(() => ''));
    return {
      cpuSeconds: await this.cpuSeconds(),
      // memory.peak exists from Linux 5.19.
      peakMemoryBytes: await readNumber(join(this.dir, 'memory.peak')).catch(() => 0),
      oomKills: events.get('oom_kill') ?? 0,
      pidsLimitHits: pidsEvents.get('max') ?? 0,
    };
  }

  async pids(): Promise<number[]> {
    return parsePids(await readFile(join(this.dir, 'cgroup.procs'), 'utf8').catch(() => ''));
  }

  async killAll(): Promise<boolean> {
    const hasKill = await exists(join(this.dir, 'cgroup.kill'));
    for (let round = 0; round < 100; round++) {
      const pids = await this.pids();
      if (pids.length === 0) return true;
      if (hasKill) await writeFile(join(this.dir, 'cgroup.kill'), '1').catch(() => undefined);
      else {
        await writeFile(join(this.dir, 'cgroup.freeze'), '1').catch(() => undefined);
        for (const pid of pids) killPid(pid);
        await writeFile(join(this.dir, 'cgroup.freeze'), '0').catch(() => undefined);
      }
      await sleep(round < 10 ? 2 : 20);
    }
    return (await this.pids()).length === 0;
  }

  async destroy(): Promise<void> {
    await this.killAll();
    await removeDir(this.dir);
  }
}

class V2Driver implements CgroupDriver {
  readonly kind = 'cgroup-v2';
  readonly memsw: boolean;
  readonly freezer = true;
  readonly bases: string[];

  constructor(
    private readonly base: string,
    swapFile: boolean,
  ) {
    this.memsw = swapFile;
    this.bases = [base];
  }

  async create(name: string, limits: CgroupLimits): Promise<RunCgroup> {
    const dir = join(this.base, name);
    const cgroup = new V2RunCgroup(dir);
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'memory.max'), String(limits.memoryBytes));
      if (this.memsw) await writeFile(join(dir, 'memory.swap.max'), '0');
      await writeFile(join(dir, 'pids.max'), String(limits.maxProcesses));
      return cgroup;
    } catch (err) {
      await cgroup.destroy().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    await removeDir(this.base).catch(() => undefined);
  }
}

// ---- detection -------------------------------------------------------------------------------

const PARENT_NAME = 'integr8scode-sandbox';

/**
 * Each executor instance owns `<own cgroup>/integr8scode-sandbox/<pid>-<random>`, nested under
 * the worker's own cgroup so the worker's own limits still cover its sandboxes. Leftovers of
 * instances whose process is gone are killed and removed.
 */
async function instanceBase(parent: string): Promise<string> {
  await mkdir(parent, { recursive: true });
  await sweepDeadInstances(parent);
  const base = join(parent, `${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(base);
  return base;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function sweepDeadInstances(parent: string): Promise<void> {
  for (const entry of await readdir(parent, { withFileTypes: true })) {
    const owner = Number(entry.name.split('-')[0]);
    if (!entry.isDirectory() || !Number.isInteger(owner) || alive(owner)) continue;
    const instance = join(parent, entry.name);
    for (const run of await readdir(instance, { withFileTypes: true })) {
      if (!run.isDirectory()) continue;
      const dir = join(instance, run.name);
      for (const pid of parsePids(await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '')))
        killPid(pid);
      await removeDir(dir).catch(() => undefined);
    }
    await removeDir(instance).catch(() => undefined);
  }
}

export interface CgroupDetection {
  driver: CgroupDriver | null;
  /** Why each hierarchy was not used, for the start-up log. */
  notes: string[];
}

/** Prefers a delegated cgroup v2 subtree (memory + pids + cpu), then writable v1 hierarchies. */
export async function detectCgroups(
  files = { mounts: '/proc/self/mounts', self: '/proc/self/cgroup' },
): Promise<CgroupDetection> {
  const notes: string[] = [];
  const mounts = await readFile(files.mounts, 'utf8');
  const self = parseSelfCgroup(await readFile(files.self, 'utf8'));

  for (const { mountPoint } of parseMounts(mounts, 'cgroup2')) {
    const own = join(mountPoint, self.get('') ?? '/');
    try {
      const controllers = (await readText(join(own, 'cgroup.controllers'))).split(/\s+/);
      const missing = ['memory', 'pids', 'cpu'].filter((c) => !controllers.includes(c));
      if (missing.length > 0) {
        notes.push(`cgroup v2 at ${own}: controllers ${missing.join(', ')} not delegated`);
        continue;
      }
      const parent = join(own, PARENT_NAME);
      await mkdir(parent, { recursive: true });
      await writeFile(join(own, 'cgroup.subtree_control'), '+memory +pids +cpu').catch(() => undefined);
      await writeFile(join(parent, 'cgroup.subtree_control'), '+memory +pids +cpu');
      const base = await instanceBase(parent);
      await writeFile(join(base, 'cgroup.subtree_control'), '+memory +pids +cpu');
      return { driver: new V2Driver(base, await exists(join(base, 'memory.swap.max'))), notes };
    } catch (err) {
      notes.push(`cgroup v2 at ${own}: ${(err as Error).message}`);
    }
  }

  const v1 = parseMounts(mounts, 'cgroup');
  const rootOf = (controller: string): string | undefined => {
    const mount = v1.find((m) => m.options.includes(controller));
    return mount ? join(mount.mountPoint, self.get(controller) ?? '/', PARENT_NAME) : undefined;
  };
  const parents = { memory: rootOf('memory'), pids: rootOf('pids'), cpuacct: rootOf('cpuacct') };
  const freezerParent = rootOf('freezer');
  if (!parents.memory || !parents.pids || !parents.cpuacct) {
    notes.push('cgroup v1: memory, pids or cpuacct hierarchy not mounted');
    return { driver: null, notes };
  }
  try {
    const roots = {
      memory: await instanceBase(parents.memory),
      pids: await instanceBase(parents.pids),
      cpuacct: await instanceBase(parents.cpuacct),
      ...(freezerParent ? { freezer: await instanceBase(freezerParent).catch(() => undefined) } : {}),
    };
    const { freezer, ...required } = roots;
    const memsw = await exists(join(roots.memory, 'memory.memsw.limit_in_bytes'));
    return { driver: new V1Driver(freezer ? { ...required, freezer } : required, memsw), notes };
  } catch (err) {
    notes.push(`cgroup v1: ${(err as Error).message}`);
    return { driver: null, notes };
  }
}
