import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import type { PlatformEventCatalog, PlatformEventDefinitions } from '../events/definitions.js';
import type { ExecutionRepository } from '../executions/execution-repository.js';
import type { RunOutboxRepository } from '../executions/run-outbox-repository.js';
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
import { OutboxRelay } from './outbox-relay.js';

export type PodManagerSettings = ConsumerRunnerSettings &
  Pick<
    Settings,
    | 'MAX_CONCURRENT_EXECUTIONS'
    | 'EXECUTION_MAX_OUTPUT_EVENTS'
    | 'TRACING_SERVICE_NAME'
    | 'TRACING_SERVICE_VERSION'
    | 'SHUTDOWN_TIMEOUT_SECONDS'
    | 'WORKER_OUTBOX_MAX_BYTES'
    | 'WORKER_OUTBOX_AFTER_MS'
    | 'EXECUTION_LEASE_GRACE_SECONDS'
  >;

export interface PodManagerOptions {
  kafka: Kafka;
  catalog: PlatformEventCatalog;
  producer: EventProducer<PlatformEventDefinitions>;
  backend: ExecutorBackend;
  /** EXECUTOR_BACKEND, named in execution_started. */
  backendName: string;
  executions: Pick<ExecutionRepository, 'findById'>;
  /** Finished runs' events while Kafka cannot take them; drained by this component's relay. */
  outbox: RunOutboxRepository;
  settings: PodManagerSettings;
  logger: Logger;
  /** Names this instance's cancel consumer group. Default `${hostname}-${pid}`. */
  instanceId?: string;
  /** Longest broker long-poll; stop() may wait this long. Default: the runner's. */
  fetchMaxWaitMs?: number;
  flushMs?: number;
  flushBytes?: number;
}

/**
 * The k8s worker's work: runs create_pod_command through the executor backend and aborts runs
 * on delete_pod_command.
 *
 * Concurrency. A command's handler runs the whole script, and kafkajs fetches for a consumer only
 * once every batch of its previous fetch is handled, so commands are consumed in the runner's
 * unordered mode: one consumer per instance in the commands group, running up to
 * MAX_CONCURRENT_EXECUTIONS commands at once from any of its partitions (several on one partition
 * too), while it goes on fetching. A command is committed once it and every command before it on
 * its partition finished, so a crash re-runs at most the commands that had not finished, plus the
 * finished ones behind the oldest unfinished one of their partition.
 *
 * Cancels. A delete_pod_command must reach the instance running the execution, which can be any
 * of them, so each instance reads the topic in a group of its own, from the latest offset. The
 * trade-offs: a cancel published while no instance is up is never seen (the saga's reconciler
 * and the run's wall limit end such runs anyway), and every restart leaves an empty group behind
 * on the broker until its offsets expire (offsets.retention.minutes).
 *
 * Broker outages. A run whose result Kafka does not take within WORKER_OUTBOX_AFTER_MS is kept
 * in the run outbox and its command committed; the OutboxRelay sends it once the broker is back
 * (also after a restart: it starts first and stops last).
 */
export class PodManager implements Component {
  readonly name = 'pod-manager';
  readonly running = new RunningExecutions();
  private readonly gate = new LifecycleGate();
  private readonly logger: Logger;
  private readonly commandRunner: ConsumerRunner<PlatformEventDefinitions>;
  private readonly cancelRunner: ConsumerRunner<PlatformEventDefinitions>;
  readonly relay: OutboxRelay;

  constructor(private readonly options: PodManagerOptions) {
    const { settings, kafka, catalog, producer } = options;
    this.logger = options.logger.child({ component: 'pod-manager' });
    const events = new ExecutionEvents(producer, catalog, {
      serviceName: settings.TRACING_SERVICE_NAME,
      serviceVersion: settings.TRACING_SERVICE_VERSION,
    });
    this.relay = new OutboxRelay({
      outbox: options.outbox,
      catalog,
      publish: (...batch) => events.publish(...batch),
      logger: options.logger,
      keepSentMs: settings.EXECUTION_LEASE_GRACE_SECONDS * 1000,
    });
    const deps: RunExecutionDeps = {
      backend: options.backend,
      backendName: options.backendName,
      executions: options.executions,
      events,
      running: this.running,
      maxOutputEvents: settings.EXECUTION_MAX_OUTPUT_EVENTS,
      outbox: options.outbox,
      outboxMaxBytes: settings.WORKER_OUTBOX_MAX_BYTES,
      outboxAfterMs: settings.WORKER_OUTBOX_AFTER_MS,
      parked: () => this.relay.wake(),
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
    this.commandRunner = new ConsumerRunner({
      ...common,
      settings,
      groupId: settings.KAFKA_CONSUMER_GROUP_ID,
      maxInFlight: settings.MAX_CONCURRENT_EXECUTIONS,
      handlers: { create_pod_command: (event, ctx) => runCreatePodCommand(deps, event, ctx) },
    });
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
      await this.relay.start();
      // Cancels first, so none is missed for a command taken right after.
      await this.cancelRunner.start();
      await this.commandRunner.start();
      this.logger.info(
        {
          max_concurrent_executions: this.options.settings.MAX_CONCURRENT_EXECUTIONS,
          cancel_group: this.cancelRunner.groupId,
        },
        'pod manager started',
      );
    });
  }

  /** Stops taking commands; running executions are aborted and reported as cancelled. */
  stop(): Promise<void> {
    return this.gate.stop(async () => {
      this.logger.info({ running: this.running.size }, 'pod manager stopping');
      // The runner's stop aborts its handlers' signal, which aborts their runs, and waits for them.
      await this.commandRunner.stop();
      await this.cancelRunner.stop();
      // Last: runs stopped just now may have left their results in the outbox.
      await this.relay.stop();
      this.logger.info('pod manager stopped');
    });
  }
}
