import type { Kafka } from 'kafkajs';
import type { PlatformEventCatalog, PlatformEventDefinitions } from '../events/definitions.js';
import type { ExecutionRepository } from '../executions/execution-repository.js';
import type { RunOutboxRepository } from '../executions/run-outbox-repository.js';
import { ConsumerRunner, type ConsumerRunnerSettings } from '../platform/kafka/consumer-runner.js';
import type { EventProducer } from '../platform/kafka/producer.js';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import type { RedisConnections } from '../platform/redis/redis-connections.js';
import { defaultQueueKeyPrefix, ExecutionQueue } from '../queue/execution-queue.js';
import type { Settings } from '../settings/settings.js';
import { ExecutionEvents } from '../executions/execution-events.js';
import { sagaHandlers } from './saga-handlers.js';
import { SagaReconciler } from './saga-reconciler.js';
import type { SagaRepository } from './saga-repository.js';
import { SagaScheduler } from './saga-scheduler.js';

export type SagaOrchestratorSettings = ConsumerRunnerSettings &
  Pick<
    Settings,
    | 'MAX_CONCURRENT_EXECUTIONS'
    | 'EXECUTION_MAX_CONCURRENT_PER_USER'
    | 'K8S_POD_EXECUTION_TIMEOUT'
    | 'EXECUTION_LEASE_GRACE_SECONDS'
    | 'EXECUTION_MAX_QUEUE_SECONDS'
    | 'RECONCILE_INTERVAL_SECONDS'
    | 'TRACING_SERVICE_NAME'
    | 'TRACING_SERVICE_VERSION'
    | 'DATABASE_NAME'
  >;

export interface SagaOrchestratorOptions {
  kafka: Kafka;
  catalog: PlatformEventCatalog;
  /** Started before and stopped after this component (it also writes the consumer's dead letters). */
  producer: EventProducer<PlatformEventDefinitions>;
  /** Started before this component: the queue uses its shared command client. */
  redis: RedisConnections;
  executions: ExecutionRepository;
  sagas: SagaRepository;
  /** Read by the reconciler: a run whose result waits there is not lost. */
  outbox: RunOutboxRepository;
  settings: SagaOrchestratorSettings;
  logger: Logger;
  /**
   * Redis key prefix of the execution queue. Default `exec:<DATABASE_NAME>`: queue entries name
   * executions of that database, so deployments (and test runs) sharing a Redis stay apart.
   */
  queueKeyPrefix?: string;
  /** Default: KAFKA_CONSUMER_GROUP_ID (tests run several groups against one configuration). */
  groupId?: string;
  fetchMaxWaitMs?: number;
}

interface Parts {
  queue: ExecutionQueue;
  scheduler: SagaScheduler;
  runner: ConsumerRunner<PlatformEventDefinitions>;
  reconciler: SagaReconciler;
}

/**
 * The saga orchestrator's work: the consumer of requests, cancels and terminal events, the
 * scheduler that hands out slots, and the reconciler. Built at start because the queue needs the
 * connected Redis client. Starts scheduler → consumer → reconciler; stops in reverse so no new
 * work arrives while in-flight dispatches finish.
 */
export class SagaOrchestrator implements Component {
  readonly name = 'saga-orchestrator';
  private readonly gate = new LifecycleGate();
  private parts: Parts | undefined;

  constructor(private readonly options: SagaOrchestratorOptions) {}

  get reconciler(): SagaReconciler {
    if (this.parts === undefined) throw new Error('saga orchestrator is not started');
    return this.parts.reconciler;
  }

  start(): Promise<void> {
    return this.gate.start(async () => {
      const parts = this.build();
      this.parts = parts;
      await parts.scheduler.start();
      await parts.runner.start();
      await parts.reconciler.start();
      this.options.logger.info({ group_id: parts.runner.groupId }, 'saga orchestrator started');
    });
  }

  stop(): Promise<void> {
    return this.gate.stop(async () => {
      const parts = this.parts;
      if (parts === undefined) return;
      await parts.reconciler.stop();
      await parts.runner.stop();
      await parts.scheduler.stop();
      this.options.logger.info('saga orchestrator stopped');
    });
  }

  private build(): Parts {
    const { settings, executions, sagas } = this.options;
    const logger = this.options.logger;
    const queue = new ExecutionQueue(
      this.options.redis.commands,
      this.options.queueKeyPrefix ?? defaultQueueKeyPrefix(settings),
      settings.EXECUTION_MAX_CONCURRENT_PER_USER,
    );
    const events = new ExecutionEvents(this.options.producer, this.options.catalog, {
      serviceName: settings.TRACING_SERVICE_NAME,
      serviceVersion: settings.TRACING_SERVICE_VERSION,
    });
    const scheduler = new SagaScheduler({
      queue,
      executions,
      sagas,
      events,
      logger,
      maxConcurrent: settings.MAX_CONCURRENT_EXECUTIONS,
      leaseMs: (settings.K8S_POD_EXECUTION_TIMEOUT + settings.EXECUTION_LEASE_GRACE_SECONDS) * 1000,
    });
    const wakeScheduler = (): void => scheduler.wake();
    const runner = new ConsumerRunner({
      kafka: this.options.kafka,
      catalog: this.options.catalog,
      settings,
      handlers: sagaHandlers({
        queue,
        executions,
        sagas,
        events,
        wakeScheduler,
        admit: (request, announce) => scheduler.admit(request, announce),
      }),
      logger,
      producer: this.options.producer,
      // Requests, cancels and terminal events are separate topics; the saga's conditional moves
      // make handling them concurrently safe.
      partitionsConsumedConcurrently: 4,
      groupId: this.options.groupId,
      fetchMaxWaitMs: this.options.fetchMaxWaitMs,
    });
    const reconciler = new SagaReconciler({
      queue,
      executions,
      sagas,
      outbox: this.options.outbox,
      events,
      logger,
      wakeScheduler,
      intervalMs: settings.RECONCILE_INTERVAL_SECONDS * 1000,
      maxQueueSeconds: settings.EXECUTION_MAX_QUEUE_SECONDS,
    });
    return { queue, scheduler, runner, reconciler };
  }
}
