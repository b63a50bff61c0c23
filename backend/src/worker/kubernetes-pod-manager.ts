import type { V1Pod } from '@kubernetes/client-node';
import type { Kafka } from 'kafkajs';
import type {
  PlatformEventCatalog,
  PlatformEventDefinitions,
  PlatformEventOf,
} from '../events/definitions.js';
import { resultWithoutOutput, type ExecutionEvents } from '../executions/execution-events.js';
import type { ExecutionRepository } from '../executions/execution-repository.js';
import { isTerminal } from '../executions/execution.js';
import type { KubeApis } from '../executor/kubernetes/kube-client.js';
import { isTransient, messageOf, statusOf } from '../executor/kubernetes/kube-client.js';
import { verifyExecutorNamespace } from '../executor/kubernetes/namespace-guard.js';
import {
  buildExecutorObjects,
  podNameOf,
  withOwner,
  type PodSpecConfig,
} from '../executor/kubernetes/pod-spec.js';
import type { KubernetesRuntime } from '../executor/kubernetes/runtime-images.js';
import { ConsumerRunner, type ConsumerRunnerSettings } from '../platform/kafka/consumer-runner.js';
import { outcome, type HandlerContext, type HandlerOutcome } from '../platform/kafka/handler.js';
import type { EventProducer } from '../platform/kafka/producer.js';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import { executionRequestOf } from './run-execution.js';

export interface KubernetesPodManagerOptions {
  kafka: Kafka;
  catalog: PlatformEventCatalog;
  producer: EventProducer<PlatformEventDefinitions>;
  events: ExecutionEvents;
  apis: KubeApis;
  runtimes: readonly KubernetesRuntime[];
  podConfig: PodSpecConfig;
  executions: Pick<ExecutionRepository, 'findById'>;
  settings: ConsumerRunnerSettings & { SHUTDOWN_TIMEOUT_SECONDS: number };
  logger: Logger;
  /** Commands handled at once; launching is two API calls, so a few go a long way. */
  concurrency?: number;
  fetchMaxWaitMs?: number;
}

type CreatePodCommand = PlatformEventOf<'create_pod_command'>;
type DeletePodCommand = PlatformEventOf<'delete_pod_command'>;

/**
 * The k8s worker with EXECUTOR_BACKEND = kubernetes: turns create_pod_command into a script
 * ConfigMap plus a hardened executor pod, and delete_pod_command into an immediate pod delete.
 * It only launches: the pod monitor reports everything that happens to the pod from then on.
 *
 * Both commands go through one shared consumer group (any worker instance can delete any pod),
 * committed only after the API server accepted the change. Redelivery is safe: an existing pod
 * or ConfigMap (409) counts as created.
 */
export class KubernetesPodManager implements Component {
  readonly name = 'kubernetes-pod-manager';
  private readonly gate = new LifecycleGate();
  private readonly logger: Logger;
  private readonly runner: ConsumerRunner<PlatformEventDefinitions>;

  constructor(private readonly options: KubernetesPodManagerOptions) {
    this.logger = options.logger.child({ component: 'kubernetes-pod-manager' });
    this.runner = new ConsumerRunner({
      kafka: options.kafka,
      catalog: options.catalog,
      producer: options.producer,
      logger: options.logger,
      settings: options.settings,
      groupId: options.settings.KAFKA_CONSUMER_GROUP_ID,
      partitionsConsumedConcurrently: options.concurrency ?? 8,
      stopTimeoutMs: options.settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
      ...(options.fetchMaxWaitMs === undefined ? {} : { fetchMaxWaitMs: options.fetchMaxWaitMs }),
      handlers: {
        create_pod_command: (event, ctx) => this.launch(event, ctx),
        delete_pod_command: (event, ctx) => this.remove(event, ctx),
      },
    });
  }

  start(): Promise<void> {
    return this.gate.start(async () => {
      await verifyExecutorNamespace(this.options.apis, this.options.podConfig.namespace);
      await this.runner.start();
      this.logger.info(
        { namespace: this.options.podConfig.namespace, runtimes: this.options.runtimes.length },
        'kubernetes pod manager started',
      );
    });
  }

  stop(): Promise<void> {
    return this.gate.stop(() => this.runner.stop());
  }

  /** Exposed for the benchmark: launch one command without Kafka. */
  async launch(
    command: CreatePodCommand,
    ctx: Pick<HandlerContext, 'logger' | 'headers'>,
  ): Promise<HandlerOutcome> {
    const { apis, podConfig, events } = this.options;
    const payload = command.payload;
    const id = payload.execution_id;
    const userId = payload.user_id;
    const { logger } = ctx;
    const namespace = podConfig.namespace;

    const execution = await this.options.executions.findById(id);
    if (execution && isTerminal(execution.status)) {
      logger.info({ status: execution.status }, 'execution already finished; no pod launched');
      return outcome.done();
    }
    const fail = async (reason: string): Promise<HandlerOutcome> => {
      await events.publish(
        events.build('execution_failed', id, resultWithoutOutput(id, 'failed', reason), userId),
      );
      logger.warn({ reason }, 'execution failed before its pod could run');
      return outcome.done();
    };
    const runtime = this.options.runtimes.find(
      (r) => r.lang === payload.lang && r.version === payload.lang_version,
    );
    if (!runtime)
      return fail(
        `system: runtime ${payload.lang} ${payload.lang_version} is not configured in K8S_RUNTIME_IMAGES`,
      );

    const { pod, configMap } = buildExecutorObjects(
      executionRequestOf(payload),
      runtime,
      { userId, ...(ctx.headers.traceparent ? { traceparent: ctx.headers.traceparent } : {}) },
      podConfig,
    );
    const podName = pod.metadata!.name!;
    let created: V1Pod;
    try {
      created = await apis.core.createNamespacedPod({ namespace, body: pod });
    } catch (err) {
      if (statusOf(err) === 409) {
        created = await apis.core.readNamespacedPod({ name: podName, namespace });
      } else if (!isTransient(err)) {
        return fail(`system: the API server refused the executor pod: ${messageOf(err)}`);
      } else {
        throw err;
      }
    }
    try {
      await apis.core.createNamespacedConfigMap({
        namespace,
        body: withOwner(configMap, { name: podName, uid: created.metadata!.uid! }),
      });
    } catch (err) {
      if (statusOf(err) !== 409) {
        if (isTransient(err)) throw err;
        await this.deletePod(podName);
        return fail(`system: the API server refused the script ConfigMap: ${messageOf(err)}`);
      }
    }
    await events.publish(
      events.build('pod_created', id, { execution_id: id, pod_name: podName, namespace }, userId),
    );
    logger.info({ pod: podName }, 'executor pod created');
    return outcome.done();
  }

  private async remove(command: DeletePodCommand, ctx: HandlerContext): Promise<HandlerOutcome> {
    const { apis, podConfig, events } = this.options;
    const id = command.payload.execution_id;
    const podName = podNameOf(id);
    let pod: V1Pod | null = null;
    try {
      pod = await apis.core.readNamespacedPod({ name: podName, namespace: podConfig.namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    const phase = pod?.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      // It finished on its own: the monitor reports how, then deletes it.
      ctx.logger.info({ pod: podName, phase }, 'delete_pod_command for a finished pod; left to the monitor');
      return outcome.done();
    }
    if (pod) await this.deletePod(podName);
    await events.publish(
      events.build(
        'execution_cancelled',
        id,
        resultWithoutOutput(id, 'cancelled', command.payload.reason),
        command.metadata.user_id ?? null,
      ),
    );
    ctx.logger.info(
      { pod: podName, existed: pod !== null, reason: command.payload.reason },
      'executor pod deleted',
    );
    return outcome.done();
  }

  private async deletePod(name: string): Promise<void> {
    try {
      await this.options.apis.core.deleteNamespacedPod({
        name,
        namespace: this.options.podConfig.namespace,
        gracePeriodSeconds: 0,
      });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }
}
