import { createPlatformCatalog } from '../events/definitions.js';
import { mongoFromSettings, redisFromSettings } from '../platform/clients.js';
import { ExecutionRepository } from '../executions/execution-repository.js';
import { advertsKey, RuntimeDirectory } from '../executions/runtime-directory.js';
import { LocalExecutor } from '../executor/local/local-executor.js';
import { KafkaAdminComponent } from '../platform/kafka/admin-component.js';
import { createKafka } from '../platform/kafka/client.js';
import { EventProducer } from '../platform/kafka/producer.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import { Telemetry } from '../platform/tracing/telemetry.js';
import { ExecutorAdvertiser } from '../worker/executor-advertiser.js';
import { createPodCommandPartitions, PodManager } from '../worker/pod-manager.js';
import { bootstrapProcess } from './bootstrap.js';

// k8s worker (pod manager): runs create_pod_command through the executor backend, streams the
// output as execution_output events, reports the verdict, and aborts runs on delete_pod_command.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.k8s-worker.toml');

if (settings.EXECUTOR_BACKEND === 'kubernetes') {
  logger.fatal(
    { process: 'k8s-worker', executor_backend: settings.EXECUTOR_BACKEND },
    'the kubernetes backend is not built yet (issue 5); set EXECUTOR_BACKEND = "local"',
  );
  logger.flush();
  process.exit(1);
}

const catalog = createPlatformCatalog(settings.KAFKA_TOPIC_PREFIX);
const mongo = mongoFromSettings(settings, logger);
const redis = redisFromSettings(settings, logger);
const kafka = createKafka(settings, logger);
const producer = new EventProducer({ kafka, catalog, logger });
const backend = new LocalExecutor({ logger });
const host = new ServiceHost({
  logger,
  // Stopped in reverse: commands (running ones aborted and reported), the advert, the backend.
  components: [
    new Telemetry(settings, logger.child({ component: 'telemetry' })),
    mongo,
    redis,
    new KafkaAdminComponent(kafka, {
      topics: catalog.topics(),
      minPartitions: { [catalog.topicFor('create_pod_command')]: createPodCommandPartitions(settings) },
      settings,
      logger: logger.child({ component: 'kafka-admin' }),
    }),
    producer,
    backend,
    new ExecutorAdvertiser({
      directory: new RuntimeDirectory(() => redis.commands, {
        key: advertsKey(settings.KAFKA_TOPIC_PREFIX),
        ttlSeconds: 30,
      }),
      backend,
      backendName: settings.EXECUTOR_BACKEND,
      logger,
    }),
    new PodManager({
      kafka,
      catalog,
      producer,
      backend,
      backendName: settings.EXECUTOR_BACKEND,
      executions: new ExecutionRepository(mongo),
      settings,
      logger,
    }),
  ],
  stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
});
void runProcess({ logger, host });
