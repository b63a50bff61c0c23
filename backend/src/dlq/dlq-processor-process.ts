import { eventPlatform } from '../platform/event-platform.js';
import { mongoFromSettings } from '../platform/clients.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Settings } from '../settings/settings.js';
import { DlqEvents } from './dlq-events.js';
import { DlqIntake } from './dlq-intake.js';
import { DlqMessageRepository } from './dlq-message-repository.js';
import { DlqRetryScheduler } from './dlq-retry-scheduler.js';
import { retryRulesFrom } from './retry-policy.js';

export interface DlqProcessorProcess {
  host: ServiceHost;
  repository: DlqMessageRepository;
  scheduler: DlqRetryScheduler;
}

export interface DlqProcessorTuning {
  /** Scheduler poll interval (default 1 s). */
  pollIntervalMs?: number;
}

/**
 * Wires the DLQ processor: the intake stores and plans dead letters, the scheduler retries due ones
 * and raises the queue-size alert. Stops in reverse: scheduler and intake, then producer, Mongo.
 */
export function createDlqProcessorProcess(
  settings: Settings,
  logger: Logger,
  tuning: DlqProcessorTuning = {},
): DlqProcessorProcess {
  const rules = retryRulesFrom(settings);
  const { catalog, kafka, producer, telemetry, topicAdmin } = eventPlatform(settings, logger);
  const mongo = mongoFromSettings(settings, logger);
  const repository = new DlqMessageRepository(mongo);
  const events = new DlqEvents({
    catalog,
    publish: (event) => producer.publish(event),
    service: { name: settings.TRACING_SERVICE_NAME, version: settings.TRACING_SERVICE_VERSION },
  });
  const scheduler = new DlqRetryScheduler({
    repository,
    // The producer's raw send (acks=all): the original bytes go out again, not a new event.
    republish: (topic, message) => producer.sendDeadLetter(topic, message),
    events,
    rules,
    settings,
    logger: logger.child({ component: 'dlq-retry-scheduler' }),
    pollIntervalMs: tuning.pollIntervalMs,
  });
  const host = new ServiceHost({
    logger,
    components: [
      telemetry,
      mongo,
      topicAdmin(),
      producer,
      new DlqIntake({
        kafka,
        repository,
        events,
        rules,
        settings,
        logger: logger.child({ component: 'dlq-intake' }),
      }),
      scheduler,
    ],
    stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
  });
  return { host, repository, scheduler };
}
