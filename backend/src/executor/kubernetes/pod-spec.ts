import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Container, V1Pod, V1SecurityContext } from '@kubernetes/client-node';
import { memoryQuantityBytes } from '../../executions/quantity.js';
import type { ExecutionRequest } from '../executor-backend.js';
import { EXECUTION_ID_LABEL, EXECUTOR_CONTAINER, RUNNER_INSTALL_CONTAINER } from './pod-status.js';
import {
  RUNNER_DIR,
  RUNNER_PATH,
  runnerCommand,
  SCRIPT_DIR,
  TERMINATION_LOG,
  WORK_DIR,
} from './runner-command.js';
import type { KubernetesRuntime } from './runtime-images.js';

/** The labels every executor pod carries; the monitor and the NetworkPolicy select on them. */
export const EXECUTOR_LABELS = {
  'app.kubernetes.io/name': 'integr8scode',
  'app.kubernetes.io/component': 'executor',
  'app.kubernetes.io/managed-by': 'integr8scode',
} as const;
export const EXECUTOR_SELECTOR = Object.entries(EXECUTOR_LABELS)
  .map(([key, value]) => `${key}=${value}`)
  .join(',');
export const USER_ID_LABEL = 'integr8scode.io/user-id';
export const LANG_LABEL = 'integr8scode.io/lang';
export const CORRELATION_ANNOTATION = 'integr8scode.io/correlation-id';
export const TRACEPARENT_ANNOTATION = 'integr8scode.io/traceparent';

/** What the pod spec takes from settings (K8S_* keys). */
export interface PodSpecConfig {
  namespace: string;
  runnerImage: string;
  imagePullPolicy: 'IfNotPresent' | 'Always' | 'Never';
  /** runtimeClassName; empty for the cluster default. */
  runtimeClass: string;
  cpuLimit: string;
  cpuRequest: string;
  /** The most memory a pod may be given; the execution's own limit is used when lower. */
  memoryLimit: string;
  memoryRequest: string;
  ephemeralStorageLimit: string;
  deadlineSlackSeconds: number;
}

export interface ExecutionMeta {
  userId: string;
  traceparent?: string;
}

// Executor pods run as this uid/gid; images' own users vary, so it is set explicitly.
const SANDBOX_UID = 1000;

export function podNameOf(executionId: string): string {
  return `executor-${dnsSafe(executionId)}`;
}

export function configMapNameOf(executionId: string): string {
  return `script-${dnsSafe(executionId)}`;
}

/**
 * Kubernetes names must be DNS-1123 labels (≤ 63, lowercase alphanumerics and '-'). Execution ids
 * are UUIDs and pass as they are; anything else gets a readable prefix plus a hash so two ids never
 * share a name.
 */
function dnsSafe(id: string): string {
  if (/^[a-z0-9]([a-z0-9-]{0,52}[a-z0-9])?$/.test(id)) return id;
  const readable = id
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 12);
  return readable === '' ? hash : `${readable}-${hash}`;
}

/** Label values allow ≤ 63 of [A-Za-z0-9_.-], starting and ending alphanumeric. */
export function labelValue(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}

const RESTRICTED: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/**
 * The executor pod and its script ConfigMap for one execution. Pure: the same request and config
 * always give the same objects. The pod satisfies Pod Security Admission `restricted`; the
 * ConfigMap gets its owner reference to the pod once the pod exists (withOwner).
 */
export function buildExecutorObjects(
  request: ExecutionRequest,
  runtime: KubernetesRuntime,
  meta: ExecutionMeta,
  config: PodSpecConfig,
): { pod: V1Pod; configMap: V1ConfigMap } {
  const id = request.executionId;
  const { limits } = request;
  const scriptFile = `main.${runtime.fileExtension}`;
  const hasStdin = request.stdin !== undefined && request.stdin !== '';
  const labels = {
    ...EXECUTOR_LABELS,
    [EXECUTION_ID_LABEL]: labelValue(id),
    [LANG_LABEL]: labelValue(`${runtime.lang}-${runtime.version}`),
    [USER_ID_LABEL]: labelValue(meta.userId),
  };
  const annotations: Record<string, string> = { [CORRELATION_ANNOTATION]: id };
  if (meta.traceparent) annotations[TRACEPARENT_ANNOTATION] = meta.traceparent;

  const memoryBytes = Math.min(limits.memoryBytes, memoryQuantityBytes(config.memoryLimit));
  const memoryRequestBytes = Math.min(memoryQuantityBytes(config.memoryRequest), memoryBytes);
  // Work dir and /tmp hold what the script writes; each is capped at the largest file it may write.
  const scratchBytes = Math.max(limits.maxFileBytes, 1024 * 1024);

  const executor: V1Container = {
    name: EXECUTOR_CONTAINER,
    image: runtime.image,
    imagePullPolicy: config.imagePullPolicy,
    command: runnerCommand({
      runnerPath: RUNNER_PATH,
      scriptDir: SCRIPT_DIR,
      workdir: WORK_DIR,
      ...(hasStdin ? { stdinPath: `${SCRIPT_DIR}/stdin` } : {}),
      limits: {
        wallSeconds: limits.wallSeconds,
        cpuSeconds: limits.cpuSeconds,
        maxOutputBytes: limits.maxOutputBytes,
        maxFileBytes: limits.maxFileBytes,
      },
      program: runtime.command,
      args: request.args ?? [],
    }),
    workingDir: WORK_DIR,
    env: Object.entries(runtime.env).map(([name, value]) => ({ name, value })),
    resources: {
      limits: {
        cpu: config.cpuLimit,
        memory: String(memoryBytes),
        'ephemeral-storage': config.ephemeralStorageLimit,
      },
      requests: { cpu: config.cpuRequest, memory: String(memoryRequestBytes) },
    },
    securityContext: RESTRICTED,
    stdin: false,
    tty: false,
    terminationMessagePath: TERMINATION_LOG,
    terminationMessagePolicy: 'File',
    volumeMounts: [
      { name: 'script', mountPath: SCRIPT_DIR, readOnly: true },
      { name: 'runner', mountPath: RUNNER_DIR, readOnly: true },
      { name: 'work', mountPath: WORK_DIR },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
  const runnerInstall: V1Container = {
    name: RUNNER_INSTALL_CONTAINER,
    image: config.runnerImage,
    imagePullPolicy: config.imagePullPolicy,
    command: ['/integr8scode-runner', 'install', RUNNER_PATH],
    resources: {
      limits: { cpu: '100m', memory: '32Mi', 'ephemeral-storage': '16Mi' },
      requests: { cpu: '10m', memory: '16Mi' },
    },
    securityContext: RESTRICTED,
    terminationMessagePolicy: 'File',
    volumeMounts: [{ name: 'runner', mountPath: RUNNER_DIR }],
  };

  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: podNameOf(id), namespace: config.namespace, labels, annotations },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: Math.ceil(limits.wallSeconds) + config.deadlineSlackSeconds,
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      ...(config.runtimeClass === '' ? {} : { runtimeClassName: config.runtimeClass }),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: SANDBOX_UID,
        runAsGroup: SANDBOX_UID,
        fsGroup: SANDBOX_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      initContainers: [runnerInstall],
      containers: [executor],
      volumes: [
        {
          name: 'script',
          configMap: {
            name: configMapNameOf(id),
            defaultMode: 0o444,
            items: [
              { key: 'script', path: scriptFile },
              ...(hasStdin ? [{ key: 'stdin', path: 'stdin' }] : []),
            ],
          },
        },
        { name: 'runner', emptyDir: { sizeLimit: '32Mi' } },
        { name: 'work', emptyDir: { sizeLimit: String(scratchBytes) } },
        { name: 'tmp', emptyDir: { sizeLimit: String(scratchBytes) } },
      ],
    },
  };
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: configMapNameOf(id), namespace: config.namespace, labels, annotations },
    immutable: true,
    data: { script: request.script, ...(hasStdin ? { stdin: request.stdin ?? '' } : {}) },
  };
  return { pod, configMap };
}

/** The ConfigMap owned by the created pod, so the garbage collector removes it with the pod. */
export function withOwner(configMap: V1ConfigMap, pod: { name: string; uid: string }): V1ConfigMap {
  return {
    ...configMap,
    metadata: {
      ...configMap.metadata,
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          name: pod.name,
          uid: pod.uid,
          blockOwnerDeletion: false,
          controller: false,
        },
      ],
    },
  };
}
