import { context, propagation } from '@opentelemetry/api';
import { Partitioners, type Kafka, type Message, type Producer, type TopicMessages } from 'kafkajs';
import type { AnyEventOf, EventCatalog, EventDefinitions } from '../../events/catalog.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../logging/logger.js';
import type { DeadLetterMessage, DeadLetterSink } from './dead-letter.js';
import { hasKafkaErrorType } from './kafka-errors.js';

export interface EventProducerOptions<D extends EventDefinitions> {
  kafka: Kafka;
  catalog: EventCatalog<D>;
  logger: Logger;
}

/** All in-sync replicas must have the write: a published event survives a broker loss. */
const ACKS_ALL = -1;

/** Messages of one publish call, and how to tell its caller the outcome. */
interface PendingSend {
  topicMessages: TopicMessages[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Publishes catalog events: validated before anything is sent, JSON value, key = aggregate_id
 * (one aggregate stays on one partition, so its events keep their order), idempotent producer
 * with one request in flight (no duplicates or reordering from producer retries).
 *
 * Coalescing. While a produce request is in flight, later publish calls wait and then go out
 * together in the next request, in call order; each call resolves when the request carrying it
 * is acknowledged (and all of them fail with it). Under concurrency this turns one request per
 * call into one per round trip, and it costs nothing to a lone caller: with nothing in flight a
 * call is sent at once.
 */
export class EventProducer<D extends EventDefinitions> implements DeadLetterSink {
  readonly name = 'event-producer';
  private readonly kafka: Kafka;
  private readonly catalog: EventCatalog<D>;
  private readonly logger: Logger;
  private producer: Producer | undefined;
  private starting: Promise<Producer> | undefined;
  private stopping: Promise<void> | undefined;
  private queued: PendingSend[] = [];
  private sending = false;

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
    const producer = this.connected();
    const topicMessages = [...messagesByTopic].map(([topic, messages]) => ({ topic, messages }));
    await new Promise<void>((resolve, reject) => {
      this.queued.push({ topicMessages, resolve, reject });
      if (!this.sending) void this.sendQueued(producer);
    });
  }

  private async sendEach(producer: Producer, batch: readonly PendingSend[]): Promise<void> {
    for (const pending of batch) {
      try {
        await producer.sendBatch({ acks: ACKS_ALL, topicMessages: pending.topicMessages });
        pending.resolve();
      } catch (err) {
        pending.reject(err);
      }
    }
  }

  /** Sends everything queued in one request, then again for what queued meanwhile. */
  private async sendQueued(producer: Producer): Promise<void> {
    this.sending = true;
    try {
      while (this.queued.length > 0) {
        const batch = this.queued;
        this.queued = [];
        try {
          await producer.sendBatch({ acks: ACKS_ALL, topicMessages: mergeTopicMessages(batch) });
          for (const pending of batch) pending.resolve();
        } catch (err) {
          // One caller's message (too large, say) must not fail the others: each goes again alone.
          // What already landed may land twice; consumers dedupe by event_id. Any other failure
          // (broker gone, timeout) would fail each call again, one retry cycle after the other.
          if (batch.length > 1 && isRecordError(err)) await this.sendEach(producer, batch);
          else for (const pending of batch) pending.reject(err);
        }
      }
    } finally {
      this.sending = false;
    }
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

/** One request's topics, each with its messages in call order. */
function mergeTopicMessages(batch: readonly PendingSend[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const { topicMessages } of batch) {
    for (const { topic, messages } of topicMessages) {
      const list = byTopic.get(topic);
      if (list) list.push(...messages);
      else byTopic.set(topic, [...messages]);
    }
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** Broker errors about the records themselves rather than the request or the broker. */
const RECORD_ERRORS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
]);

/** Whether `err`, or an error it wraps (kafkajs retry errors keep theirs in `cause`), is one of those. */
export function isRecordError(err: unknown): boolean {
  return hasKafkaErrorType(err, RECORD_ERRORS);
}
