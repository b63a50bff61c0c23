import { describe, expect, it } from 'vitest';
import {
  bwrapOptions,
  buildSandboxArgv,
  JOIN_CGROUPS_AND_EXEC,
  type SandboxPlan,
} from './sandbox-command.js';

const MiB = 1024 * 1024;

/** A root worker's run with cgroups: the shape LocalExecutor builds. */
const plan: SandboxPlan = {
  tools: { sh: '/bin/sh', prlimit: '/usr/bin/prlimit', bwrap: '/usr/bin/bwrap', setpriv: '/usr/bin/setpriv' },
  cgroupProcsFiles: [
    '/sys/fs/cgroup/memory/x/run-1/cgroup.procs',
    '/sys/fs/cgroup/pids/x/run-1/cgroup.procs',
  ],
  rlimits: { cpuSeconds: 2.5, fileBytes: 16 * MiB, openFiles: 1024 },
  uid: 200_007,
  gid: 200_007,
  insideUid: 65534,
  insideGid: 65534,
  root: [
    { kind: 'ro-bind', host: '/usr', path: '/usr' },
    { kind: 'symlink', target: 'usr/bin', path: '/bin' },
    { kind: 'ro-bind', host: '/state/passwd', path: '/etc/passwd' },
  ],
  tmpfsBytes: 16 * MiB,
  scriptHostPath: '/state/run-abc/main.py',
  scriptName: 'main.py',
  env: { PATH: '/usr/bin:/bin', HOME: '/sandbox' },
  command: ['/usr/bin/python3', 'main.py'],
  args: ['--flag', 'two words'],
  statusFd: 3,
  seccompFd: 4,
  argsFd: 5,
};

const EXPECTED_BWRAP_OPTIONS = [
  '--unshare-all',
  '--unshare-user',
  '--disable-userns',
  '--uid',
  '65534',
  '--gid',
  '65534',
  '--hostname',
  'sandbox',
  '--die-with-parent',
  '--new-session',
  '--clearenv',
  '--setenv',
  'PATH',
  '/usr/bin:/bin',
  '--setenv',
  'HOME',
  '/sandbox',
  '--ro-bind',
  '/usr',
  '/usr',
  '--symlink',
  'usr/bin',
  '/bin',
  '--ro-bind',
  '/state/passwd',
  '/etc/passwd',
  '--proc',
  '/proc',
  '--dev',
  '/dev',
  '--size',
  '16777216',
  '--tmpfs',
  '/dev/shm',
  '--remount-ro',
  '/dev',
  '--size',
  '16777216',
  '--tmpfs',
  '/tmp',
  '--size',
  '16777216',
  '--tmpfs',
  '/sandbox',
  '--ro-bind',
  '/state/run-abc/main.py',
  '/sandbox/main.py',
  '--chdir',
  '/sandbox',
  '--remount-ro',
  '/',
  '--json-status-fd',
  '3',
  '--seccomp',
  '4',
];

describe('buildSandboxArgv', () => {
  it('when built for a root worker with cgroups, then the whole chain is exactly sh → prlimit → setpriv → bwrap --args', () => {
    const { file, args } = buildSandboxArgv(plan);
    expect(file).toBe('/bin/sh');
    expect(args).toEqual([
      '-c',
      JOIN_CGROUPS_AND_EXEC,
      'integr8scode-sandbox',
      '/sys/fs/cgroup/memory/x/run-1/cgroup.procs',
      '/sys/fs/cgroup/pids/x/run-1/cgroup.procs',
      '--',
      '/usr/bin/prlimit',
      // CPU rounded up: soft 3 s (SIGXCPU), hard one second later (SIGKILL).
      '--cpu=3:4',
      '--fsize=16777216',
      '--core=0',
      '--nofile=1024',
      '--',
      '/usr/bin/setpriv',
      '--reuid=200007',
      '--regid=200007',
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
      '/usr/bin/bwrap',
      '--args',
      '5',
      '--',
      '/usr/bin/python3',
      'main.py',
      '--flag',
      'two words',
    ]);
  });

  it('when built, then bwrap gets exactly these options on the args fd, each NUL-terminated', () => {
    const { bwrapArgsData } = buildSandboxArgv(plan);
    expect(bwrapOptions(plan)).toEqual(EXPECTED_BWRAP_OPTIONS);
    expect(bwrapArgsData).toBe(EXPECTED_BWRAP_OPTIONS.map((o) => `${o}\0`).join(''));
  });

  it('when built, then no host path of the plan is on the argv bwrap keeps (its pid-1 init shows that argv)', () => {
    const { args } = buildSandboxArgv(plan);
    const bwrapArgv = args.slice(args.indexOf('/usr/bin/bwrap'));
    expect(bwrapArgv).toEqual([
      '/usr/bin/bwrap',
      '--args',
      '5',
      '--',
      '/usr/bin/python3',
      'main.py',
      '--flag',
      'two words',
    ]);
    expect(bwrapArgv.join(' ')).not.toMatch(/state|cgroup/);
  });

  it('when the CPU limit is whole, then the soft limit is that many seconds, the hard one more', () => {
    const { args } = buildSandboxArgv({ ...plan, rlimits: { ...plan.rlimits, cpuSeconds: 10 } });
    expect(args.filter((a) => a.startsWith('--cpu='))).toEqual(['--cpu=10:11']);
    const tiny = buildSandboxArgv({ ...plan, rlimits: { ...plan.rlimits, cpuSeconds: 0.1 } });
    expect(tiny.args.filter((a) => a.startsWith('--cpu='))).toEqual(['--cpu=1:2']);
  });

  it('when there are no cgroups, then prlimit also caps address space and processes, and nothing joins a cgroup', () => {
    const { args } = buildSandboxArgv({
      ...plan,
      cgroupProcsFiles: [],
      rlimits: { ...plan.rlimits, addressSpaceBytes: 128 * MiB, processes: 64 },
    });
    expect(args.slice(0, args.indexOf('/usr/bin/setpriv'))).toEqual([
      '-c',
      JOIN_CGROUPS_AND_EXEC,
      'integr8scode-sandbox',
      '--',
      '/usr/bin/prlimit',
      '--cpu=3:4',
      '--fsize=16777216',
      '--core=0',
      '--nofile=1024',
      '--as=134217728',
      '--nproc=64',
      '--',
    ]);
  });

  it('when the worker is not root (no setpriv), then bwrap follows prlimit directly', () => {
    const { setpriv: _omitted, ...tools } = plan.tools;
    const { args } = buildSandboxArgv({
      ...plan,
      tools,
      uid: 1000,
      gid: 1000,
      insideUid: 1000,
      insideGid: 1000,
    });
    expect(args).not.toContain('/usr/bin/setpriv');
    expect(args.slice(args.indexOf('--nofile=1024'))).toEqual([
      '--nofile=1024',
      '--',
      '/usr/bin/bwrap',
      '--args',
      '5',
      '--',
      '/usr/bin/python3',
      'main.py',
      '--flag',
      'two words',
    ]);
  });

  it('when an option would contain a NUL, then building refuses (it would split into two options)', () => {
    expect(() => buildSandboxArgv({ ...plan, env: { X: 'a\0--bind' } })).toThrow(/NUL/);
  });
});

describe('JOIN_CGROUPS_AND_EXEC', () => {
  it('when read, then it joins every cgroup before exec and exits 125 on failure', () => {
    expect(JOIN_CGROUPS_AND_EXEC).toBe(
      'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"',
    );
  });
});
