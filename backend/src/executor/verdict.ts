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
 * bwrap (like a shell) reports a child killed by signal N as exit status 128+N. A script that
 * itself exits with 137 is therefore indistinguishable from SIGKILL; we read it as a signal,
 * like Judge0 and Piston do.
 */
export function decodeExitStatus(
  exitCode: number | null,
  signal: string | null,
): Pick<Classification, 'exitCode' | 'signal'> {
  if (signal !== null) return { exitCode: null, signal };
  if (exitCode !== null && exitCode > 128) {
    const name = SIGNAL_NAMES.get(exitCode - 128);
    if (name !== undefined) return { exitCode: null, signal: name };
  }
  return { exitCode, signal: null };
}

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

/** Maps what was observed about a run to its verdict. Pure; the order of the checks is the policy. */
export function classify(facts: RunFacts): Classification {
  const status = decodeExitStatus(facts.exitCode, facts.signal);
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
  // RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard limit one second later.
  if (
    status.signal === 'SIGXCPU' ||
    (status.signal === 'SIGKILL' && facts.cpuSeconds >= facts.limits.cpuSeconds)
  ) {
    return cpuLimit(facts, status, forkNote);
  }
  if (status.signal === 'SIGXFSZ') {
    return {
      verdict: 'completed',
      ...status,
      reason: 'file size limit exceeded (SIGXFSZ)' + forkNote,
    };
  }
  return forkNote === ''
    ? { verdict: 'completed', ...status }
    : { verdict: 'completed', ...status, reason: forkNote.slice(2) };
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
