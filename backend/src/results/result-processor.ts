import type { Kafka } from 'kafkajs';
import type { PlatformEventCatalog, PlatformEventDefinitions } from '../events/definitions.js';
import type { ExecutionRepository } from '../executions/execution-repository.js';
import { ConsumerRunner, type ConsumerRunnerSettings } from '../platform/kafka/consumer-runner.js';
import type { EventProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { ExecutionEvents } from '../executions/execution-events.js';
import type { Settings } from '../settings/settings.js';
import { resultHandlers } from './result-handlers.js';

export interface ResultProcessorOptions {
  kafka: Kafka;
  catalog: PlatformEventCatalog;
  /** Publishes result_stored and the consumer's dead letters; stop the runner before it. */
  producer: EventProducer<PlatformEventDefinitions>;
  executions: ExecutionRepository;
  settings: ConsumerRunnerSettings & Pick<Settings, 'TRACING_SERVICE_NAME' | 'TRACING_SERVICE_VERSION'>;
  logger: Logger;
  /** Default: KAFKA_CONSUMER_GROUP_ID. */
  groupId?: string;
  fetchMaxWaitMs?: number;
}

/**
 * The result processor: the single writer of execution status after creation. It is a consumer
 * runner over the progress and terminal topics; every write is a forward-only conditional update.
 */
export function createResultProcessor(
  options: ResultProcessorOptions,
): ConsumerRunner<PlatformEventDefinitions> {
  const { settings } = options;
  const events = new ExecutionEvents(options.producer, options.catalog, {
    serviceName: settings.TRACING_SERVICE_NAME,
    serviceVersion: settings.TRACING_SERVICE_VERSION,
  });
  return new ConsumerRunner({
    kafka: options.kafka,
    catalog: options.catalog,
    settings,
    handlers: resultHandlers({ executions: options.executions, events }),
    logger: options.logger,
    producer: options.producer,
    // Progress and terminal events are separate topics; forward-only writes make any order safe.
    partitionsConsumedConcurrently: 4,
    groupId: options.groupId,
    fetchMaxWaitMs: options.fetchMaxWaitMs,
  });
}
