import type { V1ContainerStateTerminated, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Verdict } from '../executor-backend.js';
import { signalOfStatus } from '../verdict.js';
import { parseTerminationRecord, type TerminationRecord } from './termination-record.js';

/**
 * Maps an executor pod, as the API server reports it, to what the pod monitor should report. Pure:
 * the caller passes the time, so every rule can be tested with plain objects.
 *
 * Precedence (first match wins):
 *  1. `executor` container terminated → terminal, from (in order) pod DeadlineExceeded, Evicted,
 *     OOMKilled, the runner's termination record, or the container's exit code.
 *  2. Pod-level end without an `executor` termination: DeadlineExceeded, Evicted, `runner-install`
 *     failed, phase Succeeded/Failed.
 *  3. `metadata.deletionTimestamp` set → deleting (the monitor knows whether it asked for it).
 *  4. A container stuck in a waiting reason that never resolves by itself → failed at once.
 *  5. Unschedulable for longer than the timeout → failed.
 *  6. `executor` running → running; otherwise pending.
 *
 * `cancelled` is never produced here: cancelling means the monitor deleted the pod, seen as step 3.
 */

export const EXECUTOR_CONTAINER = 'executor';
export const RUNNER_INSTALL_CONTAINER = 'runner-install';
export const EXECUTION_ID_LABEL = 'integr8scode.io/execution-id';

/** Waiting reasons after which the container will not start without someone changing the pod. */
export const CONTAINER_START_FAILURE_REASONS = [
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
] as const;

/** The subset a registry hiccup can cause; only these wait for `pullFailureGraceSeconds`. */
export const IMAGE_PULL_RETRY_REASONS = ['ImagePullBackOff', 'ErrImagePull'] as const;

export const WALL_DEADLINE_REASON = 'wall time limit (activeDeadlineSeconds) exceeded';

export interface ObservePodOptions {
  /** Seconds a pod may stay PodScheduled=False/Unschedulable before it is failed. */
  unschedulableTimeoutSeconds: number;
  /**
   * Seconds after scheduling during which ImagePullBackOff/ErrImagePull are still waited on
   * (the kubelet retries pulls). Default 0: fail at once.
   */
  pullFailureGraceSeconds?: number;
}

/** Not running yet: waiting for a node, an image, the init container or container creation. */
export interface PodPending {
  stage: 'pending';
  /** Bound to a node (`spec.nodeName` set or PodScheduled=True). */
  scheduled: boolean;
  nodeName: string | null;
  /** Why it is still pending as Kubernetes names it (Unschedulable, ContainerCreating…); null if unstated. */
  waitingReason: string | null;
}

/** The `executor` container is running (the runner, and soon or already the script). */
export interface PodRunning {
  stage: 'running';
  nodeName: string | null;
  /** ISO time the `executor` container started; null when not reported. */
  startedAt: string | null;
  /**
   * Phase Unknown: the node stopped reporting. Reported as running (not failed) because the node may
   * come back; activeDeadlineSeconds and the monitor's reconciler bound how long that can last.
   */
  phaseUnknown: boolean;
}

/** Deletion requested and no terminal state seen yet. */
export interface PodDeleting {
  stage: 'deleting';
}

/** Which observation decided the verdict. */
export type TerminalSource = 'runner' | 'container-state' | 'pod-status' | 'waiting-reason' | 'unschedulable';

export interface PodTerminal {
  stage: 'terminal';
  verdict: Verdict;
  /** The program's exit status, from the runner's record; null when a signal ended it or no record. */
  exitCode: number | null;
  /** Signal that ended the program (record), or `SIGKILL` when the whole container was killed. */
  signal: string | null;
  /** Explanation for failed and limit verdicts (`system: …`, `resource: …`, `unschedulable: …`). */
  reason: string | null;
  /** The runner's record whenever the `executor` termination message held a valid one. */
  record: TerminationRecord | null;
  /** Why the termination message was not a valid record; null when valid or never written. */
  recordError: string | null;
  /** Exit code of the `executor` container itself (the runner's), when it terminated. */
  containerExitCode: number | null;
  /** From the record; without one, the container's finishedAt − startedAt; null if unknown. */
  wallSeconds: number | null;
  /** From the record only. */
  cpuSeconds: number | null;
  /** From the record only. */
  peakMemoryBytes: number | null;
  /** From the record; false when there is no record (the monitor also counts output itself). */
  outputTruncated: boolean;
  source: TerminalSource;
}

export type PodObservation = PodPending | PodRunning | PodDeleting | PodTerminal;

/** The execution a pod belongs to, from its label; null when missing or empty. */
export function executionIdOf(pod: V1Pod): string | null {
  const id = pod.metadata?.labels?.[EXECUTION_ID_LABEL];
  return id === undefined || id === '' ? null : id;
}

export function observePod(pod: V1Pod, now: Date, opts: ObservePodOptions): PodObservation {
  const status = pod.status;
  const executor = findStatus(status?.containerStatuses, EXECUTOR_CONTAINER);
  const install = findStatus(status?.initContainerStatuses, RUNNER_INSTALL_CONTAINER);

  const terminated = executor?.state?.terminated;
  if (terminated !== undefined) return fromExecutorTermination(pod, terminated);

  const ended = fromPodEnd(pod, executor, install);
  if (ended !== null) return ended;

  if (pod.metadata?.deletionTimestamp) return { stage: 'deleting' };

  const startFailure = fromWaitingFailure(pod, now, opts, [install, executor]);
  if (startFailure !== null) return startFailure;

  const nodeName = pod.spec?.nodeName ?? null;
  const scheduledCondition = status?.conditions?.find((c) => c.type === 'PodScheduled');
  const scheduled = nodeName !== null || scheduledCondition?.status === 'True';
  if (!scheduled) {
    if (scheduledCondition?.status === 'False' && scheduledCondition.reason === 'Unschedulable') {
      const since = millis(scheduledCondition.lastTransitionTime) ?? millis(pod.metadata?.creationTimestamp);
      // No timestamp at all cannot happen for a pod from the API server; stay pending rather than guess.
      if (since !== null && now.getTime() - since > opts.unschedulableTimeoutSeconds * 1000)
        return terminal(
          'failed',
          `unschedulable: ${scheduledCondition.message ?? 'no message from the scheduler'}`,
          'unschedulable',
          noFigures(),
        );
    }
    return {
      stage: 'pending',
      scheduled: false,
      nodeName,
      waitingReason: scheduledCondition?.reason ?? null,
    };
  }

  const running = executor?.state?.running;
  const phaseUnknown = status?.phase === 'Unknown';
  if (running !== undefined || (phaseUnknown && millis(status?.startTime) !== null))
    return { stage: 'running', nodeName, startedAt: iso(running?.startedAt), phaseUnknown };

  return {
    stage: 'pending',
    scheduled: true,
    nodeName,
    waitingReason: firstWaitingReason([install, executor]),
  };
}

type Figures = Omit<PodTerminal, 'stage' | 'verdict' | 'reason' | 'source'>;

function fromExecutorTermination(pod: V1Pod, t: V1ContainerStateTerminated): PodTerminal {
  const parsed = parseTerminationRecord(t.message);
  const figures = parsed.ok ? recordFigures(parsed.record, t) : containerFigures(t, parsed.error);
  const podReason = pod.status?.reason;

  if (podReason === 'DeadlineExceeded') {
    // The runner enforces the wall limit itself and reports it with exact figures; the pod deadline
    // has slack on top, so it firing means the runner did not get to report in time.
    if (parsed.ok && parsed.record.verdict === 'timeout') return fromRecord(parsed.record, figures);
    if (millis(t.startedAt) === null)
      return terminal('failed', deadlineBeforeStart(null), 'pod-status', figures);
    return terminal('timeout', WALL_DEADLINE_REASON, 'pod-status', figures);
  }
  if (podReason === 'Evicted') return terminal('failed', evictedReason(pod), 'pod-status', figures);
  if (t.reason === 'OOMKilled') {
    const reason =
      parsed.ok && parsed.record.verdict === 'memory_limit' && parsed.record.reason !== null
        ? parsed.record.reason
        : 'memory limit exceeded: executor container OOM-killed';
    return terminal(
      'memory_limit',
      reason,
      'container-state',
      parsed.ok ? figures : { ...figures, signal: 'SIGKILL' },
    );
  }
  if (parsed.ok) return fromRecord(parsed.record, figures);

  const messageWritten = t.message !== undefined && t.message.trim() !== '';
  if (t.exitCode === 0)
    return terminal(
      'failed',
      `system: runner ended without a termination record${messageWritten ? `: ${parsed.error}` : ''}`,
      'container-state',
      figures,
    );
  if (t.exitCode === 137) {
    const detail = t.reason !== undefined && t.reason !== 'Error' ? `: ${join(t.reason, t.message)}` : '';
    return terminal(
      'failed',
      `system: executor container killed (SIGKILL) before the runner reported${detail}`,
      'container-state',
      figures,
    );
  }
  return terminal(
    'failed',
    `system: runner exited with code ${t.exitCode} without a valid termination record: ${parsed.error}`,
    'container-state',
    figures,
  );
}

/** The pod ended (or is ending) for a reason other than the `executor` container terminating. */
function fromPodEnd(
  pod: V1Pod,
  executor: V1ContainerStatus | undefined,
  install: V1ContainerStatus | undefined,
): PodTerminal | null {
  const status = pod.status;
  if (status?.reason === 'DeadlineExceeded') {
    // Status can lag the kill: a still-"running" executor means the script was running when it fired.
    if (executor?.state?.running !== undefined)
      return terminal('timeout', WALL_DEADLINE_REASON, 'pod-status', noFigures());
    // Never started (slow pull, stuck init): calling that a timeout would blame the script.
    const waiting = firstWaiting([install, executor]);
    return terminal('failed', deadlineBeforeStart(waiting), 'pod-status', noFigures());
  }
  if (status?.reason === 'Evicted') return terminal('failed', evictedReason(pod), 'pod-status', noFigures());

  const installEnd = install?.state?.terminated;
  if (installEnd !== undefined && installEnd.exitCode !== 0) {
    const reasonPart = installEnd.reason !== undefined ? ` (${installEnd.reason})` : '';
    const messagePart =
      installEnd.message !== undefined && installEnd.message !== '' ? `: ${installEnd.message.trim()}` : '';
    return terminal(
      'failed',
      `system: runner install failed: exit code ${installEnd.exitCode}${reasonPart}${messagePart}`,
      'container-state',
      noFigures(),
    );
  }

  if (status?.phase === 'Succeeded' || status?.phase === 'Failed') {
    const detail = join(status.reason, status.message);
    return terminal(
      'failed',
      detail === ''
        ? `system: pod ${status.phase} without a container status`
        : `system: pod ${status.phase}: ${detail}`,
      'pod-status',
      noFigures(),
    );
  }
  return null;
}

function fromWaitingFailure(
  pod: V1Pod,
  now: Date,
  opts: ObservePodOptions,
  statuses: (V1ContainerStatus | undefined)[],
): PodTerminal | null {
  for (const s of statuses) {
    const waiting = s?.state?.waiting;
    const reason = waiting?.reason;
    if (s === undefined || reason === undefined || !isStartFailure(reason)) continue;
    if (isPullRetry(reason) && withinPullGrace(pod, now, opts.pullFailureGraceSeconds ?? 0)) continue;
    return terminal(
      'failed',
      `system: ${reason} in container ${s.name}${messagePart(waiting?.message)}`,
      'waiting-reason',
      noFigures(),
    );
  }
  return null;
}

function withinPullGrace(pod: V1Pod, now: Date, graceSeconds: number): boolean {
  if (graceSeconds <= 0) return false;
  // Pulling starts once the pod is bound to a node.
  const scheduledAt = pod.status?.conditions?.find(
    (c) => c.type === 'PodScheduled' && c.status === 'True',
  )?.lastTransitionTime;
  const since =
    millis(scheduledAt) ?? millis(pod.status?.startTime) ?? millis(pod.metadata?.creationTimestamp);
  if (since === null) return false;
  return now.getTime() - since <= graceSeconds * 1000;
}

function fromRecord(record: TerminationRecord, figures: Figures): PodTerminal {
  const reason =
    record.reason ??
    (record.verdict === 'failed' ? 'system: runner reported a failure without a reason' : null);
  return terminal(record.verdict, reason, 'runner', figures);
}

function recordFigures(record: TerminationRecord, t: V1ContainerStateTerminated): Figures {
  return {
    exitCode: record.exit_code,
    signal: record.signal,
    record,
    recordError: null,
    containerExitCode: t.exitCode,
    wallSeconds: record.wall_seconds,
    cpuSeconds: record.cpu_seconds,
    peakMemoryBytes: record.peak_memory_bytes,
    outputTruncated: record.output_truncated,
  };
}

function containerFigures(t: V1ContainerStateTerminated, recordError: string): Figures {
  const started = millis(t.startedAt);
  const finished = millis(t.finishedAt);
  const written = t.message !== undefined && t.message.trim() !== '';
  return {
    // The container's exit code is the runner's, not the program's: only a kill signal carries over.
    exitCode: null,
    signal: signalOfStatus(t.exitCode),
    record: null,
    recordError: written ? recordError : null,
    containerExitCode: t.exitCode,
    wallSeconds:
      started !== null && finished !== null && finished >= started ? (finished - started) / 1000 : null,
    cpuSeconds: null,
    peakMemoryBytes: null,
    outputTruncated: false,
  };
}

function noFigures(): Figures {
  return {
    exitCode: null,
    signal: null,
    record: null,
    recordError: null,
    containerExitCode: null,
    wallSeconds: null,
    cpuSeconds: null,
    peakMemoryBytes: null,
    outputTruncated: false,
  };
}

function terminal(
  verdict: Verdict,
  reason: string | null,
  source: TerminalSource,
  figures: Figures,
): PodTerminal {
  return { stage: 'terminal', verdict, reason, source, ...figures };
}

function deadlineBeforeStart(waiting: { container: string; reason: string } | null): string {
  const detail = waiting === null ? '' : ` (${waiting.container}: ${waiting.reason})`;
  return `system: ${WALL_DEADLINE_REASON} before the script started${detail}`;
}

function evictedReason(pod: V1Pod): string {
  return `resource: evicted${messagePart(pod.status?.message)}`;
}

function findStatus(statuses: V1ContainerStatus[] | undefined, name: string): V1ContainerStatus | undefined {
  return statuses?.find((s) => s.name === name);
}

function firstWaiting(
  statuses: (V1ContainerStatus | undefined)[],
): { container: string; reason: string } | null {
  for (const s of statuses) {
    const reason = s?.state?.waiting?.reason;
    if (s !== undefined && reason !== undefined) return { container: s.name, reason };
  }
  return null;
}

function firstWaitingReason(statuses: (V1ContainerStatus | undefined)[]): string | null {
  return firstWaiting(statuses)?.reason ?? null;
}

function isStartFailure(reason: string): boolean {
  return (CONTAINER_START_FAILURE_REASONS as readonly string[]).includes(reason);
}

function isPullRetry(reason: string): boolean {
  return (IMAGE_PULL_RETRY_REASONS as readonly string[]).includes(reason);
}

function messagePart(message: string | undefined): string {
  return message === undefined || message.trim() === '' ? '' : `: ${message.trim()}`;
}

function join(...parts: (string | undefined)[]): string {
  return parts
    .filter((p): p is string => p !== undefined && p.trim() !== '')
    .map((p) => p.trim())
    .join(': ');
}

/**
 * The client types timestamps as Date, but objects from a watch are raw JSON with ISO strings;
 * accept both.
 */
function millis(t: Date | string | undefined | null): number | null {
  if (t === undefined || t === null) return null;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}

function iso(t: Date | string | undefined | null): string | null {
  const ms = millis(t);
  return ms === null ? null : new Date(ms).toISOString();
}
