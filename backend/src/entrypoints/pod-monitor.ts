import { createPlatformCatalog } from '../events/definitions.js';
import { ExecutionEvents } from '../executions/execution-events.js';
import { ExecutionRepository } from '../executions/execution-repository.js';
import { kubeApis, loadKubeConfig, type KubeApis } from '../executor/kubernetes/kube-client.js';
import { observeOptionsOf } from '../executor/kubernetes/kubernetes-settings.js';
import { mongoFromSettings } from '../platform/clients.js';
import { KafkaAdminComponent } from '../platform/kafka/admin-component.js';
import { createKafka } from '../platform/kafka/client.js';
import { EventProducer } from '../platform/kafka/producer.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import { Telemetry } from '../platform/tracing/telemetry.js';
import { PodMonitor } from '../pod-monitor/pod-monitor.js';
import { bootstrapProcess } from './bootstrap.js';
import { exitNotBuiltYet } from './not-built-yet.js';

// pod monitor: watches executor pods (EXECUTOR_BACKEND = kubernetes) and reports their lifecycle,
// output and verdict; deletes finished and orphaned pods. With the local backend the worker
// reports runs itself, so there is nothing to watch.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.pod-monitor.toml');

if (settings.EXECUTOR_BACKEND !== 'kubernetes') {
  exitNotBuiltYet(
    logger,
    settings,
    'pod-monitor',
    'EXECUTOR_BACKEND = "kubernetes" (the local backend needs no monitor)',
  );
} else {
  const connectKubernetes = (): KubeApis => {
    try {
      return kubeApis(loadKubeConfig(settings));
    } catch (err) {
      logger.fatal(
        { err: (err as Error).message },
        `cannot connect to Kubernetes: ${(err as Error).message}`,
      );
      logger.flush();
      process.exit(1);
    }
  };
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
      new PodMonitor({
        apis: connectKubernetes(),
        namespace: settings.K8S_NAMESPACE,
        events: new ExecutionEvents(producer, catalog, {
          serviceName: settings.TRACING_SERVICE_NAME,
          serviceVersion: settings.TRACING_SERVICE_VERSION,
        }),
        executions: new ExecutionRepository(mongo),
        observe: observeOptionsOf(settings),
        reconcileIntervalMs: settings.K8S_MONITOR_RECONCILE_INTERVAL_SECONDS * 1000,
        logger,
      }),
    ],
    stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
  });
  void runProcess({ logger, host });
}
