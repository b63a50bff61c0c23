import type { Kafka } from 'kafkajs';
import type {
  ExecutionResult,
  PlatformEventCatalog,
  PlatformEventDefinitions,
} from '../events/definitions.js';
import { ConsumerRunner, type ConsumerRunnerSettings } from '../platform/kafka/consumer-runner.js';
import type { DeadLetterSink } from '../platform/kafka/dead-letter.js';
import { outcome, type EventHandlers, type HandlerOutcome } from '../platform/kafka/handler.js';
import type { Component } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import type { ExecutionEventLog, LogEntryKind } from './execution-event-log.js';

export interface SseBridgeOptions {
  kafka: Kafka;
  catalog: PlatformEventCatalog;
  settings: ConsumerRunnerSettings & { SSE_CONSUMER_POOL_SIZE: number };
  log: ExecutionEventLog;
  producer: DeadLetterSink;
  logger: Logger;
}

type Terminal = { event_id: string; aggregate_id: string; payload: ExecutionResult };

/**
 * Copies execution lifecycle, output and result events from Kafka into the per-execution logs in
 * Redis that SSE connections read. All API processes share one consumer group, so each event is
 * appended once; the log dedupes redeliveries by event id.
 */
export class SseBridge implements Component {
  readonly name = 'sse-bridge';
  private readonly runner: ConsumerRunner<PlatformEventDefinitions>;

  constructor(options: SseBridgeOptions) {
    const { log } = options;
    const append = async (
      event: { event_id: string; aggregate_id: string },
      kind: LogEntryKind,
      data: unknown,
      outputChunks?: number,
    ): Promise<HandlerOutcome> => {
      await log.append({
        executionId: event.aggregate_id,
        eventId: event.event_id,
        kind,
        data,
        outputChunks,
      });
      return outcome.done();
    };
    const terminal = (event: Terminal): Promise<HandlerOutcome> => {
      const p = event.payload;
      return append(
        event,
        'terminal',
        {
          verdict: p.verdict,
          exit_code: p.exit_code,
          signal: p.signal,
          output_truncated: p.output_truncated,
          resource_usage: p.resource_usage,
          reason: p.reason,
        },
        p.output_chunks,
      );
    };
    const status =
      (value: string) => (event: { event_id: string; aggregate_id: string; timestamp: string }) =>
        append(event, 'status', { status: value, at: event.timestamp });

    const handlers: EventHandlers<PlatformEventDefinitions> = {
      execution_queued: status('queued'),
      execution_scheduled: status('scheduled'),
      execution_started: status('running'),
      execution_output: (event) =>
        append(event, 'output', {
          stream: event.payload.stream,
          seq: event.payload.seq,
          text: Buffer.from(event.payload.data_b64, 'base64').toString('utf8'),
        }),
      execution_completed: terminal,
      execution_failed: terminal,
      execution_timeout: terminal,
      execution_cancelled: terminal,
      result_stored: (event) => append(event, 'result', { verdict: event.payload.verdict }),
    };
    this.runner = new ConsumerRunner({
      kafka: options.kafka,
      catalog: options.catalog,
      settings: options.settings,
      handlers,
      logger: options.logger,
      producer: options.producer,
      // The prefix keeps deployments (and test runs) that share a broker out of each other's group.
      groupId: `${options.settings.KAFKA_TOPIC_PREFIX}${options.settings.KAFKA_CONSUMER_GROUP_ID}.sse-bridge`,
      partitionsConsumedConcurrently: options.settings.SSE_CONSUMER_POOL_SIZE,
      fetchMaxWaitMs: 500,
    });
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }
}
