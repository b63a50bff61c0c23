import { hardenExecutorNamespace } from '../executor/kubernetes/namespace-guard.js';
import { bootstrapProcess } from './bootstrap.js';
import { connectKubernetesOrExit } from './kubernetes-connection.js';

// Install-time step of the Kubernetes backend (npm run executor-setup; the chart's setup Job):
// labels the executor namespace Pod Security "restricted" and creates or restores its deny-all
// NetworkPolicy, as ServiceAccount integr8scode-executor-setup. The running k8s worker only checks.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), 'config.k8s-worker.toml');
const apis = connectKubernetesOrExit(settings, logger);
try {
  await hardenExecutorNamespace(apis, settings.K8S_NAMESPACE, logger);
  logger.info({ namespace: settings.K8S_NAMESPACE }, 'executor namespace hardened');
} catch (err) {
  logger.fatal({ err: (err as Error).message }, `executor namespace setup failed: ${(err as Error).message}`);
  logger.flush();
  process.exit(1);
}
