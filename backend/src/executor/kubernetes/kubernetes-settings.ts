import type { Settings } from '../../settings/settings.js';
import type { PodSpecConfig } from './pod-spec.js';
import type { ObservePodOptions } from './pod-status.js';

/** The pod spec's share of the K8S_* settings. */
export function podSpecConfigOf(settings: Settings): PodSpecConfig {
  return {
    namespace: settings.K8S_NAMESPACE,
    runnerImage: settings.K8S_RUNNER_IMAGE,
    imagePullPolicy: settings.K8S_IMAGE_PULL_POLICY,
    runtimeClass: settings.K8S_RUNTIME_CLASS,
    cpuLimit: settings.K8S_POD_CPU_LIMIT,
    cpuRequest: settings.K8S_POD_CPU_REQUEST,
    memoryLimit: settings.K8S_POD_MEMORY_LIMIT,
    memoryRequest: settings.K8S_POD_MEMORY_REQUEST,
    ephemeralStorageLimit: settings.K8S_POD_EPHEMERAL_STORAGE_LIMIT,
    deadlineSlackSeconds: settings.K8S_POD_DEADLINE_SLACK_SECONDS,
  };
}

export function observeOptionsOf(settings: Settings): ObservePodOptions {
  return { unschedulableTimeoutSeconds: settings.K8S_UNSCHEDULABLE_TIMEOUT_SECONDS };
}
