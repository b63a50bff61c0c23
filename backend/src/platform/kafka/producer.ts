import { context, propagation } from '@opentelemetry/api';
import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import type { AnyEventOf, EventCatalog, EventDefinitions } from '../../events/catalog.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../logging/logger.js';
import type { DeadLetterMessage, DeadLetterSink } from './dead-letter.js';

export interface EventProducerOptions<D extends EventDefinitions> {
  kafka: Kafka;
  catalog: EventCatalog<D>;
  logger: Logger;
}

/** All in-sync replicas must have the write: a published event survives a broker loss. */
const ACKS_ALL = -1;

/**
 * Publishes catalog events: validated before anything is sent, JSON value, key = aggregate_id
 * (one aggregate stays on one partition, so its events keep their order), idempotent producer
 * with one request in flight (no duplicates or reordering from producer retries).
 */
export class EventProducer<D extends EventDefinitions> implements DeadLetterSink {
  readonly name = 'event-producer';
  private readonly kafka: Kafka;
  private readonly catalog: EventCatalog<D>;
  private readonly logger: Logger;
  private producer: Producer | undefined;
  private starting: Promise<Producer> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: EventProducerOptions<D>) {
    this.kafka = options.kafka;
    this.catalog = options.catalog;
    this.logger = options.logger.child({ component: 'event-producer' });
  }

  async start(): Promise<void> {
    this.starting ??= this.connect().catch((err: unknown) => {
      this.starting = undefined;
      throw new AppError('dependency_unavailable', 'Kafka producer could not connect', { cause: err });
    });
    await this.starting;
  }

  /** Stop consumers that dead-letter through this producer first. */
  async stop(): Promise<void> {
    const starting = this.starting;
    if (starting === undefined) return this.stopping;
    this.starting = undefined;
    this.stopping = (async () => {
      const producer = await starting.catch(() => undefined);
      if (producer === undefined) return;
      if (this.producer === producer) this.producer = undefined;
      await producer.disconnect();
      this.logger.info('producer stopped');
    })().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  async publish(event: AnyEventOf<D>): Promise<void> {
    await this.publishMany([event]);
  }

  /** Validates every event first; sends none if any is invalid. */
  async publishMany(events: readonly AnyEventOf<D>[]): Promise<void> {
    const messagesByTopic = new Map<string, Message[]>();
    for (const event of events) {
      const { topic, message } = this.toMessage(event);
      const messages = messagesByTopic.get(topic) ?? [];
      messages.push(message);
      messagesByTopic.set(topic, messages);
    }
    if (messagesByTopic.size === 0) return;
    await this.connected().sendBatch({
      acks: ACKS_ALL,
      topicMessages: [...messagesByTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }

  async sendDeadLetter(topic: string, message: DeadLetterMessage): Promise<void> {
    await this.connected().send({ topic, acks: ACKS_ALL, messages: [message] });
  }

  private toMessage(event: AnyEventOf<D>): { topic: string; message: Message } {
    const parsed = this.catalog.parse(event);
    if (!parsed.ok) {
      throw new AppError(
        'validation',
        `refusing to publish an invalid ${String(event.event_type)} event: ${parsed.reason}`,
        {
          details: parsed.issues,
        },
      );
    }
    const valid = parsed.event;
    const headers: Record<string, string> = {
      event_type: valid.event_type,
      event_id: valid.event_id,
      correlation_id: valid.metadata.correlation_id,
    };
    // W3C traceparent/tracestate of the active span; writes nothing when no OpenTelemetry SDK is registered.
    propagation.inject(context.active(), headers);
    return {
      topic: this.catalog.topicFor(valid.event_type),
      message: { key: valid.aggregate_id, value: JSON.stringify(valid), headers },
    };
  }

  private connected(): Producer {
    if (this.producer === undefined) {
      throw new AppError('internal', 'EventProducer used before start() or after stop()');
    }
    return this.producer;
  }

  private async connect(): Promise<Producer> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    this.producer = producer;
    this.logger.info('producer started');
    return producer;
  }
}
