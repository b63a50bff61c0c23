import type {
  Admin,
  ConsumerConfig,
  IHeaders,
  Kafka,
  KafkaMessage,
  ProducerConfig,
  TopicOffsets,
} from 'kafkajs';
import { z } from 'zod';
import { defineEvents, EventCatalog, type EventOf } from '../../src/events/catalog.js';
import type { Logger } from '../../src/platform/logging/logger.js';
import { createKafka } from '../../src/platform/kafka/client.js';
import { ConsumerRunner, type ConsumerRunnerOptions } from '../../src/platform/kafka/consumer-runner.js';
import { outcome } from '../../src/platform/kafka/handler.js';
import { decodeHeaders } from '../../src/platform/kafka/headers.js';
import { EventProducer } from '../../src/platform/kafka/producer.js';
import { deadLetterTopic, ensureCatalogTopics } from '../../src/platform/kafka/topics.js';
import type { Settings } from '../../src/settings/settings.js';
import { eventually, testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

/** The tests' own catalog; the production catalog stays free of test events. */
export const testEvents = defineEvents({
  order_placed: {
    version: 1,
    payload: z.object({ order_id: z.string().min(1), quantity: z.number().int().positive() }),
  },
  order_cancelled: { version: 1, payload: z.object({ order_id: z.string().min(1) }) },
});
export type TestEvents = typeof testEvents;
export type OrderPlaced = EventOf<TestEvents, 'order_placed'>;

/** One test's private Kafka world: own topic prefix, own group id, everything closed by cleanup(). */
export class KafkaTest {
  readonly settings: Settings;
  readonly kafka: Kafka;
  readonly logger: Logger;
  readonly catalog: EventCatalog<TestEvents>;
  readonly groupId: string;
  readonly topic: string;
  readonly dlqTopic: string;
  private readonly suffix: string;
  private admin: Admin | undefined;
  private readonly cleanups: Array<() => Promise<unknown>> = [];

  constructor(env: Record<string, string> = {}) {
    this.suffix = uniqueSuffix();
    this.settings = testSettings({ INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `t-${this.suffix}.`, ...env });
    this.logger = testLogger();
    this.kafka = createKafka(this.settings, this.logger);
    this.catalog = new EventCatalog(testEvents, { topicPrefix: this.settings.KAFKA_TOPIC_PREFIX });
    this.groupId = `g-${this.suffix}`;
    this.topic = this.catalog.topicFor('order_placed');
    this.dlqTopic = deadLetterTopic(this.settings);
  }

  /**
   * Creates the catalog's topics and the dead-letter topic, and a started producer (made from
   * `kafka`, e.g. an instrumented client; default this test's client).
   */
  async setUp({ kafka = this.kafka }: { kafka?: Kafka } = {}): Promise<EventProducer<TestEvents>> {
    const admin = this.kafka.admin();
    await admin.connect();
    this.admin = admin;
    this.defer(async () => {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(this.settings.KAFKA_TOPIC_PREFIX));
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
    });
    await ensureCatalogTopics({
      kafka: this.kafka,
      catalog: this.catalog,
      settings: this.settings,
      logger: this.logger,
    });
    const producer = new EventProducer({ kafka, catalog: this.catalog, logger: this.logger });
    await producer.start();
    this.defer(() => producer.stop());
    return producer;
  }

  /** A started runner in this test's group; stopped by cleanup() if the test did not. */
  async startRunner(
    options: Pick<ConsumerRunnerOptions<TestEvents>, 'handlers' | 'producer'> &
      Partial<ConsumerRunnerOptions<TestEvents>>,
  ): Promise<ConsumerRunner<TestEvents>> {
    const runner = new ConsumerRunner({
      kafka: this.kafka,
      catalog: this.catalog,
      settings: this.settings,
      logger: this.logger,
      groupId: this.groupId,
      fetchMaxWaitMs: 100,
      stopTimeoutMs: 10_000,
      ...options,
    });
    this.defer(() => runner.stop());
    await runner.start();
    return runner;
  }

  /**
   * Starts a new runner of the group that records the order ids it gets, publishes a `marker`
   * order and waits for it: what comes back before the marker is all the group had not committed.
   */
  async deliveredAfterRestart(
    options: { producer: EventProducer<TestEvents> } & Partial<ConsumerRunnerOptions<TestEvents>>,
  ): Promise<string[]> {
    const delivered: string[] = [];
    await this.startRunner({
      ...options,
      handlers: {
        order_placed: async (event) => {
          delivered.push(event.payload.order_id);
          return Promise.resolve(outcome.done());
        },
      },
    });
    await options.producer.publish(this.orderPlaced('marker'));
    await eventually(() => (delivered.includes('marker') ? true : undefined), {
      what: 'the marker published after the restart',
    });
    return delivered;
  }

  /** Collects every message of `topic` from its beginning, through its own throwaway group. */
  async record(topic: string): Promise<RecordedMessage[]> {
    const messages: RecordedMessage[] = [];
    const consumer = this.kafka.consumer({
      groupId: `rec-${uniqueSuffix()}`,
      sessionTimeout: this.settings.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: this.settings.KAFKA_HEARTBEAT_INTERVAL_MS,
      maxWaitTimeInMs: 100,
    });
    this.defer(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        messages.push(recorded(message));
        return Promise.resolve();
      },
    });
    return messages;
  }

  /** A plain kafkajs producer, for bytes the EventProducer would refuse to send. */
  async sendRaw(
    topic: string,
    messages: Array<{ key: string; value: string; headers?: IHeaders }>,
  ): Promise<void> {
    const producer = this.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages });
    } finally {
      await producer.disconnect();
    }
  }

  /** The group's committed offset of partition 0 (-1: nothing committed). */
  async committedOffset(topic = this.topic, groupId = this.groupId): Promise<number> {
    const [result] = await this.connectedAdmin().fetchOffsets({ groupId, topics: [topic] });
    return Number(result?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
  }

  /** Offset the next message of partition 0 will get, i.e. how many were ever written. */
  async endOffset(topic: string): Promise<number> {
    const offsets = await this.connectedAdmin().fetchTopicOffsets(topic);
    return Number(offsets.find((p) => p.partition === 0)?.high ?? 0);
  }

  /** The group's committed offset of every partition of `topic` (-1: nothing committed). */
  async committedOffsets(topic = this.topic): Promise<Map<number, number>> {
    const [result] = await this.connectedAdmin().fetchOffsets({ groupId: this.groupId, topics: [topic] });
    return new Map((result?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  }

  /** Offset the next message of each partition of `topic` will get. */
  async endOffsets(topic = this.topic): Promise<Map<number, number>> {
    const offsets = await this.connectedAdmin().fetchTopicOffsets(topic);
    return new Map(offsets.map((p) => [p.partition, Number(p.high)]));
  }

  /** Waits until the group's committed offset of every partition is that partition's end; returns the ends. */
  async waitCommittedToEnd(topic = this.topic): Promise<Map<number, number>> {
    const ends = await this.endOffsets(topic);
    await eventually(
      async () => {
        const committed = await this.committedOffsets(topic);
        return [...ends].every(([partition, end]) => committed.get(partition) === end) ? true : undefined;
      },
      { what: 'every partition committed to its end' },
    );
    return ends;
  }

  /** How many members the group has, once it is stable (undefined while it rebalances). */
  async stableGroupSize(): Promise<number | undefined> {
    const { groups } = await this.connectedAdmin().describeGroups([this.groupId]);
    const group = groups[0];
    return group?.state === 'Stable' ? group.members.length : undefined;
  }

  async waitForCommittedOffset(offset: number, topic = this.topic): Promise<void> {
    await eventually(async () => ((await this.committedOffset(topic)) === offset ? true : undefined), {
      what: `committed offset ${offset} on ${topic}`,
    });
  }

  orderPlaced(orderId: string, quantity = 1): OrderPlaced {
    return this.catalog.build(
      'order_placed',
      orderId,
      { order_id: orderId, quantity },
      {
        service_name: 'kafka-test',
        service_version: '0',
        correlation_id: orderId,
      },
    );
  }

  defer(cleanup: () => Promise<unknown>): void {
    this.cleanups.push(cleanup);
  }

  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      await cleanup().catch((err: unknown) => errors.push(err));
    }
    if (errors.length > 0) throw new AggregateError(errors, 'Kafka test cleanup failed');
  }

  private connectedAdmin(): Admin {
    if (this.admin === undefined) throw new Error('KafkaTest.setUp() was not called');
    return this.admin;
  }
}

/** One successful OffsetCommit, as kafkajs reports it (consumer.events.COMMIT_OFFSETS). */
export interface RecordedCommit {
  at: number;
  topics: TopicOffsets[];
}

/**
 * The same Kafka client, except that every consumer it creates records its successful
 * OffsetCommit requests into `commits` (the runner creates its consumer itself).
 */
export function recordingCommits(kafka: Kafka): { kafka: Kafka; commits: RecordedCommit[] } {
  const commits: RecordedCommit[] = [];
  const recording = Object.create(kafka) as Kafka;
  recording.consumer = (config: ConsumerConfig) => {
    const consumer = kafka.consumer(config);
    consumer.on(consumer.events.COMMIT_OFFSETS, (event) => {
      commits.push({ at: Date.now(), topics: event.payload.topics });
    });
    return consumer;
  };
  return { kafka: recording, commits };
}

/**
 * The same Kafka client, except that every producer it creates counts the Produce requests it
 * completes (kafkajs emits producer.events.REQUEST before the request's caller resumes).
 */
export function countingProduceRequests(kafka: Kafka): { kafka: Kafka; produceRequests: () => number } {
  let count = 0;
  const counting = Object.create(kafka) as Kafka;
  counting.producer = (config?: ProducerConfig) => {
    const producer = kafka.producer(config);
    producer.on(producer.events.REQUEST, (event) => {
      if (event.payload.apiName === 'Produce') count += 1;
    });
    return producer;
  };
  return { kafka: counting, produceRequests: () => count };
}

export interface RecordedMessage {
  key: string | undefined;
  value: Buffer | null;
  headers: Record<string, string>;
  offset: string;
}

function recorded(message: KafkaMessage): RecordedMessage {
  return {
    key: message.key?.toString(),
    value: message.value,
    headers: decodeHeaders(message.headers),
    offset: message.offset,
  };
}

/** Resolves once `count` items are in `list`. */
export async function waitForLength<T>(list: readonly T[], count: number, what: string): Promise<void> {
  await eventually(() => (list.length >= count ? true : undefined), { what: `${count} ${what}` });
}
