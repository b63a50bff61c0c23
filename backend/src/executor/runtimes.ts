import { execFile } from 'node:child_process';
import { access, constants, realpath } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Runtime } from './executor-backend.js';

const execFileAsync = promisify(execFile);

/** Host directories every sandbox sees read-only; a runtime installed elsewhere binds its prefix. */
export const SYSTEM_DIRS = ['/usr', '/lib', '/lib64', '/bin', '/sbin'] as const;

/** Where the local backend mounts the seeded Go build cache, read-only (see local/go-cache.ts). */
export const GO_CACHE_SEED_DIR = '/opt/go-cache-seed';
/** Where the local backend mounts its GOCACHEPROG (scripts/go-cacheprog), read-only. */
export const GO_CACHE_PROG_PATH = '/opt/go-cacheprog';
/** The oldest Go with GOCACHEPROG. */
const GO_MIN_MINOR = 24;

/** A runtime plus what a backend needs to launch it. */
export interface RuntimeSpec extends Runtime {
  /** Host directories outside SYSTEM_DIRS the interpreter needs, bound read-only at the same path. */
  hostBinds: string[];
  env: Record<string, string>;
  /** What `exampleScript` prints; start-up runs it in the sandbox to prove the runtime works. */
  exampleOutput: string;
  /** Go only: the host directory holding its toolchain, used to seed the build cache. */
  goRoot?: string;
  /** Go only: host directory of the seeded build cache, set by the local backend at start. */
  cacheSeedDir?: string;
  /** Go only: host path of the GOCACHEPROG binary, set by the local backend at start. */
  cacheProgPath?: string;
}

export interface MissingRuntime {
  lang: string;
  reason: string;
}

const HELLO = 'Hello, world!\n';

/** `major.minor` from a `--version` text; node is keyed by major only, like the reference. */
export function parseVersion(lang: string, text: string): { version: string; fullVersion: string } | null {
  const patterns: Record<string, RegExp> = {
    python: /Python (\d+)\.(\d+)(\.\d+)?/,
    node: /v(\d+)\.(\d+)(\.\d+)?/,
    bash: /version (\d+)\.(\d+)(\.\d+)?/,
    go: /go(\d+)\.(\d+)(\.\d+)?/,
    ruby: /ruby (\d+)\.(\d+)(\.\d+)?/,
  };
  const pattern = patterns[lang];
  const match = pattern?.exec(text);
  if (!match?.[1] || !match[2]) return null;
  const full = `${match[1]}.${match[2]}${match[3] ?? ''}`;
  return { version: lang === 'node' ? match[1] : `${match[1]}.${match[2]}`, fullVersion: full };
}

/** True when `path` lies in one of the system dirs every sandbox already binds. */
export function underSystemDirs(path: string): boolean {
  return SYSTEM_DIRS.some((dir) => path === dir || path.startsWith(`${dir}/`));
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string, pathVar: string): Promise<string | null> {
  for (const dir of pathVar.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

async function run(file: string, args: string[]): Promise<string> {
  const { stdout, stderr } = await execFileAsync(file, args, {
    timeout: 10_000,
    env: { PATH: '/usr/bin:/bin' },
  });
  return `${stdout}\n${stderr}`;
}

/** The prefix of an interpreter outside the system dirs (`<prefix>/bin/<exe>`), or none. */
function bindsFor(realExe: string): string[] {
  return underSystemDirs(realExe) ? [] : [dirname(dirname(realExe))];
}

const BASE_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/sandbox', LANG: 'C.UTF-8', TMPDIR: '/tmp' };

type Probe = (pathVar: string) => Promise<RuntimeSpec | MissingRuntime>;

const probes: Record<string, Probe> = {
  async python(pathVar) {
    // Debian's interpreter first: a pyenv shim on PATH lives under /root, which the sandbox never sees.
    let exe = (await isExecutable('/usr/bin/python3'))
      ? '/usr/bin/python3'
      : await findOnPath('python3', pathVar);
    if (!exe) return { lang: 'python', reason: 'python3 not found' };
    let binds: string[] = [];
    if (exe !== '/usr/bin/python3') {
      const [prefix, executable] = (
        await run(exe, ['-c', 'import sys; print(sys.base_prefix); print(sys.executable)'])
      ).split('\n');
      if (!prefix || !executable)
        return { lang: 'python', reason: `cannot resolve the interpreter behind ${exe}` };
      exe = await realpath(executable);
      binds = underSystemDirs(exe) ? [] : [prefix];
    }
    const parsed = parseVersion('python', await run(exe, ['--version']));
    if (!parsed) return { lang: 'python', reason: `unrecognised version from ${exe}` };
    return {
      lang: 'python',
      ...parsed,
      fileExtension: 'py',
      command: [exe, '-u', 'main.py'],
      exampleScript: 'print("Hello, world!")\n',
      exampleOutput: HELLO,
      hostBinds: binds,
      env: { ...BASE_ENV, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    };
  },

  async node(pathVar) {
    const found = await findOnPath('node', pathVar);
    if (!found) return { lang: 'node', reason: 'node not found' };
    const exe = await realpath(found);
    const parsed = parseVersion('node', await run(exe, ['--version']));
    if (!parsed) return { lang: 'node', reason: `unrecognised version from ${exe}` };
    return {
      lang: 'node',
      ...parsed,
      fileExtension: 'js',
      command: [exe, 'main.js'],
      exampleScript: "console.log('Hello, world!');\n",
      exampleOutput: HELLO,
      hostBinds: bindsFor(exe),
      env: { ...BASE_ENV },
    };
  },

  async bash(pathVar) {
    const exe = (await isExecutable('/usr/bin/bash')) ? '/usr/bin/bash' : await findOnPath('bash', pathVar);
    if (!exe) return { lang: 'bash', reason: 'bash not found' };
    const real = await realpath(exe);
    const parsed = parseVersion('bash', await run(real, ['--version']));
    if (!parsed) return { lang: 'bash', reason: `unrecognised version from ${real}` };
    return {
      lang: 'bash',
      ...parsed,
      fileExtension: 'sh',
      command: [real, 'main.sh'],
      exampleScript: 'echo "Hello, world!"\n',
      exampleOutput: HELLO,
      hostBinds: bindsFor(real),
      env: { ...BASE_ENV },
    };
  },

  async go(pathVar) {
    const found =
      (await findOnPath('go', pathVar)) ??
      ((await isExecutable('/usr/local/go/bin/go')) ? '/usr/local/go/bin/go' : null);
    if (!found) return { lang: 'go', reason: 'go not found' };
    const exe = await realpath(found);
    const goRoot = (await run(exe, ['env', 'GOROOT'])).trim();
    const parsed = parseVersion('go', await run(exe, ['version']));
    if (!parsed || goRoot === '') return { lang: 'go', reason: `unrecognised version or GOROOT from ${exe}` };
    const minor = Number(parsed.version.split('.')[1]);
    if (parsed.version.startsWith('1.') && minor < GO_MIN_MINOR)
      return { lang: 'go', reason: `go ${parsed.fullVersion} has no GOCACHEPROG (needs 1.${GO_MIN_MINOR})` };
    return {
      lang: 'go',
      ...parsed,
      fileExtension: 'go',
      command: [join(goRoot, 'bin', 'go'), 'run', 'main.go'],
      exampleScript: 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("Hello, world!")\n}\n',
      exampleOutput: HELLO,
      hostBinds: underSystemDirs(goRoot) ? [] : [goRoot],
      goRoot,
      env: {
        ...BASE_ENV,
        PATH: `${join(goRoot, 'bin')}:${BASE_ENV.PATH}`,
        GOROOT: goRoot,
        // A cold build cache costs seconds of CPU per std package, and a shared writable one would
        // let runs poison each other: the cache program serves hits from the read-only seed and
        // keeps this run's misses in the run's tmpfs (scripts/go-cacheprog, docs/sandbox.md).
        GOCACHE: '/sandbox/.gocache',
        GOCACHEPROG: `${GO_CACHE_PROG_PATH} -seed ${GO_CACHE_SEED_DIR} -dir /sandbox/.gocache/run`,
        GOPATH: '/sandbox/go',
        GOTOOLCHAIN: 'local',
        GOTELEMETRY: 'off',
        GOFLAGS: '-buildvcs=false',
        CGO_ENABLED: '0',
      },
    };
  },

  async ruby(pathVar) {
    // Debian's interpreter first, as for python: an rbenv shim under /root is invisible to the sandbox.
    const found = (await isExecutable('/usr/bin/ruby')) ? '/usr/bin/ruby' : await findOnPath('ruby', pathVar);
    if (!found) return { lang: 'ruby', reason: 'ruby not found' };
    const exe = await realpath(found);
    const parsed = parseVersion('ruby', await run(exe, ['--version']));
    if (!parsed) return { lang: 'ruby', reason: `unrecognised version from ${exe}` };
    return {
      lang: 'ruby',
      ...parsed,
      fileExtension: 'rb',
      command: [exe, 'main.rb'],
      exampleScript: 'puts "Hello, world!"\n',
      exampleOutput: HELLO,
      hostBinds: bindsFor(exe),
      env: { ...BASE_ENV },
    };
  },
};

/** The environment Go needs both when seeding the cache on the host and inside the sandbox. */
export function goBuildEnv(spec: RuntimeSpec): Record<string, string> {
  const {
    HOME: _home,
    TMPDIR: _tmp,
    GOCACHE: _cache,
    GOCACHEPROG: _cacheProg,
    GOPATH: _gopath,
    ...rest
  } = spec.env;
  return rest;
}

/**
 * Looks for python, node, bash, go and ruby on this host. Only finds candidates: the backend
 * proves each one by running its example in the sandbox before offering it.
 */
export async function discoverRuntimes(
  pathVar = process.env.PATH ?? '/usr/bin:/bin',
): Promise<{ found: RuntimeSpec[]; missing: MissingRuntime[] }> {
  const results = await Promise.all(
    Object.entries(probes).map(async ([lang, probe]): Promise<RuntimeSpec | MissingRuntime> => {
      try {
        return await probe(pathVar);
      } catch (err) {
        return { lang, reason: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  const found: RuntimeSpec[] = [];
  const missing: MissingRuntime[] = [];
  for (const result of results) {
    if ('command' in result) found.push(result);
    else missing.push(result);
  }
  return { found, missing };
}
