import { DlqIntake } from '../dlq/dlq-intake.js';
import { mongoFromSettings } from '../platform/clients.js';
import { DlqMessageRepository } from '../dlq/dlq-message-repository.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import { bootstrapProcess } from './bootstrap.js';
import { eventPlatform } from '../platform/event-platform.js';

// DLQ processor: stores every dead-lettered message in Mongo before committing it. Retrying
// stored messages by policy (DLQ_RETRY_*) is not built yet.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.dlq-processor.toml');

const { kafka, telemetry, topicAdmin } = eventPlatform(settings, logger);
const mongo = mongoFromSettings(settings, logger);
const host = new ServiceHost({
  logger,
  components: [
    telemetry,
    mongo,
    topicAdmin(),
    new DlqIntake({
      kafka,
      repository: new DlqMessageRepository(mongo),
      settings,
      logger: logger.child({ component: 'dlq-intake' }),
    }),
  ],
  stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
});
void runProcess({ logger, host });
