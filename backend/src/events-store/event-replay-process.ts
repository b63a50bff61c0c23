import { eventPlatform } from '../platform/event-platform.js';
import { mongoFromSettings } from '../platform/clients.js';
import { ConsumerRunner } from '../platform/kafka/consumer-runner.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Settings } from '../settings/settings.js';
import { EventBatchWriter } from './event-batch-writer.js';
import { EventRetention } from './event-retention.js';
import { EventStore } from './event-store.js';
import { eventStoreHandlers } from './event-store-handlers.js';

export interface EventReplayProcess {
  host: ServiceHost;
  store: EventStore;
}

/**
 * Wires the event-replay process: it fills the event store it will replay from. One consumer group
 * over every catalog topic, unordered (the store does not care about order), so up to
 * KAFKA_MAX_POLL_RECORDS events are in flight and the batch writer inserts them together.
 */
export function createEventReplayProcess(settings: Settings, logger: Logger): EventReplayProcess {
  const { catalog, kafka, producer, telemetry, topicAdmin } = eventPlatform(settings, logger);
  const mongo = mongoFromSettings(settings, logger);
  const store = new EventStore(mongo);
  const writer = new EventBatchWriter({ store, maxBatch: settings.KAFKA_MAX_POLL_RECORDS });
  const runner = new ConsumerRunner({
    kafka,
    catalog,
    settings,
    handlers: eventStoreHandlers(catalog, { writer }),
    logger: logger.child({ component: 'event-store' }),
    producer,
    maxInFlight: settings.KAFKA_MAX_POLL_RECORDS,
    partitionsConsumedConcurrently: 4,
    fetchMaxWaitMs: 1_000,
  });
  const retention = new EventRetention({
    store,
    retentionDays: settings.EVENT_RETENTION_DAYS,
    logger: logger.child({ component: 'event-retention' }),
  });
  const host = new ServiceHost({
    logger,
    components: [telemetry, mongo, topicAdmin(), producer, retention, runner],
    stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
  });
  return { host, store };
}
