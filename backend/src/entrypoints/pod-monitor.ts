import { ExecutionEvents } from '../executions/execution-events.js';
import { ExecutionRepository } from '../executions/execution-repository.js';
import { observeOptionsOf } from '../executor/kubernetes/kubernetes-settings.js';
import { mongoFromSettings } from '../platform/clients.js';
import { runProcess } from '../platform/lifecycle/run-process.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import { PodMonitor } from '../pod-monitor/pod-monitor.js';
import { bootstrapProcess } from './bootstrap.js';
import { eventPlatform } from '../platform/event-platform.js';
import { connectKubernetesOrExit } from './kubernetes-connection.js';
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
  const { catalog, producer, telemetry, topicAdmin } = eventPlatform(settings, logger);
  const mongo = mongoFromSettings(settings, logger);
  const host = new ServiceHost({
    logger,
    components: [
      telemetry,
      mongo,
      topicAdmin(),
      producer,
      new PodMonitor({
        apis: connectKubernetesOrExit(settings, logger),
        namespace: settings.K8S_NAMESPACE,
        events: new ExecutionEvents(producer, catalog, {
          serviceName: settings.TRACING_SERVICE_NAME,
          serviceVersion: settings.TRACING_SERVICE_VERSION,
        }),
        executions: new ExecutionRepository(mongo),
        observe: observeOptionsOf(settings),
        reconcileIntervalMs: settings.K8S_MONITOR_RECONCILE_INTERVAL_SECONDS * 1000,
        maxOutputEvents: settings.EXECUTION_MAX_OUTPUT_EVENTS,
        logger,
      }),
    ],
    stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
  });
  void runProcess({ logger, host });
}
