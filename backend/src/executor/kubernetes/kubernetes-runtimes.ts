import type { LimitEnforcement, Runtime } from '../executor-backend.js';
import type { KubernetesRuntime } from './runtime-images.js';

/**
 * What the worker advertises for the Kubernetes backend: the configured runtimes (images are
 * not pulled or probed here; the pre-pull DaemonSet and image-pull verdicts cover that) and how
 * each limit is enforced in a pod.
 */
export class KubernetesRuntimes {
  constructor(private readonly list: readonly KubernetesRuntime[]) {}

  runtimes(): Runtime[] {
    return this.list.map(({ image: _image, env: _env, ...runtime }) => runtime);
  }

  enforcement(): LimitEnforcement {
    return {
      memory: 'container-limit',
      pids: 'kubelet-pod-pids-limit',
      cpu: 'runner-rlimit',
      wall: 'runner-timer+activeDeadlineSeconds',
      fileSize: 'runner-rlimit',
      disk: 'emptyDir-sizeLimit+ephemeral-storage',
      output: 'runner',
      network: 'networkpolicy-deny-all',
      filesystem: 'readOnlyRootFilesystem',
      user: 'runAsNonRoot-uid-1000',
      kill: 'runner-process-group',
      cpuAccounting: 'runner-rusage',
      memoryAccounting: 'runner-cgroup-peak',
    };
  }
}
