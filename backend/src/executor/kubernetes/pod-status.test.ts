import type { V1ContainerState, V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  CONTAINER_START_FAILURE_REASONS,
  EXECUTION_ID_LABEL,
  EXECUTOR_CONTAINER,
  RUNNER_INSTALL_CONTAINER,
  WALL_DEADLINE_REASON,
  executionIdOf,
  observePod,
  type ObservePodOptions,
  type PodTerminal,
} from './pod-status.js';
import type { TerminationRecord } from './termination-record.js';

// --- factory: pods shaped like what the API server returns for an executor pod -------------------

const T0 = new Date('2025-03-01T12:00:00.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const OPTS: ObservePodOptions = { unschedulableTimeoutSeconds: 120 };
const NODE = 'worker-2';

interface PodParts {
  phase?: string;
  reason?: string;
  message?: string;
  nodeName?: string;
  conditions?: V1PodCondition[];
  startTime?: Date;
  init?: V1ContainerState;
  executor?: V1ContainerState;
  deletionTimestamp?: Date;
}

function containerStatus(name: string, image: string, state: V1ContainerState): V1ContainerStatus {
  return {
    name,
    image,
    imageID: state.waiting ? '' : `${image}@sha256:${'a'.repeat(64)}`,
    ready: state.running !== undefined,
    restartCount: 0,
    started: state.running !== undefined,
    state,
  };
}

function makePod(parts: PodParts = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'exec-7f3a',
      namespace: 'integr8scode-executions',
      uid: '5b0c7a9e-0000-4000-8000-000000000001',
      creationTimestamp: T0,
      labels: { [EXECUTION_ID_LABEL]: 'exec-7f3a', 'app.kubernetes.io/component': 'executor' },
      ...(parts.deletionTimestamp ? { deletionTimestamp: parts.deletionTimestamp } : {}),
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: 40,
      ...(parts.nodeName ? { nodeName: parts.nodeName } : {}),
      initContainers: [
        { name: RUNNER_INSTALL_CONTAINER, image: 'ghcr.io/integr8scode/executor-runner:0.1.0' },
      ],
      containers: [{ name: EXECUTOR_CONTAINER, image: 'python:3.11-slim' }],
    },
    status: {
      phase: parts.phase ?? 'Pending',
      qosClass: 'Guaranteed',
      ...(parts.reason ? { reason: parts.reason } : {}),
      ...(parts.message ? { message: parts.message } : {}),
      ...(parts.startTime ? { startTime: parts.startTime } : {}),
      conditions: parts.conditions ?? [],
      ...(parts.init
        ? {
            initContainerStatuses: [
              containerStatus(
                RUNNER_INSTALL_CONTAINER,
                'ghcr.io/integr8scode/executor-runner:0.1.0',
                parts.init,
              ),
            ],
          }
        : {}),
      ...(parts.executor
        ? { containerStatuses: [containerStatus(EXECUTOR_CONTAINER, 'python:3.11-slim', parts.executor)] }
        : {}),
    },
  };
}

const scheduledCondition = (since = at(1)): V1PodCondition => ({
  type: 'PodScheduled',
  status: 'True',
  lastTransitionTime: since,
});

const unschedulableCondition = (
  since?: Date,
  message = '0/3 nodes are available: 3 Insufficient memory.',
) => ({
  type: 'PodScheduled',
  status: 'False',
  reason: 'Unschedulable',
  message,
  ...(since ? { lastTransitionTime: since } : {}),
});

/** A pod bound to a node, with the given container states. */
function scheduledPod(parts: PodParts = {}): V1Pod {
  return makePod({
    nodeName: NODE,
    startTime: at(1),
    conditions: [scheduledCondition()],
    init: { terminated: { exitCode: 0, reason: 'Completed', startedAt: at(3), finishedAt: at(4) } },
    ...parts,
  });
}

const waiting = (reason: string, message?: string): V1ContainerState => ({
  waiting: { reason, ...(message ? { message } : {}) },
});
const running = (startedAt = at(5)): V1ContainerState => ({ running: { startedAt } });
const terminated = (t: {
  exitCode: number;
  reason?: string;
  message?: string;
  startedAt?: Date | null;
  finishedAt?: Date;
}): V1ContainerState => ({
  terminated: {
    exitCode: t.exitCode,
    reason: t.reason ?? (t.exitCode === 0 ? 'Completed' : 'Error'),
    ...(t.message !== undefined ? { message: t.message } : {}),
    ...(t.startedAt === null ? {} : { startedAt: t.startedAt ?? at(5) }),
    finishedAt: t.finishedAt ?? at(7.5),
  },
});

function record(overrides: Partial<TerminationRecord> = {}): TerminationRecord {
  return {
    v: 1,
    verdict: 'completed',
    exit_code: 0,
    signal: null,
    wall_seconds: 1.25,
    cpu_seconds: 0.75,
    peak_memory_bytes: 12_345_678,
    output_truncated: false,
    stdout_bytes: 42,
    stderr_bytes: 0,
    frames: 3,
    reason: null,
    ...overrides,
  };
}
const recordMessage = (overrides: Partial<TerminationRecord> = {}): string =>
  JSON.stringify(record(overrides));

function observeTerminal(pod: V1Pod, now = at(60), opts = OPTS): PodTerminal {
  const o = observePod(pod, now, opts);
  if (o.stage !== 'terminal') throw new Error(`expected terminal, got ${JSON.stringify(o)}`);
  return o;
}

// --- scheduling ------------------------------------------------------------------------------------

describe('observePod: scheduling', () => {
  it('when the pod was just created and has no status yet, then it is pending and unscheduled', () => {
    const pod = makePod();
    delete pod.status;
    expect(observePod(pod, at(1), OPTS)).toEqual({
      stage: 'pending',
      scheduled: false,
      nodeName: null,
      waitingReason: null,
    });
  });

  it('when the scheduler reports Unschedulable within the timeout, then it is still pending', () => {
    const pod = makePod({ conditions: [unschedulableCondition(at(2))] });
    expect(observePod(pod, at(100), OPTS)).toEqual({
      stage: 'pending',
      scheduled: false,
      nodeName: null,
      waitingReason: 'Unschedulable',
    });
  });

  it('when it has been Unschedulable for exactly the timeout, then it is still pending', () => {
    const pod = makePod({ conditions: [unschedulableCondition(at(2))] });
    expect(observePod(pod, at(122), OPTS).stage).toBe('pending');
  });

  it('when it has been Unschedulable for longer than the timeout, then it fails with the scheduler message', () => {
    const pod = makePod({ conditions: [unschedulableCondition(at(2))] });
    expect(observePod(pod, at(122.001), OPTS)).toEqual({
      stage: 'terminal',
      verdict: 'failed',
      reason: 'unschedulable: 0/3 nodes are available: 3 Insufficient memory.',
      source: 'unschedulable',
      exitCode: null,
      signal: null,
      record: null,
      recordError: null,
      containerExitCode: null,
      wallSeconds: null,
      cpuSeconds: null,
      peakMemoryBytes: null,
      outputTruncated: false,
    });
  });

  it('when the condition has no lastTransitionTime, then the time is measured from pod creation', () => {
    const pod = makePod({ conditions: [unschedulableCondition(undefined)] });
    expect(observePod(pod, at(119), OPTS).stage).toBe('pending');
    expect(observeTerminal(pod, at(121)).reason).toBe(
      'unschedulable: 0/3 nodes are available: 3 Insufficient memory.',
    );
  });

  it('when the condition is recent but the pod is old, then the condition time counts', () => {
    const pod = makePod({ conditions: [unschedulableCondition(at(500))] });
    expect(observePod(pod, at(600), OPTS).stage).toBe('pending');
  });

  it('when PodScheduled is False for another reason, then it stays pending however long it waits', () => {
    const pod = makePod({
      conditions: [
        { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', lastTransitionTime: T0 },
      ],
    });
    expect(observePod(pod, at(10_000), OPTS)).toEqual({
      stage: 'pending',
      scheduled: false,
      nodeName: null,
      waitingReason: 'SchedulingGated',
    });
  });

  it('when PodScheduled is True and the pod is bound, then it is pending and scheduled', () => {
    const pod = makePod({ nodeName: NODE, conditions: [scheduledCondition()] });
    expect(observePod(pod, at(2), OPTS)).toEqual({
      stage: 'pending',
      scheduled: true,
      nodeName: NODE,
      waitingReason: null,
    });
  });

  it('when spec.nodeName is set before the condition is reported, then it counts as scheduled', () => {
    expect(observePod(makePod({ nodeName: NODE }), at(2), OPTS)).toMatchObject({
      stage: 'pending',
      scheduled: true,
      nodeName: NODE,
    });
  });

  it('when PodScheduled is True but nodeName is not yet visible, then it counts as scheduled', () => {
    expect(observePod(makePod({ conditions: [scheduledCondition()] }), at(2), OPTS)).toMatchObject({
      stage: 'pending',
      scheduled: true,
      nodeName: null,
    });
  });
});

// --- start-up ---------------------------------------------------------------------------------------

describe('observePod: start-up', () => {
  it('when the init container is running, then the pod is pending with the executor PodInitializing', () => {
    const pod = scheduledPod({ init: running(at(3)), executor: waiting('PodInitializing') });
    expect(observePod(pod, at(4), OPTS)).toEqual({
      stage: 'pending',
      scheduled: true,
      nodeName: NODE,
      waitingReason: 'PodInitializing',
    });
  });

  it('when the executor container is being created, then the pod is pending with ContainerCreating', () => {
    const pod = scheduledPod({ phase: 'Pending', executor: waiting('ContainerCreating') });
    expect(observePod(pod, at(5), OPTS)).toMatchObject({
      stage: 'pending',
      waitingReason: 'ContainerCreating',
    });
  });

  it('when phase is Running but the executor is still being created, then the pod is pending', () => {
    const pod = scheduledPod({ phase: 'Running', executor: waiting('ContainerCreating') });
    expect(observePod(pod, at(5), OPTS)).toMatchObject({ stage: 'pending', scheduled: true });
  });

  it('exports exactly the waiting reasons that fail a pod at once', () => {
    expect([...CONTAINER_START_FAILURE_REASONS].sort()).toEqual(
      [
        'CreateContainerConfigError',
        'CreateContainerError',
        'ErrImageNeverPull',
        'ErrImagePull',
        'ImagePullBackOff',
        'InvalidImageName',
        'RunContainerError',
      ].sort(),
    );
  });

  it.each(CONTAINER_START_FAILURE_REASONS)(
    'when the executor container waits with %s, then the run fails at once naming the container',
    (reason) => {
      const pod = scheduledPod({ executor: waiting(reason, 'details from the kubelet') });
      const o = observeTerminal(pod, at(6));
      expect(o.verdict).toBe('failed');
      expect(o.source).toBe('waiting-reason');
      expect(o.reason).toBe(`system: ${reason} in container executor: details from the kubelet`);
    },
  );

  it('when the runner-install init container cannot pull its image, then the reason names runner-install', () => {
    const pod = scheduledPod({
      init: waiting('ErrImagePull', 'rpc error: code = NotFound desc = manifest unknown'),
      executor: waiting('PodInitializing'),
    });
    expect(observeTerminal(pod, at(6)).reason).toBe(
      'system: ErrImagePull in container runner-install: rpc error: code = NotFound desc = manifest unknown',
    );
  });

  it('when the kubelet gives no message, then the reason ends with the container name', () => {
    const pod = scheduledPod({ executor: waiting('CreateContainerConfigError') });
    expect(observeTerminal(pod, at(6)).reason).toBe(
      'system: CreateContainerConfigError in container executor',
    );
  });

  it('when a pull grace is set, then ImagePullBackOff within it is still pending', () => {
    const pod = scheduledPod({
      executor: waiting('ImagePullBackOff', 'Back-off pulling image "python:3.11-slim"'),
    });
    const opts = { ...OPTS, pullFailureGraceSeconds: 30 };
    expect(observePod(pod, at(31), opts)).toEqual({
      stage: 'pending',
      scheduled: true,
      nodeName: NODE,
      waitingReason: 'ImagePullBackOff',
    });
  });

  it('when a pull grace is set and has passed since scheduling, then ImagePullBackOff fails the run', () => {
    const pod = scheduledPod({
      executor: waiting('ImagePullBackOff', 'Back-off pulling image "python:3.11-slim"'),
    });
    expect(observeTerminal(pod, at(31.5), { ...OPTS, pullFailureGraceSeconds: 30 }).reason).toBe(
      'system: ImagePullBackOff in container executor: Back-off pulling image "python:3.11-slim"',
    );
  });

  it('when a pull grace is set, then a permanent failure such as InvalidImageName still fails at once', () => {
    const pod = scheduledPod({
      executor: waiting('InvalidImageName', 'couldn\'t parse image name "PYTHON:"'),
    });
    expect(observeTerminal(pod, at(2), { ...OPTS, pullFailureGraceSeconds: 30 }).verdict).toBe('failed');
  });

  it('when runner-install exits non-zero, then the run fails as a runner install failure', () => {
    const pod = scheduledPod({
      phase: 'Failed',
      init: {
        terminated: {
          exitCode: 1,
          reason: 'Error',
          message: "cp: can't create '/runner/bin/runner': Read-only file system\n",
          startedAt: at(3),
          finishedAt: at(4),
        },
      },
      executor: waiting('PodInitializing'),
    });
    const o = observeTerminal(pod);
    expect(o).toMatchObject({ verdict: 'failed', source: 'container-state', containerExitCode: null });
    expect(o.reason).toBe(
      "system: runner install failed: exit code 1 (Error): cp: can't create '/runner/bin/runner': Read-only file system",
    );
  });

  it('when runner-install is OOM-killed without a message, then the reason carries its exit code and reason', () => {
    const pod = scheduledPod({
      init: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: at(3), finishedAt: at(4) } },
    });
    expect(observeTerminal(pod).reason).toBe('system: runner install failed: exit code 137 (OOMKilled)');
  });
});

// --- running ----------------------------------------------------------------------------------------

describe('observePod: running', () => {
  it('when the executor container is running, then it is running with its start time', () => {
    const pod = scheduledPod({ phase: 'Running', executor: running(at(5)) });
    expect(observePod(pod, at(6), OPTS)).toEqual({
      stage: 'running',
      nodeName: NODE,
      startedAt: '2025-03-01T12:00:05.000Z',
      phaseUnknown: false,
    });
  });

  it('when the phase is Unknown after the executor started, then it is still running, flagged', () => {
    const pod = scheduledPod({ phase: 'Unknown', executor: running(at(5)) });
    expect(observePod(pod, at(30), OPTS)).toEqual({
      stage: 'running',
      nodeName: NODE,
      startedAt: '2025-03-01T12:00:05.000Z',
      phaseUnknown: true,
    });
  });

  it('when the phase is Unknown and the kubelet had started the pod, then it is running without a start time', () => {
    const pod = scheduledPod({ phase: 'Unknown', executor: waiting('ContainerCreating') });
    expect(observePod(pod, at(30), OPTS)).toEqual({
      stage: 'running',
      nodeName: NODE,
      startedAt: null,
      phaseUnknown: true,
    });
  });

  it('when the phase is Unknown and the pod never started, then it is pending', () => {
    const pod = makePod({ phase: 'Unknown', nodeName: NODE });
    expect(observePod(pod, at(30), OPTS)).toMatchObject({ stage: 'pending', scheduled: true });
  });
});

// --- executor terminated ------------------------------------------------------------------------

describe('observePod: executor terminated with a runner record', () => {
  it('when the record says completed with exit 3, then every figure comes from the record', () => {
    const msg = recordMessage({
      exit_code: 3,
      wall_seconds: 2.5,
      cpu_seconds: 1.5,
      peak_memory_bytes: 9_000_000,
    });
    const pod = scheduledPod({ phase: 'Failed', executor: terminated({ exitCode: 3, message: msg }) });
    expect(observePod(pod, at(60), OPTS)).toEqual({
      stage: 'terminal',
      verdict: 'completed',
      exitCode: 3,
      signal: null,
      reason: null,
      record: record({ exit_code: 3, wall_seconds: 2.5, cpu_seconds: 1.5, peak_memory_bytes: 9_000_000 }),
      recordError: null,
      containerExitCode: 3,
      wallSeconds: 2.5,
      cpuSeconds: 1.5,
      peakMemoryBytes: 9_000_000,
      outputTruncated: false,
      source: 'runner',
    });
  });

  it('when the program died by a signal, then the signal comes from the record', () => {
    const msg = recordMessage({ exit_code: null, signal: 'SIGSEGV' });
    const pod = scheduledPod({ phase: 'Failed', executor: terminated({ exitCode: 139, message: msg }) });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'completed',
      exitCode: null,
      signal: 'SIGSEGV',
      containerExitCode: 139,
    });
  });

  it.each([
    ['timeout', 'wall time limit of 5 s exceeded'],
    ['cpu_limit', 'CPU time limit of 2 s exceeded'],
    ['memory_limit', 'memory limit of 64 MiB exceeded'],
    ['output_limit', 'output limit of 1 MiB exceeded'],
    ['failed', 'system: could not exec python3: no such file or directory'],
  ] as const)('when the record says %s, then the verdict and reason are the record’s', (verdict, reason) => {
    const msg = recordMessage({
      verdict,
      reason,
      exit_code: null,
      signal: 'SIGKILL',
      output_truncated: true,
    });
    const pod = scheduledPod({ phase: 'Failed', executor: terminated({ exitCode: 0, message: msg }) });
    expect(observeTerminal(pod)).toMatchObject({
      verdict,
      reason,
      source: 'runner',
      signal: 'SIGKILL',
      outputTruncated: true,
    });
  });

  it('when the record says failed without a reason, then a reason is supplied', () => {
    const msg = recordMessage({ verdict: 'failed', exit_code: null });
    const pod = scheduledPod({ phase: 'Failed', executor: terminated({ exitCode: 1, message: msg }) });
    expect(observeTerminal(pod).reason).toBe('system: runner reported a failure without a reason');
  });
});

describe('observePod: executor terminated without a valid record', () => {
  it('when it exits 0 with no message, then the run fails for the missing record', () => {
    const pod = scheduledPod({ phase: 'Succeeded', executor: terminated({ exitCode: 0 }) });
    expect(observeTerminal(pod)).toEqual({
      stage: 'terminal',
      verdict: 'failed',
      reason: 'system: runner ended without a termination record',
      source: 'container-state',
      exitCode: null,
      signal: null,
      record: null,
      recordError: null,
      containerExitCode: 0,
      wallSeconds: 2.5,
      cpuSeconds: null,
      peakMemoryBytes: null,
      outputTruncated: false,
    });
  });

  it('when it exits 0 with a corrupt message, then the reason carries the parse error', () => {
    const pod = scheduledPod({
      phase: 'Succeeded',
      executor: terminated({ exitCode: 0, message: '{"v":1,"verd' }),
    });
    const o = observeTerminal(pod);
    expect(o.reason).toBe(
      'system: runner ended without a termination record: termination message is not JSON: {"v":1,"verd',
    );
    expect(o.recordError).toBe('termination message is not JSON: {"v":1,"verd');
  });

  it('when it exits 137 with no record, then it was killed before the runner reported', () => {
    const pod = scheduledPod({ phase: 'Failed', executor: terminated({ exitCode: 137, finishedAt: at(9) }) });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'failed',
      reason: 'system: executor container killed (SIGKILL) before the runner reported',
      exitCode: null,
      signal: 'SIGKILL',
      containerExitCode: 137,
      wallSeconds: 4,
    });
  });

  it('when it exits 137 with an unusual container reason, then that reason is appended', () => {
    const pod = scheduledPod({
      phase: 'Failed',
      executor: terminated({
        exitCode: 137,
        reason: 'ContainerStatusUnknown',
        message: 'The container could not be located when the pod was terminated',
      }),
    });
    expect(observeTerminal(pod).reason).toBe(
      'system: executor container killed (SIGKILL) before the runner reported: ContainerStatusUnknown: The container could not be located when the pod was terminated',
    );
  });

  it('when it exits with another code and a non-record message, then the reason names the code and the parse error', () => {
    const pod = scheduledPod({
      phase: 'Failed',
      executor: terminated({ exitCode: 2, message: 'runner: bad flag -x' }),
    });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'failed',
      reason:
        'system: runner exited with code 2 without a valid termination record: termination message is not JSON: runner: bad flag -x',
      signal: null,
      containerExitCode: 2,
      recordError: 'termination message is not JSON: runner: bad flag -x',
    });
  });

  it('when it exits with another code and no message, then the reason says the message was empty', () => {
    const pod = scheduledPod({ phase: 'Failed', executor: terminated({ exitCode: 1 }) });
    expect(observeTerminal(pod).reason).toBe(
      'system: runner exited with code 1 without a valid termination record: empty termination message',
    );
  });

  it('when the record is from another protocol version, then it is not trusted', () => {
    const msg = JSON.stringify({ ...record(), v: 2 });
    const pod = scheduledPod({ phase: 'Succeeded', executor: terminated({ exitCode: 0, message: msg }) });
    const o = observeTerminal(pod);
    expect(o.verdict).toBe('failed');
    expect(o.record).toBeNull();
    expect(o.reason).toMatch(
      /^system: runner ended without a termination record: termination message does not match the runner protocol: v: /,
    );
  });
});

describe('observePod: OOMKilled', () => {
  it('when the container was OOM-killed without a record, then it is memory_limit by SIGKILL', () => {
    const pod = scheduledPod({
      phase: 'Failed',
      executor: terminated({ exitCode: 137, reason: 'OOMKilled' }),
    });
    expect(observeTerminal(pod)).toEqual({
      stage: 'terminal',
      verdict: 'memory_limit',
      reason: 'memory limit exceeded: executor container OOM-killed',
      source: 'container-state',
      exitCode: null,
      signal: 'SIGKILL',
      record: null,
      recordError: null,
      containerExitCode: 137,
      wallSeconds: 2.5,
      cpuSeconds: null,
      peakMemoryBytes: null,
      outputTruncated: false,
    });
  });

  it('when the container was OOM-killed after the runner wrote a completed record, then it stays memory_limit with the record figures', () => {
    const msg = recordMessage({ verdict: 'completed', peak_memory_bytes: 67_000_000 });
    const pod = scheduledPod({
      phase: 'Failed',
      executor: terminated({ exitCode: 137, reason: 'OOMKilled', message: msg }),
    });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'memory_limit',
      reason: 'memory limit exceeded: executor container OOM-killed',
      source: 'container-state',
      peakMemoryBytes: 67_000_000,
      exitCode: 0,
      record: record({ verdict: 'completed', peak_memory_bytes: 67_000_000 }),
    });
  });

  it('when the runner reported memory_limit with a reason, then that reason is kept', () => {
    const msg = recordMessage({
      verdict: 'memory_limit',
      reason: 'memory limit of 64 MiB exceeded',
      exit_code: null,
    });
    const pod = scheduledPod({
      phase: 'Failed',
      executor: terminated({ exitCode: 137, reason: 'OOMKilled', message: msg }),
    });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'memory_limit',
      reason: 'memory limit of 64 MiB exceeded',
    });
  });
});

// --- pod-level ends ---------------------------------------------------------------------------------

describe('observePod: DeadlineExceeded', () => {
  const deadline = {
    phase: 'Failed',
    reason: 'DeadlineExceeded',
    message: 'Pod was active on the node longer than the specified deadline',
  };

  it('when the deadline killed the executor before it reported, then it is timeout', () => {
    const pod = scheduledPod({ ...deadline, executor: terminated({ exitCode: 137, finishedAt: at(45) }) });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'timeout',
      reason: WALL_DEADLINE_REASON,
      source: 'pod-status',
      signal: 'SIGKILL',
      wallSeconds: 40,
      record: null,
    });
    expect(WALL_DEADLINE_REASON).toBe('wall time limit (activeDeadlineSeconds) exceeded');
  });

  it('when the runner had written a completed record, then the deadline still wins', () => {
    const pod = scheduledPod({
      ...deadline,
      executor: terminated({ exitCode: 0, message: recordMessage() }),
    });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'timeout',
      reason: WALL_DEADLINE_REASON,
      source: 'pod-status',
      record: record(),
    });
  });

  it('when the runner recorded a timeout itself, then its record is used', () => {
    const msg = recordMessage({
      verdict: 'timeout',
      reason: 'wall time limit of 30 s exceeded',
      exit_code: null,
      signal: 'SIGKILL',
      wall_seconds: 30.01,
    });
    const pod = scheduledPod({ ...deadline, executor: terminated({ exitCode: 0, message: msg }) });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'timeout',
      reason: 'wall time limit of 30 s exceeded',
      source: 'runner',
      wallSeconds: 30.01,
    });
  });

  it('when the status still shows the executor running, then it is timeout', () => {
    const pod = scheduledPod({ ...deadline, executor: running() });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'timeout',
      reason: WALL_DEADLINE_REASON,
      source: 'pod-status',
      wallSeconds: null,
    });
  });

  it('when the executor never started, then it fails instead of blaming the script', () => {
    const pod = scheduledPod({ ...deadline, executor: waiting('ContainerCreating') });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'failed',
      reason:
        'system: wall time limit (activeDeadlineSeconds) exceeded before the script started (executor: ContainerCreating)',
      source: 'pod-status',
    });
  });

  it('when the executor terminated without ever starting, then it fails instead of blaming the script', () => {
    const pod = scheduledPod({ ...deadline, executor: terminated({ exitCode: 137, startedAt: null }) });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'failed',
      reason: 'system: wall time limit (activeDeadlineSeconds) exceeded before the script started',
    });
  });

  it('when a deleted pod hit its deadline, then it is terminal, not deleting', () => {
    const pod = scheduledPod({ ...deadline, deletionTimestamp: at(50), executor: running() });
    expect(observePod(pod, at(51), OPTS)).toMatchObject({ stage: 'terminal', verdict: 'timeout' });
  });
});

describe('observePod: Evicted and other pod-level failures', () => {
  const evicted = {
    phase: 'Failed',
    reason: 'Evicted',
    message:
      'The node was low on resource: ephemeral-storage. Container executor was using 2Gi, which exceeds its request of 0.',
  };

  it('when the pod was evicted after the executor terminated, then it fails as a resource problem', () => {
    const pod = scheduledPod({ ...evicted, executor: terminated({ exitCode: 137, reason: 'Error' }) });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'failed',
      reason:
        'resource: evicted: The node was low on resource: ephemeral-storage. Container executor was using 2Gi, which exceeds its request of 0.',
      source: 'pod-status',
    });
  });

  it('when the pod was evicted and has no container status, then it fails as a resource problem', () => {
    const pod = makePod({ ...evicted, nodeName: NODE });
    expect(observeTerminal(pod).reason).toBe(`resource: evicted: ${evicted.message}`);
  });

  it('when an OOM-killed container belongs to an evicted pod, then eviction wins', () => {
    const pod = scheduledPod({ ...evicted, executor: terminated({ exitCode: 137, reason: 'OOMKilled' }) });
    expect(observeTerminal(pod).verdict).toBe('failed');
  });

  it('when the pod Failed with no container status, then it fails with the pod reason and message', () => {
    const pod = makePod({
      phase: 'Failed',
      reason: 'NodeAffinity',
      message:
        "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
      nodeName: NODE,
    });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'failed',
      reason:
        "system: pod Failed: NodeAffinity: Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
      source: 'pod-status',
    });
  });

  it('when the pod Succeeded with no container status and no reason, then it fails saying so', () => {
    const pod = makePod({ phase: 'Succeeded', nodeName: NODE });
    expect(observeTerminal(pod).reason).toBe('system: pod Succeeded without a container status');
  });
});

// --- deletion ---------------------------------------------------------------------------------------

describe('observePod: deletion', () => {
  it('when a running pod is being deleted, then it is deleting', () => {
    const pod = scheduledPod({ phase: 'Running', executor: running(), deletionTimestamp: at(20) });
    expect(observePod(pod, at(21), OPTS)).toEqual({ stage: 'deleting' });
  });

  it('when an unscheduled pod past the timeout is being deleted, then it is deleting', () => {
    const pod = makePod({ conditions: [unschedulableCondition(at(2))], deletionTimestamp: at(200) });
    expect(observePod(pod, at(201), OPTS)).toEqual({ stage: 'deleting' });
  });

  it('when a pod stuck pulling its image is being deleted, then it is deleting', () => {
    const pod = scheduledPod({ executor: waiting('ImagePullBackOff'), deletionTimestamp: at(20) });
    expect(observePod(pod, at(21), OPTS)).toEqual({ stage: 'deleting' });
  });

  it('when the executor already terminated with a record, then deletion does not hide the verdict', () => {
    const pod = scheduledPod({
      phase: 'Succeeded',
      deletionTimestamp: at(20),
      executor: terminated({ exitCode: 0, message: recordMessage() }),
    });
    expect(observePod(pod, at(21), OPTS)).toMatchObject({
      stage: 'terminal',
      verdict: 'completed',
      source: 'runner',
    });
  });
});

// --- raw watch objects ------------------------------------------------------------------------------

describe('observePod: objects from a watch', () => {
  it('when timestamps are ISO strings rather than Dates, then timings still work', () => {
    const raw = JSON.parse(
      JSON.stringify(scheduledPod({ phase: 'Running', executor: terminated({ exitCode: 137 }) })),
    ) as V1Pod;
    expect(observeTerminal(raw).wallSeconds).toBe(2.5);

    const unscheduled = JSON.parse(
      JSON.stringify(makePod({ conditions: [unschedulableCondition(at(2))] })),
    ) as V1Pod;
    expect(observePod(unscheduled, at(100), OPTS).stage).toBe('pending');
    expect(observePod(unscheduled, at(123), OPTS).stage).toBe('terminal');

    const started = JSON.parse(
      JSON.stringify(scheduledPod({ phase: 'Running', executor: running(at(5)) })),
    ) as V1Pod;
    expect(observePod(started, at(6), OPTS)).toMatchObject({ startedAt: '2025-03-01T12:00:05.000Z' });
  });
});

// --- labels -----------------------------------------------------------------------------------------

describe('executionIdOf', () => {
  it('when the label is set, then it returns the execution id', () => {
    expect(executionIdOf(makePod())).toBe('exec-7f3a');
  });

  it('when the label or metadata is missing, then it returns null', () => {
    const pod = makePod();
    pod.metadata!.labels = { other: 'x' };
    expect(executionIdOf(pod)).toBeNull();
    expect(executionIdOf({})).toBeNull();
    expect(executionIdOf({ metadata: { labels: { [EXECUTION_ID_LABEL]: '' } } })).toBeNull();
  });
});

// --- details of reasons and conditions ---------------------------------------------------------------

describe('observePod: reason details', () => {
  it('when the scheduler gives no message, then the unschedulable reason says so', () => {
    const pod = makePod({
      conditions: [
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastTransitionTime: T0 },
      ],
    });
    expect(observeTerminal(pod, at(121)).reason).toBe('unschedulable: no message from the scheduler');
  });

  it('when other conditions come before PodScheduled, then PodScheduled is still the one read', () => {
    const pod = makePod({
      conditions: [
        { type: 'Initialized', status: 'True', lastTransitionTime: T0 },
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: T0 },
        unschedulableCondition(at(2)),
      ],
    });
    expect(observePod(pod, at(100), OPTS)).toEqual({
      stage: 'pending',
      scheduled: false,
      nodeName: null,
      waitingReason: 'Unschedulable',
    });
    expect(observeTerminal(pod, at(123)).source).toBe('unschedulable');
  });

  it('when the termination message is only whitespace and the runner exited 0, then no parse error is appended or recorded', () => {
    const pod = scheduledPod({ phase: 'Succeeded', executor: terminated({ exitCode: 0, message: ' \n\t' }) });
    expect(observeTerminal(pod)).toMatchObject({
      reason: 'system: runner ended without a termination record',
      recordError: null,
    });
  });

  it('when the container was OOM-killed and the record is another verdict with a reason, then the OOM reason is used', () => {
    const msg = recordMessage({
      verdict: 'timeout',
      reason: 'wall time limit of 5 s exceeded',
      exit_code: null,
    });
    const pod = scheduledPod({
      phase: 'Failed',
      executor: terminated({ exitCode: 137, reason: 'OOMKilled', message: msg }),
    });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'memory_limit',
      reason: 'memory limit exceeded: executor container OOM-killed',
    });
  });

  it('when the runner reported memory_limit without a reason, then the OOM reason is supplied', () => {
    const msg = recordMessage({ verdict: 'memory_limit', reason: null, exit_code: null, signal: 'SIGKILL' });
    const pod = scheduledPod({
      phase: 'Failed',
      executor: terminated({ exitCode: 137, reason: 'OOMKilled', message: msg }),
    });
    expect(observeTerminal(pod)).toMatchObject({
      verdict: 'memory_limit',
      reason: 'memory limit exceeded: executor container OOM-killed',
      signal: 'SIGKILL',
    });
  });

  it('when it exits 137 with reason Error and a message, then nothing is appended', () => {
    const pod = scheduledPod({
      phase: 'Failed',
      executor: terminated({ exitCode: 137, reason: 'Error', message: 'killed' }),
    });
    expect(observeTerminal(pod)).toMatchObject({
      reason: 'system: executor container killed (SIGKILL) before the runner reported',
      recordError: 'termination message is not JSON: killed',
    });
  });

  it('when it exits 137 with an unusual reason and a blank message, then only the reason is appended', () => {
    const pod = scheduledPod({
      phase: 'Failed',
      executor: terminated({ exitCode: 137, reason: ' ContainerStatusUnknown ', message: '  ' }),
    });
    expect(observeTerminal(pod).reason).toBe(
      'system: executor container killed (SIGKILL) before the runner reported: ContainerStatusUnknown',
    );
  });

  it('when runner-install fails without a reason or with an empty message, then those parts are left out', () => {
    const noReason = scheduledPod({
      init: { terminated: { exitCode: 2, message: '', startedAt: at(3), finishedAt: at(4) } },
    });
    expect(observeTerminal(noReason).reason).toBe('system: runner install failed: exit code 2');
    const padded = scheduledPod({
      init: {
        terminated: {
          exitCode: 3,
          reason: 'Error',
          message: '  disk full \n',
          startedAt: at(3),
          finishedAt: at(4),
        },
      },
    });
    expect(observeTerminal(padded).reason).toBe(
      'system: runner install failed: exit code 3 (Error): disk full',
    );
  });

  it('when a waiting or eviction message is only whitespace, then no message part is added; otherwise it is trimmed', () => {
    const blank = scheduledPod({ executor: waiting('RunContainerError', '   ') });
    expect(observeTerminal(blank, at(6)).reason).toBe('system: RunContainerError in container executor');
    const padded = scheduledPod({ executor: waiting('RunContainerError', '  exec format error \n') });
    expect(observeTerminal(padded, at(6)).reason).toBe(
      'system: RunContainerError in container executor: exec format error',
    );
    const evicted = makePod({ phase: 'Failed', reason: 'Evicted', message: ' ', nodeName: NODE });
    expect(observeTerminal(evicted).reason).toBe('resource: evicted');
  });

  it('when the pod Failed with a reason but a blank message, then only the trimmed reason is given', () => {
    const pod = makePod({ phase: 'Failed', reason: ' Shutdown ', message: '  ', nodeName: NODE });
    expect(observeTerminal(pod).reason).toBe('system: pod Failed: Shutdown');
  });
});

describe('observePod: the image pull grace', () => {
  const pulling = (conditions: V1PodCondition[], startTime?: Date): V1Pod =>
    makePod({
      nodeName: NODE,
      conditions,
      ...(startTime ? { startTime } : {}),
      executor: waiting('ErrImagePull', 'registry timeout'),
    });
  const opts = { ...OPTS, pullFailureGraceSeconds: 30 };

  it('when the grace is 0 or negative, then a pull failure fails at once', () => {
    const pod = pulling([scheduledCondition(at(1))]);
    expect(observePod(pod, at(2), { ...OPTS, pullFailureGraceSeconds: 0 }).stage).toBe('terminal');
    expect(observePod(pod, at(2), { ...OPTS, pullFailureGraceSeconds: -5 }).stage).toBe('terminal');
  });

  it('when exactly the grace has passed since scheduling, then it still waits; a moment later it fails', () => {
    const pod = pulling([scheduledCondition(at(10))]);
    expect(observePod(pod, at(40), opts).stage).toBe('pending');
    expect(observePod(pod, at(40.001), opts).stage).toBe('terminal');
  });

  it('when the grace is counted, then only the PodScheduled=True condition gives the time', () => {
    // Another condition changed recently, and PodScheduled=False is old news: neither restarts the grace.
    const pod = pulling([
      { type: 'Initialized', status: 'True', lastTransitionTime: at(100) },
      { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastTransitionTime: at(90) },
      scheduledCondition(at(10)),
    ]);
    expect(observePod(pod, at(45), opts).stage).toBe('terminal');
    expect(observePod(pod, at(35), opts).stage).toBe('pending');
  });

  it('when there is no PodScheduled=True condition, then the pod start time is used, else the creation time', () => {
    const withStart = pulling([], at(20));
    expect(observePod(withStart, at(45), opts).stage).toBe('pending');
    expect(observePod(withStart, at(51), opts).stage).toBe('terminal');
    const withCreation = pulling([]);
    expect(observePod(withCreation, at(25), opts).stage).toBe('pending');
    expect(observePod(withCreation, at(31), opts).stage).toBe('terminal');
  });

  it('when the pod has no timestamp at all, then the grace cannot be measured and the pull failure fails at once', () => {
    const pod = pulling([]);
    delete pod.metadata!.creationTimestamp;
    expect(observeTerminal(pod, at(1), opts).reason).toBe(
      'system: ErrImagePull in container executor: registry timeout',
    );
  });
});
