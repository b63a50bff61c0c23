/** A mount of the sandbox's root: a read-only bind or a symlink (merged-/usr hosts link /bin → usr/bin). */
export type RootEntry =
  { kind: 'ro-bind'; host: string; path: string } | { kind: 'symlink'; target: string; path: string };

export interface SandboxTools {
  sh: string;
  prlimit: string;
  bwrap: string;
  /** Absent when the worker is not root: bwrap then runs as the worker's own unprivileged uid. */
  setpriv?: string;
}

export interface SandboxPlan {
  tools: SandboxTools;
  /** `cgroup.procs` files the launcher writes its own pid into before exec'ing the sandbox. */
  cgroupProcsFiles: readonly string[];
  rlimits: {
    cpuSeconds: number;
    fileBytes: number;
    openFiles: number;
    /** Only without cgroups: RLIMIT_AS / RLIMIT_NPROC stand in for the memory and pids limits. */
    addressSpaceBytes?: number;
    processes?: number;
  };
  /** Host uid/gid the sandbox runs as (setpriv): one of the reserved range per run when root. */
  uid: number;
  gid: number;
  /** uid/gid the program sees inside its user namespace (bwrap maps them to uid/gid). */
  insideUid: number;
  insideGid: number;
  root: readonly RootEntry[];
  /** Size of each writable tmpfs (/sandbox, /tmp and /dev/shm). */
  tmpfsBytes: number;
  /** Host file with the script, bound read-only as /sandbox/<scriptName>. */
  scriptHostPath: string;
  scriptName: string;
  env: Readonly<Record<string, string>>;
  command: readonly string[];
  args: readonly string[];
  /** fd on which bwrap writes its JSON status (child pid, exit code). */
  statusFd: number;
  /** fd from which bwrap reads the seccomp program (bwrap --seccomp). */
  seccompFd: number;
  /** fd from which bwrap reads its options (bwrap --args), so none shows in the sandbox's /proc/1/cmdline. */
  argsFd: number;
}

export interface SandboxArgv {
  file: string;
  args: string[];
  /** bwrap's options, each NUL-terminated, for the launcher to write on plan.argsFd. */
  bwrapArgsData: string;
}

/**
 * Joins the launcher's own pid to each cgroup, then execs the rest; exits 125 if it cannot join
 * so no process ever runs outside its cgroup. Paths arrive as arguments, never in the script text.
 */
export const JOIN_CGROUPS_AND_EXEC =
  'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';

/**
 * The argv that launches one sandboxed run: sh (join cgroups) → prlimit → setpriv → bwrap → program.
 * bwrap's options (host paths among them) travel on plan.argsFd: bwrap's pid-namespace init is a
 * fork of bwrap, so its argv is what the program reads in /proc/1/cmdline.
 */
export function buildSandboxArgv(plan: SandboxPlan): SandboxArgv {
  const { rlimits } = plan;
  const cpu = Math.max(1, Math.ceil(rlimits.cpuSeconds));
  const prlimit = [
    plan.tools.prlimit,
    // Soft limit → SIGXCPU, hard limit one second later → SIGKILL; per process, the cgroup
    // accounting enforces the total.
    `--cpu=${cpu}:${cpu + 1}`,
    `--fsize=${rlimits.fileBytes}`,
    // A core dump would go to the host's core_pattern, possibly a root helper.
    '--core=0',
    `--nofile=${rlimits.openFiles}`,
    ...(rlimits.addressSpaceBytes === undefined ? [] : [`--as=${rlimits.addressSpaceBytes}`]),
    ...(rlimits.processes === undefined ? [] : [`--nproc=${rlimits.processes}`]),
    '--',
  ];
  const setpriv = plan.tools.setpriv
    ? [
        plan.tools.setpriv,
        `--reuid=${plan.uid}`,
        `--regid=${plan.gid}`,
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        '--no-new-privs',
        '--',
      ]
    : [];
  const options = bwrapOptions(plan);
  // A NUL inside an option would split it into two options.
  if (options.some((option) => option.includes('\0'))) throw new Error('bwrap option contains NUL');
  const bwrap = [plan.tools.bwrap, '--args', String(plan.argsFd), '--', ...plan.command, ...plan.args];
  return {
    file: plan.tools.sh,
    args: [
      '-c',
      JOIN_CGROUPS_AND_EXEC,
      'integr8scode-sandbox',
      ...plan.cgroupProcsFiles,
      '--',
      ...prlimit,
      ...setpriv,
      ...bwrap,
    ],
    bwrapArgsData: options.map((option) => `${option}\0`).join(''),
  };
}

export function bwrapOptions(plan: SandboxPlan): string[] {
  const out = [
    // New user, pid, net (loopback only), ipc, uts, cgroup and mount namespaces.
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--uid',
    String(plan.insideUid),
    '--gid',
    String(plan.insideGid),
    '--hostname',
    'sandbox',
    '--die-with-parent',
    // setsid: the program has no controlling terminal to push input into (TIOCSTI).
    '--new-session',
    '--clearenv',
  ];
  for (const [key, value] of Object.entries(plan.env)) out.push('--setenv', key, value);
  for (const entry of plan.root) {
    if (entry.kind === 'ro-bind') out.push('--ro-bind', entry.host, entry.path);
    else out.push('--symlink', entry.target, entry.path);
  }
  out.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    // /dev is a tmpfs of half the host's RAM: /dev/shm gets the disk cap, the rest is read-only
    // (device nodes stay writable; a read-only mount does not apply to them).
    '--size',
    String(plan.tmpfsBytes),
    '--tmpfs',
    '/dev/shm',
    '--remount-ro',
    '/dev',
    '--size',
    String(plan.tmpfsBytes),
    '--tmpfs',
    '/tmp',
    '--size',
    String(plan.tmpfsBytes),
    '--tmpfs',
    '/sandbox',
    '--ro-bind',
    plan.scriptHostPath,
    `/sandbox/${plan.scriptName}`,
    '--chdir',
    '/sandbox',
    '--remount-ro',
    '/',
    '--json-status-fd',
    String(plan.statusFd),
    // bwrap installs it right before exec'ing the program: its own setup is not filtered.
    '--seccomp',
    String(plan.seccompFd),
  );
  return out;
}
