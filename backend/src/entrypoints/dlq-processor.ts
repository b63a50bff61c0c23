import { DlqIntake } from '../dlq/dlq-intake.js';
import { mongoFromSettings } from '../platform/clients.js';
import { DlqMessageRepository } from '../dlq/dlq-message-repository.js';
import { createPlatformCatalog } from '../events/definitions.js';
import { KafkaAdminComponent } from '../platform/kafka/admin-component.js';
import { createKafka } from '../platform/kafka/client.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import { Telemetry } from '../platform/tracing/telemetry.js';
import { bootstrapProcess } from './bootstrap.js';

// DLQ processor: stores every dead-lettered message in Mongo before committing it. Retrying
// stored messages by policy (DLQ_RETRY_*) is not built yet.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.dlq-processor.toml');

const mongo = mongoFromSettings(settings, logger);
const kafka = createKafka(settings, logger);
const host = new ServiceHost({
  logger,
  components: [
    new Telemetry(settings, logger.child({ component: 'telemetry' })),
    mongo,
    new KafkaAdminComponent(kafka, {
      topics: createPlatformCatalog(settings.KAFKA_TOPIC_PREFIX).topics(),
      settings,
      logger: logger.child({ component: 'kafka-admin' }),
    }),
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
