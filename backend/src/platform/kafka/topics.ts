import type { Admin, Kafka } from 'kafkajs';
import type { EventCatalog, EventDefinitions } from '../../events/catalog.js';
import type { Settings } from '../../settings/settings.js';
import type { Logger } from '../logging/logger.js';
import { hasKafkaErrorType } from './kafka-errors.js';

export interface TopicLayout {
  /** KAFKA_TOPIC_PARTITIONS */
  partitions: number;
  /** KAFKA_REPLICATION_FACTOR */
  replicationFactor: number;
  /**
   * Topics that need more than `partitions`: created with that many, and raised to it when they
   * already exist with fewer (another process may have created them first with the default).
   */
  minPartitions?: Readonly<Record<string, number>>;
}

export function deadLetterTopic(settings: Pick<Settings, 'KAFKA_TOPIC_PREFIX' | 'KAFKA_DLQ_TOPIC'>): string {
  return `${settings.KAFKA_TOPIC_PREFIX}${settings.KAFKA_DLQ_TOPIC}`;
}

/**
 * Creates the topics that do not exist yet and waits for their partition leaders; existing
 * topics are left as they are, except that a topic in `layout.minPartitions` with fewer
 * partitions is raised to that count. Returns the names it created. Safe to run from several
 * processes at once: a topic created (or raised) in between counts as done.
 */
export async function ensureTopics(
  admin: Admin,
  topicNames: readonly string[],
  layout: TopicLayout,
): Promise<string[]> {
  return (await ensureTopicLayout(admin, topicNames, layout)).created;
}

export interface TopicLayoutChanges {
  created: string[];
  /** Existing topics whose partition count was raised, with the new count. */
  raised: { topic: string; from: number; to: number }[];
}

export async function ensureTopicLayout(
  admin: Admin,
  topicNames: readonly string[],
  layout: TopicLayout,
): Promise<TopicLayoutChanges> {
  const wanted = (topic: string) => Math.max(layout.partitions, layout.minPartitions?.[topic] ?? 0);
  const existing = new Set(await admin.listTopics());
  const missing = [...new Set(topicNames)].filter((topic) => !existing.has(topic));
  if (missing.length > 0) {
    await admin.createTopics({
      // kafkajs's own wait retries only LEADER_NOT_AVAILABLE; on a busy broker the metadata first
      // answers UNKNOWN_TOPIC_OR_PARTITION for a topic just created, which it throws.
      waitForLeaders: false,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: wanted(topic),
        replicationFactor: layout.replicationFactor,
      })),
    });
    await waitForLeaders(admin, missing);
  }
  const raised: TopicLayoutChanges['raised'] = [];
  const toCheck = [...new Set(topicNames)].filter(
    (topic) => existing.has(topic) && layout.minPartitions?.[topic] !== undefined,
  );
  for (const topic of toCheck) {
    const from = await partitionCount(admin, topic);
    const to = wanted(topic);
    if (from >= to) continue;
    try {
      await admin.createPartitions({ topicPartitions: [{ topic, count: to }] });
      raised.push({ topic, from, to });
    } catch (err) {
      // Another process raised it at the same time: fine if the count is there now.
      if ((await partitionCount(admin, topic)) < to) throw err;
    }
  }
  return { created: missing, raised };
}

const NOT_READY = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/** Until every partition of `topics` has a leader; throws after `timeoutMs` or on another error. */
export async function waitForLeaders(
  admin: Admin,
  topics: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      const led = metadata.topics.every(
        (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
      );
      if (led && metadata.topics.length === topics.length) return;
      if (Date.now() > deadline)
        throw new Error(`topics without a leader after ${timeoutMs} ms: ${topics.join(', ')}`);
    } catch (err) {
      if (!hasKafkaErrorType(err, NOT_READY) || Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0]?.partitions.length ?? 0;
}

export type CatalogTopicSettings = Pick<
  Settings,
  'KAFKA_TOPIC_PREFIX' | 'KAFKA_DLQ_TOPIC' | 'KAFKA_TOPIC_PARTITIONS' | 'KAFKA_REPLICATION_FACTOR'
>;

/** Start-up step of a process: one topic per event type of the catalog plus the dead-letter topic. */
export async function ensureCatalogTopics<D extends EventDefinitions>(options: {
  kafka: Kafka;
  catalog: EventCatalog<D>;
  settings: CatalogTopicSettings;
  logger: Logger;
}): Promise<string[]> {
  const { kafka, catalog, settings, logger } = options;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await ensureTopics(admin, [...catalog.topics(), deadLetterTopic(settings)], {
      partitions: settings.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: settings.KAFKA_REPLICATION_FACTOR,
    });
    if (created.length > 0) logger.info({ component: 'kafka-topics', created }, 'created Kafka topics');
    return created;
  } finally {
    await admin.disconnect();
  }
}
