import type { Kafka } from 'kafkajs';
import {
  createPlatformCatalog,
  type PlatformEventCatalog,
  type PlatformEventDefinitions,
} from '../events/definitions.js';
import { KafkaAdminComponent } from '../platform/kafka/admin-component.js';
import { createKafka } from '../platform/kafka/client.js';
import { EventProducer } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { Telemetry } from '../platform/tracing/telemetry.js';
import type { Settings } from '../settings/settings.js';

/** What every Kafka-speaking process starts from; the components go first in its ServiceHost. */
export interface EventPlatform {
  catalog: PlatformEventCatalog;
  kafka: Kafka;
  producer: EventProducer<PlatformEventDefinitions>;
  telemetry: Telemetry;
  /** Creates the catalog's topics at start; `minPartitions` for topics that need more. */
  topicAdmin: (minPartitions?: Readonly<Record<string, number>>) => KafkaAdminComponent;
}

export function eventPlatform(settings: Settings, logger: Logger): EventPlatform {
  const catalog = createPlatformCatalog(settings.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka(settings, logger);
  return {
    catalog,
    kafka,
    producer: new EventProducer({ kafka, catalog, logger }),
    telemetry: new Telemetry(settings, logger.child({ component: 'telemetry' })),
    topicAdmin: (minPartitions) =>
      new KafkaAdminComponent(kafka, {
        topics: catalog.topics(),
        ...(minPartitions === undefined ? {} : { minPartitions }),
        settings,
        logger: logger.child({ component: 'kafka-admin' }),
      }),
  };
}
