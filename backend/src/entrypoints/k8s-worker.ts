import { mongoFromSettings, redisFromSettings } from '../platform/clients.js';
import { ExecutionRepository } from '../executions/execution-repository.js';
import { RunOutboxRepository } from '../executions/run-outbox-repository.js';
import { advertsKey, RuntimeDirectory } from '../executions/runtime-directory.js';
import { LocalExecutor } from '../executor/local/local-executor.js';
import { UidPool } from '../executor/local/uid-pool.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import { ExecutorAdvertiser } from '../worker/executor-advertiser.js';
import { PodManager } from '../worker/pod-manager.js';
import { bootstrapProcess } from './bootstrap.js';
import { eventPlatform } from '../platform/event-platform.js';
import { connectKubernetesOrExit } from './kubernetes-connection.js';
import { ExecutionEvents } from '../executions/execution-events.js';
import { KubernetesRuntimes } from '../executor/kubernetes/kubernetes-runtimes.js';
import { podSpecConfigOf } from '../executor/kubernetes/kubernetes-settings.js';
import { parseRuntimeImages } from '../executor/kubernetes/runtime-images.js';
import type { Component } from '../platform/lifecycle/component.js';
import { KubernetesPodManager } from '../worker/kubernetes-pod-manager.js';

// k8s worker (pod manager). EXECUTOR_BACKEND = local: runs create_pod_command in the host sandbox,
// streams the output, reports the verdict, aborts runs on delete_pod_command. kubernetes: creates
// the executor pod and deletes it on delete_pod_command; the pod monitor reports the rest.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.k8s-worker.toml');

const { catalog, kafka, producer, telemetry, topicAdmin } = eventPlatform(settings, logger);
const mongo = mongoFromSettings(settings, logger);
const redis = redisFromSettings(settings, logger);
const kubernetes = settings.EXECUTOR_BACKEND === 'kubernetes';
const localBackend = kubernetes
  ? null
  : new LocalExecutor({
      logger,
      uidPool: new UidPool(settings.SANDBOX_UID_BASE, settings.SANDBOX_UID_COUNT),
    });
const k8sRuntimes = kubernetes ? parseRuntimeImages(settings.K8S_RUNTIME_IMAGES) : [];
const advertised = localBackend ?? new KubernetesRuntimes(k8sRuntimes);
const events = new ExecutionEvents(producer, catalog, {
  serviceName: settings.TRACING_SERVICE_NAME,
  serviceVersion: settings.TRACING_SERVICE_VERSION,
});
const executions = new ExecutionRepository(mongo);

function commandHandler(): Component {
  if (localBackend) {
    return new PodManager({
      kafka,
      catalog,
      producer,
      backend: localBackend,
      backendName: settings.EXECUTOR_BACKEND,
      executions,
      outbox: new RunOutboxRepository(mongo),
      settings,
      logger,
    });
  }
  return new KubernetesPodManager({
    kafka,
    catalog,
    producer,
    events,
    apis: connectKubernetesOrExit(settings, logger),
    runtimes: k8sRuntimes,
    podConfig: podSpecConfigOf(settings),
    executions,
    settings,
    logger,
  });
}

const host = new ServiceHost({
  logger,
  // Stopped in reverse: commands (running ones aborted and reported), the advert, the backend.
  components: [
    telemetry,
    mongo,
    redis,
    topicAdmin(),
    producer,
    ...(localBackend ? [localBackend] : []),
    new ExecutorAdvertiser({
      directory: new RuntimeDirectory(() => redis.commands, {
        key: advertsKey(settings.KAFKA_TOPIC_PREFIX),
        ttlSeconds: 30,
      }),
      backend: advertised,
      backendName: settings.EXECUTOR_BACKEND,
      logger,
    }),
    commandHandler(),
  ],
  stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
});
void runProcess({ logger, host });
