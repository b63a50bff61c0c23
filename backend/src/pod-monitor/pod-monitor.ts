import type { V1Pod } from '@kubernetes/client-node';
import { resultWithoutOutput, type ExecutionEvents } from '../executions/execution-events.js';
import type { ExecutionRepository } from '../executions/execution-repository.js';
import { isTerminal } from '../executions/execution.js';
import type { KubeApis } from '../executor/kubernetes/kube-client.js';
import { messageOf, statusOf } from '../executor/kubernetes/kube-client.js';
import { CORRELATION_ANNOTATION, EXECUTOR_SELECTOR, podNameOf } from '../executor/kubernetes/pod-spec.js';
import { executionIdOf, type ObservePodOptions } from '../executor/kubernetes/pod-status.js';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import { PodReporter } from './pod-reporter.js';
import { PodWatcher } from './pod-watcher.js';

export const VANISHED_POD_REASON =
  'system: the executor pod disappeared before it finished (deleted outside the platform or lost with its node)';

export interface PodMonitorOptions {
  apis: KubeApis;
  namespace: string;
  events: ExecutionEvents;
  executions: Pick<ExecutionRepository, 'findById' | 'staleActive'>;
  observe: ObservePodOptions;
  reconcileIntervalMs: number;
  logger: Logger;
  /** A pod whose execution is unknown is deleted once older than this. Default 120 s. */
  orphanAgeMs?: number;
  /** A running execution without a pod is failed once unchanged for this long. Default 2 × interval, ≥ 30 s. */
  vanishedAfterMs?: number;
  watchTimeoutSeconds?: number;
  logDrainMs?: number;
  logRetryMs?: number;
  /** EXECUTION_MAX_OUTPUT_EVENTS; its default when absent. */
  maxOutputEvents?: number;
}

export interface ReconcileReport {
  pods: number;
  orphansDeleted: number;
  vanished: number;
}

/**
 * The pod monitor: watches executor pods and reports them (PodReporter), and reconciles on a
 * timer: re-observes every pod (time-based verdicts such as unschedulable need no event),
 * deletes orphans (pods of finished or unknown executions) and fails running executions whose
 * pod is gone.
 */
export class PodMonitor implements Component {
  readonly name = 'pod-monitor';
  readonly reporter: PodReporter;
  readonly watcher: PodWatcher;
  private readonly gate = new LifecycleGate();
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | null = null;
  private reconciling: Promise<ReconcileReport> | null = null;

  constructor(private readonly options: PodMonitorOptions) {
    this.logger = options.logger.child({ component: 'pod-monitor' });
    this.reporter = new PodReporter({
      apis: options.apis,
      namespace: options.namespace,
      events: options.events,
      executions: options.executions,
      observe: options.observe,
      logger: this.logger,
      ...(options.logDrainMs === undefined ? {} : { logDrainMs: options.logDrainMs }),
      ...(options.logRetryMs === undefined ? {} : { logRetryMs: options.logRetryMs }),
      ...(options.maxOutputEvents === undefined ? {} : { maxOutputEvents: options.maxOutputEvents }),
    });
    this.watcher = new PodWatcher({
      apis: options.apis,
      namespace: options.namespace,
      labelSelector: EXECUTOR_SELECTOR,
      logger: this.logger,
      onPod: (pod) => this.reporter.observe(pod),
      onDeleted: (pod) => this.reporter.forget(pod),
      onList: (pods) => this.onList(pods),
      ...(options.watchTimeoutSeconds === undefined
        ? {}
        : { watchTimeoutSeconds: options.watchTimeoutSeconds }),
    });
  }

  start(): Promise<void> {
    return this.gate.start(async () => {
      await this.watcher.start();
      this.timer = setInterval(
        () => void this.reconcile().catch(() => undefined),
        this.options.reconcileIntervalMs,
      );
      this.timer.unref();
      this.logger.info({ namespace: this.options.namespace }, 'pod monitor started');
    });
  }

  stop(): Promise<void> {
    return this.gate.stop(async () => {
      if (this.timer) clearInterval(this.timer);
      await this.watcher.stop();
      await this.reconciling?.catch(() => undefined);
      await this.reporter.stop();
    });
  }

  /** One reconciliation pass (also run by the timer); concurrent calls share one pass. */
  reconcile(): Promise<ReconcileReport> {
    this.reconciling ??= this.reconcileOnce()
      .catch((err: unknown) => {
        this.logger.warn({ err: messageOf(err) }, 'reconciliation failed');
        throw err;
      })
      .finally(() => {
        this.reconciling = null;
      });
    return this.reconciling;
  }

  private onList(pods: V1Pod[]): void {
    const present = new Set(pods.map((pod) => pod.metadata?.name));
    for (const name of this.reporter.names()) {
      if (!present.has(name)) this.reporter.forget({ metadata: { name } });
    }
    for (const pod of pods) this.reporter.observe(pod);
  }

  private async reconcileOnce(): Promise<ReconcileReport> {
    const { apis, namespace, executions, events } = this.options;
    const list = await apis.core.listNamespacedPod({ namespace, labelSelector: EXECUTOR_SELECTOR });
    const now = Date.now();
    let orphansDeleted = 0;
    const podExecutions = new Set<string>();
    for (const pod of list.items) {
      const id = pod.metadata?.annotations?.[CORRELATION_ANNOTATION] ?? executionIdOf(pod);
      if (id) podExecutions.add(id);
      if (pod.metadata?.deletionTimestamp) continue;
      const execution = id ? await executions.findById(id) : null;
      const created = pod.metadata?.creationTimestamp
        ? new Date(pod.metadata.creationTimestamp).getTime()
        : now;
      const orphan =
        id !== null && execution !== null
          ? isTerminal(execution.status) && !this.reporter.isFinishing(id)
          : now - created > (this.options.orphanAgeMs ?? 120_000);
      if (orphan) {
        if (await this.deletePod(pod.metadata!.name!)) orphansDeleted++;
        this.logger.info(
          { pod: pod.metadata?.name, status: execution?.status ?? 'unknown' },
          'orphan pod deleted',
        );
        continue;
      }
      // Re-observing covers missed events and verdicts that only time produces (unschedulable).
      this.reporter.observe(pod);
    }

    let vanished = 0;
    const vanishedAfter =
      this.options.vanishedAfterMs ?? Math.max(2 * this.options.reconcileIntervalMs, 30_000);
    for (const execution of await executions.staleActive(['running'], new Date(now - vanishedAfter))) {
      if (podExecutions.has(execution.id) || this.reporter.isFinishing(execution.id)) continue;
      // Confirm with a direct read: the list above may be older than a pod created since.
      try {
        await apis.core.readNamespacedPod({ name: podNameOf(execution.id), namespace });
        continue;
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
      await events.publish(
        events.build(
          'execution_failed',
          execution.id,
          resultWithoutOutput(execution.id, 'failed', VANISHED_POD_REASON),
          execution.userId,
        ),
      );
      vanished++;
      this.logger.warn({ execution_id: execution.id }, 'running execution has no pod; failed as vanished');
    }
    return { pods: list.items.length, orphansDeleted, vanished };
  }

  private async deletePod(name: string): Promise<boolean> {
    try {
      await this.options.apis.core.deleteNamespacedPod({
        name,
        namespace: this.options.namespace,
        gracePeriodSeconds: 0,
      });
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }
}
