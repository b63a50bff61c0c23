import type { Admin, Kafka } from 'kafkajs';
import { type Component, LifecycleGate } from '../lifecycle/component.js';
import type { Logger } from '../logging/logger.js';
import { deadLetterTopic, ensureTopicLayout, type CatalogTopicSettings } from './topics.js';

/**
 * A connected Kafka admin for the process's lifetime: creates the catalog's topics (and the
 * dead-letter topic) at start and serves the readiness check afterwards.
 */
export class KafkaAdminComponent implements Component {
  readonly name = 'kafka-admin';
  readonly admin: Admin;
  private readonly gate = new LifecycleGate();

  constructor(
    kafka: Kafka,
    private readonly options: {
      /** Topics the process needs; the dead-letter topic is added. */
      topics: readonly string[];
      /** Topics that need more than KAFKA_TOPIC_PARTITIONS (created with, or raised to, this count). */
      minPartitions?: Readonly<Record<string, number>>;
      settings: CatalogTopicSettings;
      logger: Logger;
    },
  ) {
    this.admin = kafka.admin();
  }

  start(): Promise<void> {
    return this.gate.start(async () => {
      const { topics, settings, logger, minPartitions } = this.options;
      await this.admin.connect();
      const { created, raised } = await ensureTopicLayout(
        this.admin,
        [...topics, deadLetterTopic(settings)],
        {
          partitions: settings.KAFKA_TOPIC_PARTITIONS,
          replicationFactor: settings.KAFKA_REPLICATION_FACTOR,
          ...(minPartitions === undefined ? {} : { minPartitions }),
        },
      );
      if (created.length > 0) logger.info({ created }, 'created Kafka topics');
      if (raised.length > 0) logger.info({ raised }, 'raised partition counts of Kafka topics');
    });
  }

  stop(): Promise<void> {
    return this.gate.stop(() => this.admin.disconnect());
  }
}
