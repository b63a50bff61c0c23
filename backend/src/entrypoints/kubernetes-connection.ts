import { kubeApis, loadKubeConfig, type KubeApis } from '../executor/kubernetes/kube-client.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Settings } from '../settings/settings.js';

/** The cluster connection; a missing or broken kubeconfig ends the process with what to fix. */
export function connectKubernetesOrExit(settings: Settings, logger: Logger): KubeApis {
  try {
    return kubeApis(loadKubeConfig(settings));
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, `cannot connect to Kubernetes: ${(err as Error).message}`);
    logger.flush();
    process.exit(1);
  }
}
