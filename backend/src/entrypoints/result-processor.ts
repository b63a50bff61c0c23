import { mongoFromSettings } from '../platform/clients.js';
import { ExecutionRepository } from '../executions/execution-repository.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import { createResultProcessor } from '../results/result-processor.js';
import { bootstrapProcess } from './bootstrap.js';
import { eventPlatform } from '../platform/event-platform.js';

// Result processor: the single writer of execution status after creation (scheduled, running,
// the first verdict with its output), and the publisher of result_stored.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.result-processor.toml');

const { catalog, kafka, producer, telemetry, topicAdmin } = eventPlatform(settings, logger);
const mongo = mongoFromSettings(settings, logger);
const host = new ServiceHost({
  logger,
  components: [
    telemetry,
    mongo,
    topicAdmin(),
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
