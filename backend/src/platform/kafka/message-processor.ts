/**
 * What ConsumerRunner does with one message, in either mode: decode and validate it into a
 * catalog event, run its handler, and map the outcome to whether its offset may be committed.
 *
 * Retries. `retry` outcomes (and thrown errors) are retried in process with exponential backoff
 * and jitter up to KAFKA_CONSUMER_MAX_ATTEMPTS, then dead-lettered with dlq_reason
 * `retries_exhausted`; `invalid` and messages failing validation are dead-lettered at once.
 * Before each backoff wait the caller's finished messages are committed (best effort: a failed
 * commit is logged and its offsets wait for the next one), and a wait cut short by the stop signal
 * leaves the message uncommitted (`keep`), as does a failed dead-letter write. Nothing here is meant
 * to throw: handler errors become retries, failed commits and dead-letter writes are logged.
 */
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import type { KafkaMessage } from 'kafkajs';
import {
  validationFailure,
  type AnyEventOf,
  type EventCatalog,
  type EventDefinitions,
  type EventParseResult,
} from '../../events/catalog.js';
import type { Settings } from '../../settings/settings.js';
import { withCorrelation, type Logger } from '../logging/logger.js';
import { backoffDelay, sleepUnlessAborted, type BackoffPolicy } from './backoff.js';
import { deadLetterMessage, type DeadLetterReason, type DeadLetterSink } from './dead-letter.js';
import type { AnyEventHandler, HandlerContext, HandlerOutcome } from './handler.js';
import { decodeHeaders } from './headers.js';
import { deadLetterTopic } from './topics.js';

/** 'commit': resolve the offset. 'keep': leave it unresolved so the message is delivered again. */
export type Disposition = 'commit' | 'keep';

export interface MessageLocation {
  topic: string;
  partition: number;
  offset: string;
}

export interface ProcessOptions {
  /** Fires when the consumer stops: ends a backoff wait and is handed to the handler. */
  signal: AbortSignal;
  /**
   * Commits the messages the caller has finished so far (awaited before a backoff wait; a
   * rejection is logged, and the committer keeps the offsets for its next commit).
   */
  commitFinished: () => Promise<void>;
}

export type MessageProcessorSettings = Pick<
  Settings,
  | 'KAFKA_CONSUMER_MAX_ATTEMPTS'
  | 'KAFKA_CONSUMER_RETRY_BASE_MS'
  | 'KAFKA_CONSUMER_RETRY_MAX_MS'
  | 'KAFKA_TOPIC_PREFIX'
  | 'KAFKA_DLQ_TOPIC'
>;

export interface MessageProcessorOptions<D extends EventDefinitions> {
  catalog: EventCatalog<D>;
  settings: MessageProcessorSettings;
  /** By event type; each handler only receives events of its own type. */
  handlers: ReadonlyMap<string, AnyEventHandler<D>>;
  /** Writes dead letters. */
  producer: DeadLetterSink;
  /** Recorded in the dead letters' consumer group header. */
  groupId: string;
  logger: Logger;
}

export class MessageProcessor<D extends EventDefinitions> {
  private readonly catalog: EventCatalog<D>;
  private readonly handlers: ReadonlyMap<string, AnyEventHandler<D>>;
  private readonly producer: DeadLetterSink;
  private readonly groupId: string;
  private readonly logger: Logger;
  private readonly maxAttempts: number;
  private readonly deadLetterTopic: string;
  private readonly backoff: BackoffPolicy;

  constructor(options: MessageProcessorOptions<D>) {
    this.catalog = options.catalog;
    this.handlers = options.handlers;
    this.producer = options.producer;
    this.groupId = options.groupId;
    this.logger = options.logger;
    this.maxAttempts = options.settings.KAFKA_CONSUMER_MAX_ATTEMPTS;
    this.deadLetterTopic = deadLetterTopic(options.settings);
    this.backoff = {
      baseMs: options.settings.KAFKA_CONSUMER_RETRY_BASE_MS,
      maxMs: options.settings.KAFKA_CONSUMER_RETRY_MAX_MS,
    };
  }

  async process(
    location: MessageLocation,
    message: KafkaMessage,
    { signal, commitFinished }: ProcessOptions,
  ): Promise<Disposition> {
    const parsed = this.decode(location.topic, message);
    if (!parsed.ok) {
      const logger = this.logger.child(location);
      return this.deadLetter(
        location,
        message,
        { reason: 'invalid', error: parsed.reason, attempt: 0 },
        signal,
        logger,
      );
    }
    const event = parsed.event;
    const handler = this.handlers.get(event.event_type);
    const logger = withCorrelation(this.logger, event.metadata.correlation_id, {
      event_id: event.event_id,
      event_type: event.event_type,
      ...location,
    });
    if (handler === undefined) {
      const error = `no handler for event type "${event.event_type}"`;
      return this.deadLetter(location, message, { reason: 'invalid', error, attempt: 0 }, signal, logger);
    }
    const headers = decodeHeaders(message.headers);
    // Work done by the handler (e.g. events it publishes) continues the producer's trace.
    const traceContext = propagation.extract(ROOT_CONTEXT, headers);

    for (let attempt = 1; ; attempt += 1) {
      const handlerContext: HandlerContext = { ...location, headers, attempt, logger, signal };
      const result = await context.with(traceContext, () => this.attempt(handler, event, handlerContext));
      switch (result.kind) {
        case 'done':
          return 'commit';
        case 'invalid':
          return this.deadLetter(
            location,
            message,
            { reason: 'invalid', error: result.reason, attempt },
            signal,
            logger,
          );
        case 'retry': {
          if (attempt >= this.maxAttempts) {
            const failure = { reason: 'retries_exhausted' as const, error: result.reason, attempt };
            return this.deadLetter(location, message, failure, signal, logger);
          }
          const delayMs = backoffDelay(attempt, this.backoff);
          logger.warn({ attempt, delay_ms: delayMs, reason: result.reason }, 'handler failed; retrying');
          // Messages finished earlier in this batch should not wait for this one's retries to be committed.
          // Best effort: a failed commit keeps its offsets for the next one, and must not cost this
          // message its remaining attempts.
          await commitFinished().catch((err: unknown) => {
            logger.warn({ err }, 'offset commit before a retry wait failed; retried with the next commit');
          });
          if (!(await sleepUnlessAborted(delayMs, signal))) {
            logger.info({ attempt }, 'stopping during a retry wait; message left uncommitted for redelivery');
            return 'keep';
          }
        }
      }
    }
  }

  private async attempt(
    handler: AnyEventHandler<D>,
    event: AnyEventOf<D>,
    handlerContext: HandlerContext,
  ): Promise<HandlerOutcome> {
    try {
      return await handler(event, handlerContext);
    } catch (err) {
      handlerContext.logger.debug({ err, attempt: handlerContext.attempt }, 'handler threw');
      return { kind: 'retry', reason: err instanceof Error ? err.message : String(err) };
    }
  }

  private decode(topic: string, message: KafkaMessage): EventParseResult<AnyEventOf<D>> {
    if (message.value === null) return validationFailure(['(value): message has no value']);
    let json: unknown;
    try {
      json = JSON.parse(message.value.toString('utf8'));
    } catch (err) {
      return validationFailure([
        `(value): not valid JSON (${err instanceof Error ? err.message : String(err)})`,
      ]);
    }
    const parsed = this.catalog.parse(json);
    if (parsed.ok && this.catalog.eventTypeOfTopic(topic) !== parsed.event.event_type) {
      return validationFailure([
        `event_type: "${parsed.event.event_type}" does not belong on topic "${topic}"`,
      ]);
    }
    return parsed;
  }

  private async deadLetter(
    location: MessageLocation,
    message: KafkaMessage,
    failure: { reason: DeadLetterReason; error: string; attempt: number },
    signal: AbortSignal,
    logger: Logger,
  ): Promise<Disposition> {
    const letter = deadLetterMessage(message, {
      originalTopic: location.topic,
      originalPartition: location.partition,
      originalOffset: location.offset,
      attempt: failure.attempt,
      error: failure.error,
      failedAt: new Date(),
      consumerGroup: this.groupId,
      reason: failure.reason,
    });
    try {
      await this.producer.sendDeadLetter(this.deadLetterTopic, letter);
    } catch (err) {
      logger.error({ err }, 'dead-letter write failed; message left uncommitted for redelivery');
      // Pause before the redelivery so a dead-letter topic that is down is not hammered.
      await sleepUnlessAborted(this.backoff.maxMs, signal);
      return 'keep';
    }
    logger.warn(
      { dlq_reason: failure.reason, attempt: failure.attempt, error: failure.error },
      'message sent to the dead-letter topic',
    );
    return 'commit';
  }
}
