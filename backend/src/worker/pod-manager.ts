import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import type { PlatformEventCatalog, PlatformEventDefinitions } from '../events/definitions.js';
import type { ExecutionRepository } from '../executions/execution-repository.js';
import type { ExecutorBackend } from '../executor/executor-backend.js';
import { ConsumerRunner, type ConsumerRunnerSettings } from '../platform/kafka/consumer-runner.js';
import { outcome } from '../platform/kafka/handler.js';
import type { EventProducer } from '../platform/kafka/producer.js';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Settings } from '../settings/settings.js';
import { runCreatePodCommand, type RunExecutionDeps } from './run-execution.js';
import { RunningExecutions } from './running-executions.js';
import { ExecutionEvents } from '../executions/execution-events.js';

export type PodManagerSettings = ConsumerRunnerSettings &
  Pick<
    Settings,
    | 'MAX_CONCURRENT_EXECUTIONS'
    | 'TRACING_SERVICE_NAME'
    | 'TRACING_SERVICE_VERSION'
    | 'SHUTDOWN_TIMEOUT_SECONDS'
  >;

export interface PodManagerOptions {
  kafka: Kafka;
  catalog: PlatformEventCatalog;
  producer: EventProducer<PlatformEventDefinitions>;
  backend: ExecutorBackend;
  /** EXECUTOR_BACKEND, named in execution_started. */
  backendName: string;
  executions: Pick<ExecutionRepository, 'findById'>;
  settings: PodManagerSettings;
  logger: Logger;
  /** Names this instance's cancel consumer group. Default `${hostname}-${pid}`. */
  instanceId?: string;
  /** Longest broker long-poll; stop() may wait this long. Default: the runner's. */
  fetchMaxWaitMs?: number;
  flushMs?: number;
  flushBytes?: number;
}

/** Partitions create_pod_command needs so executions keyed by id spread over the consumers. */
export function createPodCommandPartitions(settings: Pick<Settings, 'MAX_CONCURRENT_EXECUTIONS'>): number {
  return 2 * settings.MAX_CONCURRENT_EXECUTIONS;
}

/**
 * The k8s worker's work: runs create_pod_command through the executor backend and aborts runs
 * on delete_pod_command.
 *
 * Concurrency. kafkajs fetches for a consumer, hands the batches to its workers and fetches again
 * only once every batch of that fetch is handled, so one consumer running a 10 s script takes no
 * new command meanwhile, whatever `partitionsConsumedConcurrently` says. Hence MAX_CONCURRENT_EXECUTIONS
 * consumers in the commands group (each with `partitionsConsumedConcurrently` =
 * MAX_CONCURRENT_EXECUTIONS for the partitions it owns), over 2 × MAX_CONCURRENT_EXECUTIONS
 * partitions. A command whose partition belongs to a busy consumer still waits for it.
 *
 * Cancels. A delete_pod_command must reach the instance running the execution, which can be any
 * of them, so each instance reads the topic in a group of its own, from the latest offset. The
 * trade-offs: a cancel published while no instance is up is never seen (the saga's reconciler
 * and the run's wall limit end such runs anyway), and every restart leaves an empty group behind
 * on the broker until its offsets expire (offsets.retention.minutes).
 */
export class PodManager implements Component {
  readonly name = 'pod-manager';
  readonly running = new RunningExecutions();
  private readonly gate = new LifecycleGate();
  private readonly logger: Logger;
  private readonly commandRunners: ConsumerRunner<PlatformEventDefinitions>[];
  private readonly cancelRunner: ConsumerRunner<PlatformEventDefinitions>;

  constructor(private readonly options: PodManagerOptions) {
    const { settings, kafka, catalog, producer } = options;
    this.logger = options.logger.child({ component: 'pod-manager' });
    const deps: RunExecutionDeps = {
      backend: options.backend,
      backendName: options.backendName,
      executions: options.executions,
      events: new ExecutionEvents(producer, catalog, {
        serviceName: settings.TRACING_SERVICE_NAME,
        serviceVersion: settings.TRACING_SERVICE_VERSION,
      }),
      running: this.running,
      ...(options.flushMs === undefined ? {} : { flushMs: options.flushMs }),
      ...(options.flushBytes === undefined ? {} : { flushBytes: options.flushBytes }),
    };
    const common = {
      kafka,
      catalog,
      producer,
      logger: options.logger,
      stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
      ...(options.fetchMaxWaitMs === undefined ? {} : { fetchMaxWaitMs: options.fetchMaxWaitMs }),
    };
    this.commandRunners = Array.from(
      { length: settings.MAX_CONCURRENT_EXECUTIONS },
      () =>
        new ConsumerRunner({
          ...common,
          settings,
          groupId: settings.KAFKA_CONSUMER_GROUP_ID,
          partitionsConsumedConcurrently: settings.MAX_CONCURRENT_EXECUTIONS,
          handlers: { create_pod_command: (event, ctx) => runCreatePodCommand(deps, event, ctx) },
        }),
    );
    const instanceId = options.instanceId ?? `${hostname()}-${process.pid}`;
    this.cancelRunner = new ConsumerRunner({
      ...common,
      // A fresh group per instance: with 'latest' it starts at the end, not at old cancels.
      settings: { ...settings, KAFKA_AUTO_OFFSET_RESET: 'latest' },
      groupId: `${settings.KAFKA_CONSUMER_GROUP_ID}.cancel.${instanceId}`,
      handlers: {
        delete_pod_command: (event, ctx) => {
          const here = this.running.cancel(event.payload.execution_id, event.payload.reason);
          ctx.logger.info({ running_here: here, reason: event.payload.reason }, 'delete_pod_command');
          return Promise.resolve(outcome.done());
        },
      },
    });
  }

  start(): Promise<void> {
    return this.gate.start(async () => {
      // Cancels first, so none is missed for a command taken right after.
      await this.cancelRunner.start();
      await Promise.all(this.commandRunners.map((runner) => runner.start()));
      this.logger.info(
        { consumers: this.commandRunners.length, cancel_group: this.cancelRunner.groupId },
        'pod manager started',
      );
    });
  }

  /** Stops taking commands; running executions are aborted and reported as cancelled. */
  stop(): Promise<void> {
    return this.gate.stop(async () => {
      this.logger.info({ running: this.running.size }, 'pod manager stopping');
      // Each runner's stop aborts its handlers' signal, which aborts their runs.
      await Promise.all(this.commandRunners.map((runner) => runner.stop()));
      await this.cancelRunner.stop();
      this.logger.info('pod manager stopped');
    });
  }
}
