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
  /** uid/gid the sandbox runs as, outside and inside. */
  uid: number;
  gid: number;
  root: readonly RootEntry[];
  /** Size of each writable tmpfs (/sandbox and /tmp). */
  tmpfsBytes: number;
  /** Host file with the script, bound read-only as /sandbox/<scriptName>. */
  scriptHostPath: string;
  scriptName: string;
  env: Readonly<Record<string, string>>;
  command: readonly string[];
  args: readonly string[];
  /** fd on which bwrap writes its JSON status (child pid, exit code). */
  statusFd: number;
}

/**
 * Joins the launcher's own pid to each cgroup, then execs the rest; exits 125 if it cannot join
 * so no process ever runs outside its cgroup. Paths arrive as arguments, never in the script text.
 */
export const JOIN_CGROUPS_AND_EXEC =
  'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';

/** The argv that launches one sandboxed run: sh (join cgroups) → prlimit → setpriv → bwrap → program. */
export function buildSandboxArgv(plan: SandboxPlan): { file: string; args: string[] } {
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
  const bwrap = [plan.tools.bwrap, ...bwrapOptions(plan), '--', ...plan.command, ...plan.args];
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
  };
}

export function bwrapOptions(plan: SandboxPlan): string[] {
  const out = [
    // New user, pid, net (loopback only), ipc, uts, cgroup and mount namespaces.
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    `--uid`,
    String(plan.uid),
    `--gid`,
    String(plan.gid),
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
  );
  return out;
}
