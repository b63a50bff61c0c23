import { constants } from 'node:os';
import type { Verdict } from './executor-backend.js';

/** Why the executor itself ended a run; the first reason recorded wins. */
export type KillReason = 'cancelled' | 'timeout' | 'cpu_limit' | 'output_limit';

export interface RunFacts {
  /** The platform could not start or supervise the run (spawn, sandbox setup, cgroup). */
  setupError?: string;
  killReason?: KillReason;
  /** Exit status as the sandbox reported it (bwrap reports death by signal N as 128+N). */
  exitCode: number | null;
  /** Signal that ended the sandbox process itself (our SIGKILL of the cgroup shows here). */
  signal: string | null;
  /** Processes the kernel OOM-killed in the sandbox's memory cgroup. */
  oomKills: number;
  /** Fork/clone attempts refused by the pids limit. */
  pidsLimitHits: number;
  cpuSeconds: number;
  limits: { cpuSeconds: number; wallSeconds: number; memoryBytes: number; maxOutputBytes: number };
}

export interface Classification {
  verdict: Verdict;
  exitCode: number | null;
  signal: string | null;
  reason?: string;
}

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, number]) => [number, name]),
);

/**
 * The signal a shell-style exit status 128+N stands for, if N is one. Only for statuses a script
 * cannot choose (a container's, whose main process is our runner); see decodeExitStatus.
 */
export function signalOfStatus(exitCode: number | null): string | null {
  if (exitCode === null || exitCode <= 128) return null;
  return SIGNAL_NAMES.get(exitCode - 128) ?? null;
}

/**
 * How the sandbox's exit status reads. bwrap (like a shell) reports a child killed by signal N as
 * exit status 128+N, so the status alone cannot tell `exit(137)` from a SIGKILL. A 128+N status is
 * read as a signal only when the supervisor has its own evidence for that signal: SIGKILL after it
 * killed the run or the kernel OOM-killed in the cgroup, SIGKILL or SIGXCPU (RLIMIT_CPU) with the
 * cgroup's CPU time at the limit. Otherwise it stays an exit code, with a reason naming both
 * readings.
 */
export function decodeExitStatus(
  facts: Pick<RunFacts, 'exitCode' | 'signal' | 'killReason' | 'oomKills' | 'cpuSeconds' | 'limits'>,
): Pick<Classification, 'exitCode' | 'signal' | 'reason'> {
  const { exitCode, signal } = facts;
  if (signal !== null) return { exitCode: null, signal };
  const name = signalOfStatus(exitCode);
  if (exitCode === null || name === null) return { exitCode, signal: null };
  const observed =
    (name === 'SIGKILL' &&
      (facts.killReason !== undefined || facts.oomKills > 0 || cpuLimitReached(facts))) ||
    (name === 'SIGXCPU' && cpuLimitReached(facts));
  if (observed) return { exitCode: null, signal: name };
  return {
    exitCode,
    signal: null,
    reason: `exit status ${exitCode}: the script exited with ${exitCode} or was killed by ${name} (the sandbox reports both alike)${SIGNAL_NOTES[name] ?? ''}`,
  };
}

/** What a signal the script may have been killed by would mean here. */
const SIGNAL_NOTES: Record<string, string> = {
  SIGXFSZ: '; SIGXFSZ is the file size limit',
  SIGXCPU: '; not the CPU time limit, which was not reached',
};

/**
 * The cgroup's CPU time shows RLIMIT_CPU (soft limit: the limit rounded up to whole seconds) may
 * have fired. Within 10%: the kernel checks RLIMIT_CPU against tick-sampled user+system time, the
 * cgroup counts nanoseconds, and the two differ a little on a busy host.
 */
function cpuLimitReached(facts: Pick<RunFacts, 'cpuSeconds' | 'limits'>): boolean {
  return facts.cpuSeconds >= 0.9 * facts.limits.cpuSeconds;
}

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

/** Maps what was observed about a run to its verdict. Pure; the order of the checks is the policy. */
export function classify(facts: RunFacts): Classification {
  const { reason: statusNote, ...status } = decodeExitStatus(facts);
  const forkNote =
    facts.pidsLimitHits > 0 ? `; ${facts.pidsLimitHits} fork(s) refused by the process limit` : '';
  if (facts.killReason === 'cancelled') {
    return { verdict: 'cancelled', ...status, reason: 'cancelled on request' };
  }
  if (facts.setupError !== undefined) {
    return { verdict: 'failed', ...status, reason: facts.setupError };
  }
  // An OOM kill outranks our own kill reasons: running out of memory is what broke the run.
  if (facts.oomKills > 0) {
    return {
      verdict: 'memory_limit',
      ...status,
      reason: `memory limit of ${mib(facts.limits.memoryBytes)} exceeded (${facts.oomKills} process(es) OOM-killed)${forkNote}`,
    };
  }
  switch (facts.killReason) {
    case 'output_limit':
      return {
        verdict: 'output_limit',
        ...status,
        reason: `output exceeded ${facts.limits.maxOutputBytes} bytes${forkNote}`,
      };
    case 'cpu_limit':
      return cpuLimit(facts, status, forkNote);
    case 'timeout':
      return {
        verdict: 'timeout',
        ...status,
        reason: `wall time limit of ${facts.limits.wallSeconds} s exceeded${forkNote}`,
      };
    case undefined:
      break;
  }
  // RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard limit one second later. Both are
  // signals only with the cgroup's CPU time at the limit (decodeExitStatus).
  if (status.signal === 'SIGXCPU' || (status.signal === 'SIGKILL' && cpuLimitReached(facts))) {
    return cpuLimit(facts, status, forkNote);
  }
  const reason = [statusNote, forkNote.slice(2)]
    .filter((part) => part !== undefined && part !== '')
    .join('; ');
  return reason === '' ? { verdict: 'completed', ...status } : { verdict: 'completed', ...status, reason };
}

function cpuLimit(
  facts: RunFacts,
  status: Pick<Classification, 'exitCode' | 'signal'>,
  forkNote: string,
): Classification {
  return {
    verdict: 'cpu_limit',
    ...status,
    reason: `CPU time limit of ${facts.limits.cpuSeconds} s exceeded${forkNote}`,
  };
}
