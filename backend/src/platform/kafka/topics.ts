import type { Admin, Kafka } from 'kafkajs';
import type { EventCatalog, EventDefinitions } from '../../events/catalog.js';
import type { Settings } from '../../settings/settings.js';
import type { Logger } from '../logging/logger.js';

export interface TopicLayout {
  /** KAFKA_TOPIC_PARTITIONS */
  partitions: number;
  /** KAFKA_REPLICATION_FACTOR */
  replicationFactor: number;
}

export function deadLetterTopic(settings: Pick<Settings, 'KAFKA_TOPIC_PREFIX' | 'KAFKA_DLQ_TOPIC'>): string {
  return `${settings.KAFKA_TOPIC_PREFIX}${settings.KAFKA_DLQ_TOPIC}`;
}

/**
 * Creates the topics that do not exist yet and waits for their partition leaders; existing
 * topics are left as they are. Returns the names it created. Safe to run from several processes
 * at once: a topic created in between counts as existing.
 */
export async function ensureTopics(
  admin: Admin,
  topicNames: readonly string[],
  layout: TopicLayout,
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = [...new Set(topicNames)].filter((topic) => !existing.has(topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: layout.partitions,
      replicationFactor: layout.replicationFactor,
    })),
  });
  return missing;
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
