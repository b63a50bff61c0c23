import { createPlatformCatalog } from '../events/definitions.js';
import { mongoFromSettings } from '../platform/clients.js';
import { ExecutionRepository } from '../executions/execution-repository.js';
import { KafkaAdminComponent } from '../platform/kafka/admin-component.js';
import { createKafka } from '../platform/kafka/client.js';
import { EventProducer } from '../platform/kafka/producer.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import { Telemetry } from '../platform/tracing/telemetry.js';
import { createResultProcessor } from '../results/result-processor.js';
import { bootstrapProcess } from './bootstrap.js';

// Result processor: the single writer of execution status after creation (scheduled, running,
// the first verdict with its output), and the publisher of result_stored.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.result-processor.toml');

const catalog = createPlatformCatalog(settings.KAFKA_TOPIC_PREFIX);
const mongo = mongoFromSettings(settings, logger);
const kafka = createKafka(settings, logger);
const producer = new EventProducer({ kafka, catalog, logger });
const host = new ServiceHost({
  logger,
  components: [
    new Telemetry(settings, logger.child({ component: 'telemetry' })),
    mongo,
    new KafkaAdminComponent(kafka, {
      topics: catalog.topics(),
      settings,
      logger: logger.child({ component: 'kafka-admin' }),
    }),
    producer,
    createResultProcessor({
      kafka,
      catalog,
      producer,
      executions: new ExecutionRepository(mongo),
      settings,
      logger,
    }),
  ],
  stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
});
void runProcess({ logger, host });
