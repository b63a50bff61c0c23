import { createPlatformCatalog } from '../events/definitions.js';
import { mongoFromSettings, redisFromSettings } from '../platform/clients.js';
import { ExecutionRepository } from '../executions/execution-repository.js';
import { KafkaAdminComponent } from '../platform/kafka/admin-component.js';
import { createKafka } from '../platform/kafka/client.js';
import { EventProducer } from '../platform/kafka/producer.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import { Telemetry } from '../platform/tracing/telemetry.js';
import { SagaOrchestrator } from '../sagas/saga-orchestrator.js';
import { SagaRepository } from '../sagas/saga-repository.js';
import { createPodCommandPartitions } from '../worker/pod-manager.js';
import { bootstrapProcess } from './bootstrap.js';

// Saga orchestrator: queues requested executions in Redis, hands out slots under
// MAX_CONCURRENT_EXECUTIONS as create_pod_command, frees them on every terminal event, handles
// cancels, and reconciles what crashes and lost messages left behind.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.saga-orchestrator.toml');

const catalog = createPlatformCatalog(settings.KAFKA_TOPIC_PREFIX);
const mongo = mongoFromSettings(settings, logger);
const redis = redisFromSettings(settings, logger);
const kafka = createKafka(settings, logger);
const producer = new EventProducer({ kafka, catalog, logger });
const host = new ServiceHost({
  logger,
  components: [
    new Telemetry(settings, logger.child({ component: 'telemetry' })),
    mongo,
    redis,
    new KafkaAdminComponent(kafka, {
      topics: catalog.topics(),
      // Same layout as the k8s worker asks for, whichever of the two creates the topic first.
      minPartitions: { [catalog.topicFor('create_pod_command')]: createPodCommandPartitions(settings) },
      settings,
      logger: logger.child({ component: 'kafka-admin' }),
    }),
    producer,
    new SagaOrchestrator({
      kafka,
      catalog,
      producer,
      redis,
      executions: new ExecutionRepository(mongo),
      sagas: new SagaRepository(mongo),
      settings,
      logger,
    }),
  ],
  stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
});
void runProcess({ logger, host });
