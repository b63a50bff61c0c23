import type { Kafka } from 'kafkajs';
import {
  createPlatformCatalog,
  type PlatformEventCatalog,
  type PlatformEventDefinitions,
} from '../events/definitions.js';
import type { Settings } from '../settings/settings.js';
import { KafkaAdminComponent } from './kafka/admin-component.js';
import { createKafka } from './kafka/client.js';
import { EventProducer } from './kafka/producer.js';
import type { Logger } from './logging/logger.js';
import { Telemetry } from './tracing/telemetry.js';

/**
 * Partitions of create_pod_command: enough for the commands group to spread over several worker
 * instances, each running up to MAX_CONCURRENT_EXECUTIONS of them.
 */
export function createPodCommandPartitions(settings: Pick<Settings, 'MAX_CONCURRENT_EXECUTIONS'>): number {
  return 2 * settings.MAX_CONCURRENT_EXECUTIONS;
}

/** What every Kafka-speaking process starts from; the components go first in its ServiceHost. */
export interface EventPlatform {
  catalog: PlatformEventCatalog;
  kafka: Kafka;
  producer: EventProducer<PlatformEventDefinitions>;
  telemetry: Telemetry;
  /**
   * Creates the catalog's topics at start, create_pod_command with createPodCommandPartitions: every
   * process asks for the same layout, so it holds whichever process starts first.
   */
  topicAdmin: () => KafkaAdminComponent;
}

export function eventPlatform(settings: Settings, logger: Logger): EventPlatform {
  const catalog = createPlatformCatalog(settings.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka(settings, logger);
  return {
    catalog,
    kafka,
    producer: new EventProducer({ kafka, catalog, logger }),
    telemetry: new Telemetry(settings, logger.child({ component: 'telemetry' })),
    topicAdmin: () =>
      new KafkaAdminComponent(kafka, {
        topics: catalog.topics(),
        minPartitions: { [catalog.topicFor('create_pod_command')]: createPodCommandPartitions(settings) },
        settings,
        logger: logger.child({ component: 'kafka-admin' }),
      }),
  };
}
