import { mongoFromSettings, redisFromSettings } from '../platform/clients.js';
import { ExecutionRepository } from '../executions/execution-repository.js';
import { RunOutboxRepository } from '../executions/run-outbox-repository.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import { SagaOrchestrator } from '../sagas/saga-orchestrator.js';
import { SagaRepository } from '../sagas/saga-repository.js';
import { bootstrapProcess } from './bootstrap.js';
import { eventPlatform } from '../platform/event-platform.js';

// Saga orchestrator: queues requested executions in Redis, hands out slots under
// MAX_CONCURRENT_EXECUTIONS as create_pod_command, frees them on every terminal event, handles
// cancels, and reconciles what crashes and lost messages left behind.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.saga-orchestrator.toml');

const { catalog, kafka, producer, telemetry, topicAdmin } = eventPlatform(settings, logger);
const mongo = mongoFromSettings(settings, logger);
const redis = redisFromSettings(settings, logger);
const host = new ServiceHost({
  logger,
  components: [
    telemetry,
    mongo,
    redis,
    topicAdmin(),
    producer,
    new SagaOrchestrator({
      kafka,
      catalog,
      producer,
      redis,
      executions: new ExecutionRepository(mongo),
      sagas: new SagaRepository(mongo),
      outbox: new RunOutboxRepository(mongo),
      settings,
      logger,
    }),
  ],
  stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
});
void runProcess({ logger, host });
