import type { V1Pod } from '@kubernetes/client-node';
import { terminalEventTypeOf, type ExecutionResult } from '../events/definitions.js';
import { stableEventId, type ExecutionEvents } from '../executions/execution-events.js';
import type { ExecutionRepository } from '../executions/execution-repository.js';
import { isTerminal, type Execution } from '../executions/execution.js';
import type { KubeApis } from '../executor/kubernetes/kube-client.js';
import { statusOf } from '../executor/kubernetes/kube-client.js';
import { CORRELATION_ANNOTATION } from '../executor/kubernetes/pod-spec.js';
import {
  EXECUTOR_CONTAINER,
  executionIdOf,
  observePod,
  type ObservePodOptions,
  type PodTerminal,
} from '../executor/kubernetes/pod-status.js';
import type { Logger } from '../platform/logging/logger.js';
import { withCorrelation } from '../platform/logging/logger.js';
import { LogFollower, type FollowedLog } from './log-follower.js';
import { OutputPublisher } from './output-publisher.js';

export interface PodReporterOptions {
  apis: KubeApis;
  namespace: string;
  events: ExecutionEvents;
  executions: Pick<ExecutionRepository, 'findById'>;
  observe: ObservePodOptions;
  logger: Logger;
  /** How long to wait for the rest of the log after the container ended. Default 10 s. */
  logDrainMs?: number;
  logRetryMs?: number;
  /** How long a finished execution is remembered (so the reconciler does not call it vanished). */
  rememberFinishedMs?: number;
  /** EXECUTION_MAX_OUTPUT_EVENTS; its default when absent. */
  maxOutputEvents?: number;
  now?: () => Date;
}

interface TrackedPod {
  name: string;
  executionId: string;
  execution: Execution | null;
  loaded: Promise<void>;
  scheduledReported: boolean;
  startedReported: boolean;
  follower: LogFollower | null;
  publisher: OutputPublisher;
  finishing: Promise<void> | null;
  finished: boolean;
  logger: Logger;
}

const DEFAULT_MAX_OUTPUT = 1024 * 1024;

/**
 * Turns what the watch says about executor pods into execution events: pod_scheduled,
 * execution_started, live execution_output (by following the log), then exactly one terminal
 * event, after which it deletes the pod. All state is in memory and rebuilt from the pods
 * themselves after a restart: a pod is deleted only after its terminal event is on Kafka, so a
 * restart in between reports it again (same event id; the result processor keeps the first).
 */
export class PodReporter {
  private readonly pods = new Map<string, TrackedPod>();
  private readonly recentlyFinished = new Map<string, number>();
  private stopped = false;

  constructor(private readonly options: PodReporterOptions) {}

  /** Executions whose result this process reported recently (or is reporting now). */
  isFinishing(executionId: string): boolean {
    for (const pod of this.pods.values()) {
      if (pod.executionId === executionId && (pod.finishing !== null || pod.finished)) return true;
    }
    const at = this.recentlyFinished.get(executionId);
    return at !== undefined && this.now().getTime() - at < (this.options.rememberFinishedMs ?? 10 * 60_000);
  }

  tracked(name: string): boolean {
    return this.pods.has(name);
  }

  /** A pod as the list or watch shows it (ADDED / MODIFIED). */
  observe(pod: V1Pod): void {
    if (this.stopped) return;
    const tracked = this.track(pod);
    if (!tracked || tracked.finished || tracked.finishing) return;
    const observation = observePod(pod, this.now(), this.options.observe);
    switch (observation.stage) {
      case 'pending':
        if (observation.scheduled && !tracked.scheduledReported) {
          tracked.scheduledReported = true;
          this.publishLater(tracked, (t) =>
            this.options.events.build(
              'pod_scheduled',
              t.executionId,
              { execution_id: t.executionId, pod_name: t.name, node_name: observation.nodeName },
              t.execution?.userId ?? null,
            ),
          );
        }
        return;
      case 'running':
        if (!tracked.startedReported) {
          tracked.startedReported = true;
          this.publishLater(tracked, (t) =>
            this.options.events.build(
              'execution_started',
              t.executionId,
              { execution_id: t.executionId, backend: 'kubernetes', pod_name: t.name },
              t.execution?.userId ?? null,
              { eventId: stableEventId(`${t.executionId}/started`) },
            ),
          );
        }
        void this.follow(tracked);
        return;
      case 'deleting':
        return;
      case 'terminal':
        tracked.finishing = this.finish(tracked, pod, observation).catch((err: unknown) => {
          // Kafka or Mongo unavailable: forget the attempt; the next event or reconcile retries.
          tracked.logger.error({ err }, 'reporting the pod’s end failed; will retry');
          tracked.finishing = null;
        });
        return;
    }
  }

  /** A pod that is gone (watch DELETED, or missing from a fresh list). */
  forget(pod: V1Pod): void {
    const name = pod.metadata?.name;
    if (!name) return;
    const tracked = this.pods.get(name);
    if (!tracked) return;
    if (!tracked.finished && !tracked.finishing) {
      // Its last state may be terminal (deleted right after it ended): report that.
      const observation = observePod(pod, this.now(), this.options.observe);
      if (observation.stage === 'terminal') {
        tracked.finishing = this.finish(tracked, pod, observation, { podGone: true }).catch(
          (err: unknown) => {
            tracked.logger.error({ err }, 'reporting a deleted pod’s end failed');
          },
        );
        return;
      }
      tracked.logger.warn('executor pod deleted before it finished; the reconciler decides');
    }
    tracked.follower?.stop();
    tracked.publisher.close();
    if (!tracked.finishing) this.pods.delete(name);
  }

  /** Names of pods being tracked (the reconciler compares them with a fresh list). */
  names(): string[] {
    return [...this.pods.keys()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const tracked of this.pods.values()) tracked.follower?.stop();
    await Promise.allSettled([...this.pods.values()].flatMap((t) => (t.finishing ? [t.finishing] : [])));
    for (const tracked of this.pods.values()) tracked.publisher.close();
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private track(pod: V1Pod): TrackedPod | null {
    const name = pod.metadata?.name;
    if (!name) return null;
    const existing = this.pods.get(name);
    if (existing) return existing;
    const executionId = pod.metadata?.annotations?.[CORRELATION_ANNOTATION] ?? executionIdOf(pod);
    if (!executionId) {
      this.options.logger.warn({ pod: name }, 'executor pod without an execution id; left to the reconciler');
      return null;
    }
    const logger = withCorrelation(this.options.logger, executionId).child({ pod: name });
    const tracked: TrackedPod = {
      name,
      executionId,
      execution: null,
      loaded: Promise.resolve(),
      scheduledReported: false,
      startedReported: false,
      follower: null,
      publisher: new OutputPublisher(
        this.options.events,
        executionId,
        logger,
        undefined,
        this.options.maxOutputEvents,
      ),
      finishing: null,
      finished: false,
      logger,
    };
    tracked.loaded = this.options.executions
      .findById(executionId)
      .then((execution) => {
        tracked.execution = execution;
        tracked.publisher.userId = execution?.userId ?? null;
      })
      .catch((err: unknown) =>
        logger.warn({ err }, 'loading the execution failed; output limit defaults apply'),
      );
    this.pods.set(name, tracked);
    return tracked;
  }

  private publishLater(
    tracked: TrackedPod,
    build: (t: TrackedPod) => Parameters<ExecutionEvents['publish']>[0],
  ): void {
    void tracked.loaded
      .then(() => this.options.events.publish(build(tracked)))
      .catch((err: unknown) => tracked.logger.warn({ err }, 'publishing a pod progress event failed'));
  }

  /** Starts following the log once the execution is loaded; resolves when the follower exists. */
  private follow(tracked: TrackedPod): Promise<void> {
    if (tracked.follower) return Promise.resolve();
    const start = () => {
      if (tracked.follower || this.stopped) return;
      tracked.follower = new LogFollower({
        kc: this.options.apis.config,
        namespace: this.options.namespace,
        pod: tracked.name,
        container: EXECUTOR_CONTAINER,
        maxOutputBytes: tracked.execution?.limits.max_output_bytes ?? DEFAULT_MAX_OUTPUT,
        onOutput: (frame) => tracked.publisher.push(frame),
        logger: tracked.logger,
        ...(this.options.logRetryMs === undefined ? {} : { retryMs: this.options.logRetryMs }),
      });
    };
    // The output cap comes from the execution, so wait for it (a failed load falls back to the default).
    return tracked.loaded.then(start);
  }

  private async finish(
    tracked: TrackedPod,
    pod: V1Pod,
    observed: PodTerminal,
    opts: { podGone?: boolean } = {},
  ): Promise<void> {
    await tracked.loaded;
    const { logger, executionId: id } = tracked;
    const executor = pod.status?.containerStatuses?.find((c) => c.name === EXECUTOR_CONTAINER);
    const containerRan = Boolean(
      executor?.state?.terminated ?? executor?.state?.running ?? executor?.lastState?.terminated,
    );
    if (containerRan && !opts.podGone) await this.follow(tracked);
    let log: FollowedLog | null = null;
    if (tracked.follower) {
      tracked.follower.ended();
      const drainMs = this.options.logDrainMs ?? 10_000;
      const timer = setTimeout(() => tracked.follower?.stop(), drainMs);
      log = await tracked.follower.done;
      clearTimeout(timer);
      await tracked.publisher.drain();
    }
    const observation = withLogRecord(pod, observed, log, this.now(), this.options.observe);

    const current = await this.options.executions.findById(id);
    if (current && isTerminal(current.status)) {
      logger.info({ status: current.status }, 'execution already finished; pod end not reported again');
    } else {
      const result = resultOf(id, observation, log, tracked.publisher.count);
      await this.options.events.publish(
        this.options.events.build(
          terminalEventTypeOf(result.verdict),
          id,
          result,
          tracked.execution?.userId ?? null,
          {
            eventId: stableEventId(`${id}/terminal`),
          },
        ),
      );
      logger.info(
        {
          verdict: result.verdict,
          exit_code: result.exit_code,
          output_chunks: result.output_chunks,
          source: observation.source,
        },
        'execution finished in its pod',
      );
    }
    this.recentlyFinished.set(id, this.now().getTime());
    if (!opts.podGone) await this.deletePod(tracked, 'finished and reported');
    tracked.finished = true;
    tracked.publisher.close();
    this.pods.delete(tracked.name);
    this.pruneFinished();
  }

  private async deletePod(tracked: TrackedPod, reason: string): Promise<void> {
    try {
      await this.options.apis.core.deleteNamespacedPod({
        name: tracked.name,
        namespace: this.options.namespace,
        gracePeriodSeconds: 0,
      });
    } catch (err) {
      if (statusOf(err) !== 404) {
        // The result is out; the reconciler collects the pod later.
        tracked.logger.warn({ err }, 'deleting the finished pod failed; the reconciler will retry');
        return;
      }
    }
    await this.options.events
      .publish(
        this.options.events.build(
          'pod_deleted',
          tracked.executionId,
          { execution_id: tracked.executionId, pod_name: tracked.name, reason },
          tracked.execution?.userId ?? null,
        ),
      )
      .catch((err: unknown) => tracked.logger.warn({ err }, 'publishing pod_deleted failed'));
  }

  private pruneFinished(): void {
    const horizon = this.now().getTime() - (this.options.rememberFinishedMs ?? 10 * 60_000);
    for (const [id, at] of this.recentlyFinished) if (at < horizon) this.recentlyFinished.delete(id);
  }
}

/**
 * The runner's record comes from two places: the termination message and the log's last `X`
 * line. The X line wins when the log reached it: the script shares the runner's uid and can
 * overwrite /dev/termination-log, but cannot write log lines past the runner (its output is
 * framed, and the runner is not dumpable, so /proc/<runner>/fd/1 is closed to it).
 */
function withLogRecord(
  pod: V1Pod,
  observed: PodTerminal,
  log: FollowedLog | null,
  now: Date,
  options: ObservePodOptions,
): PodTerminal {
  if (observed.record !== null || log?.record == null || observed.source !== 'container-state')
    return observed;
  const message = JSON.stringify(log.record);
  const patched: V1Pod = {
    ...pod,
    status: {
      ...pod.status,
      containerStatuses: pod.status?.containerStatuses?.map((c) =>
        c.name === EXECUTOR_CONTAINER && c.state?.terminated
          ? { ...c, state: { ...c.state, terminated: { ...c.state.terminated, message } } }
          : c,
      ),
    },
  };
  const again = observePod(patched, now, options);
  return again.stage === 'terminal' ? again : observed;
}

export function resultOf(
  executionId: string,
  observation: PodTerminal,
  log: FollowedLog | null,
  outputChunks: number,
): ExecutionResult {
  const reasons = [observation.reason];
  if (log && log.problems.length > 0)
    reasons.push(`output incomplete: ${log.problems.slice(0, 3).join('; ')}`);
  if (log === null && observation.record !== null && observation.record.frames > 0) {
    reasons.push('output unavailable: the pod log was not read');
  }
  const reason = reasons.filter((r): r is string => r !== null && r !== '').join('; ');
  return {
    execution_id: executionId,
    verdict: observation.verdict,
    exit_code: observation.exitCode,
    signal: observation.signal,
    stdout_b64: (log?.stdout ?? Buffer.alloc(0)).toString('base64'),
    stderr_b64: (log?.stderr ?? Buffer.alloc(0)).toString('base64'),
    output_truncated: observation.outputTruncated || (log?.truncated ?? false),
    output_chunks: outputChunks,
    resource_usage:
      observation.wallSeconds === null
        ? null
        : {
            wall_seconds: observation.wallSeconds,
            cpu_seconds: observation.cpuSeconds ?? 0,
            peak_memory_bytes: observation.peakMemoryBytes ?? 0,
          },
    reason: reason === '' ? null : reason,
  };
}
