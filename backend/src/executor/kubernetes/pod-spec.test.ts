import { describe, expect, it } from 'vitest';
import type { ExecutionRequest } from '../executor-backend.js';
import {
  buildExecutorObjects,
  configMapNameOf,
  labelValue,
  podNameOf,
  withOwner,
  type PodSpecConfig,
} from './pod-spec.js';
import { parseRuntimeImages } from './runtime-images.js';

const config: PodSpecConfig = {
  namespace: 'integr8scode',
  runnerImage: 'runner:1',
  imagePullPolicy: 'IfNotPresent',
  runtimeClass: '',
  cpuLimit: '1000m',
  cpuRequest: '200m',
  memoryLimit: '128Mi',
  memoryRequest: '128Mi',
  ephemeralStorageLimit: '64Mi',
  deadlineSlackSeconds: 30,
};
const [python] = parseRuntimeImages('python/3.12=python:3.12-slim');
const id = '0b8f2c3e-8d1a-4f7e-9c55-1a2b3c4d5e6f';
const request: ExecutionRequest = {
  executionId: id,
  runtime: { lang: 'python', version: '3.12' },
  script: 'print(1)\n',
  args: ['a b', '--x'],
  limits: {
    wallSeconds: 5,
    cpuSeconds: 2,
    memoryBytes: 64 * 1024 * 1024,
    maxProcesses: 64,
    maxFileBytes: 8 * 1024 * 1024,
    maxOutputBytes: 65536,
  },
};

function build(overrides: Partial<PodSpecConfig> = {}, req: ExecutionRequest = request) {
  return buildExecutorObjects(req, python!, { userId: 'user-1' }, { ...config, ...overrides });
}

describe('buildExecutorObjects', () => {
  it('names the pod and ConfigMap after the execution and labels them for selection', () => {
    const { pod, configMap } = build();
    expect(pod.metadata?.name).toBe(`executor-${id}`);
    expect(configMap.metadata?.name).toBe(`script-${id}`);
    expect(pod.metadata?.namespace).toBe('integr8scode');
    expect(pod.metadata?.labels).toMatchObject({
      'app.kubernetes.io/component': 'executor',
      'integr8scode.io/execution-id': id,
      'integr8scode.io/user-id': 'user-1',
      'integr8scode.io/lang': 'python-3.12',
    });
    expect(pod.metadata?.annotations?.['integr8scode.io/correlation-id']).toBe(id);
  });

  it('hardens the pod the way Pod Security "restricted" requires', () => {
    const { pod } = build();
    const spec = pod.spec!;
    expect(spec.restartPolicy).toBe('Never');
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.enableServiceLinks).toBe(false);
    expect(spec.hostNetwork || spec.hostPID || spec.hostIPC).toBe(false);
    expect(spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const container of [...spec.initContainers!, ...spec.containers]) {
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(container.resources?.limits?.['ephemeral-storage']).toBeDefined();
    }
    expect(spec.runtimeClassName).toBeUndefined();
    expect(build({ runtimeClass: 'gvisor' }).pod.spec?.runtimeClassName).toBe('gvisor');
  });

  it('sets the deadline, resources and size-limited scratch volumes from the limits', () => {
    const { pod } = build();
    const spec = pod.spec!;
    expect(spec.activeDeadlineSeconds).toBe(35);
    const executor = spec.containers[0]!;
    expect(executor.resources?.limits).toMatchObject({ cpu: '1000m', memory: String(64 * 1024 * 1024) });
    expect(executor.resources?.requests).toMatchObject({ cpu: '200m', memory: String(64 * 1024 * 1024) });
    const volumes = Object.fromEntries(spec.volumes!.map((v) => [v.name, v]));
    expect(volumes.work?.emptyDir?.sizeLimit).toBe(String(8 * 1024 * 1024));
    expect(volumes.tmp?.emptyDir?.sizeLimit).toBe(String(8 * 1024 * 1024));
    expect(volumes.script?.configMap?.items).toEqual([{ key: 'script', path: 'main.py' }]);
    // The configured pod limit caps a larger per-execution request.
    const big = build({}, { ...request, limits: { ...request.limits, memoryBytes: 1024 ** 3 } });
    expect(big.pod.spec?.containers[0]?.resources?.limits?.memory).toBe(String(128 * 1024 * 1024));
  });

  it('starts the program through the runner with the limits and arguments, never a shell', () => {
    const command = build().pod.spec!.containers[0]!.command!;
    expect(command[0]).toBe('/runner/integr8scode-runner');
    expect(command).toContain('run');
    const dashDash = command.indexOf('--');
    expect(command.slice(dashDash + 1)).toEqual(['python3', '-u', 'main.py', 'a b', '--x']);
    expect(command.join(' ')).toContain('--wall-seconds');
    expect(command).not.toContain('--stdin');
  });

  it('passes stdin through the ConfigMap only when there is some', () => {
    const { pod, configMap } = build({}, { ...request, stdin: 'hello\n' });
    expect(configMap.data).toEqual({ script: 'print(1)\n', stdin: 'hello\n' });
    expect(pod.spec?.volumes?.find((v) => v.name === 'script')?.configMap?.items).toContainEqual({
      key: 'stdin',
      path: 'stdin',
    });
    expect(pod.spec?.containers[0]?.command).toContain('--stdin');
    expect(configMap.immutable).toBe(true);
  });

  it('makes the ConfigMap owned by its pod', () => {
    const { configMap } = build();
    const owned = withOwner(configMap, { name: 'executor-x', uid: 'uid-1' });
    expect(owned.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Pod', name: 'executor-x', uid: 'uid-1' }),
    ]);
  });

  it('is pure: the same input gives the same objects', () => {
    expect(build()).toEqual(build());
  });
});

describe('names and label values', () => {
  it('keeps UUIDs and turns anything else into a unique DNS label', () => {
    expect(podNameOf(id)).toBe(`executor-${id}`);
    const odd = podNameOf('Weird_ID/with spaces');
    expect(odd).toMatch(/^executor-[a-z0-9-]+$/);
    expect(odd).not.toBe(podNameOf('weird-id-with-spaces'));
    expect(configMapNameOf('x'.repeat(100)).length).toBeLessThanOrEqual(63);
  });

  it('cleans label values to what Kubernetes accepts', () => {
    expect(labelValue('user@example.com')).toBe('user_example.com');
    expect(labelValue('-a-')).toBe('a');
    expect(labelValue('x'.repeat(80))).toHaveLength(63);
  });
});
