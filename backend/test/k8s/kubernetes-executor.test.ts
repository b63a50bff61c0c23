import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TerminationRecord } from '../../src/executor/kubernetes/termination-record.js';
import { configMapNameOf, podNameOf } from '../../src/executor/kubernetes/pod-spec.js';
import { VANISHED_POD_REASON } from '../../src/pod-monitor/pod-monitor.js';
import { resultOf } from '../kafka/event-recorder.js';
import { eventually } from '../test-logger.js';
import {
  appendPodLog,
  markUnschedulable,
  restartApiServer,
  setPodLogFile,
  setPodOutcome,
  waitForPodGone,
  waitForPodPhase,
} from './cluster.js';
import { K8sWorld } from './k8s-world.js';

// Real kube-apiserver (RBAC + Pod Security), KWOK nodes, real Kafka and Mongo. The worker and the
// monitor act as the ServiceAccounts of deploy/executor/rbac.yaml. KWOK runs no containers: the
// runner's termination record and log lines are written by the test (KWOK serves the log file
// through the API server's pods/log, as a kubelet would); the runner itself is tested on the host
// in test/executor/runner.test.ts.
let world: K8sWorld;
const logDir = mkdtempSync(join(tmpdir(), 'k8s-logs-'));

beforeAll(async () => {
  world = new K8sWorld();
  await world.start();
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

function record(overrides: Partial<TerminationRecord> = {}): string {
  const full: TerminationRecord = {
    v: 1,
    verdict: 'completed',
    exit_code: 0,
    signal: null,
    wall_seconds: 0.12,
    cpu_seconds: 0.05,
    peak_memory_bytes: 9_000_000,
    output_truncated: false,
    stdout_bytes: 0,
    stderr_bytes: 0,
    frames: 0,
    reason: null,
    ...overrides,
  };
  return JSON.stringify(full);
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

async function launchRunning(script = 'print("hi")\n') {
  const execution = await world.createExecution(script);
  await world.sendCreatePod(execution);
  const pod = podNameOf(execution.id);
  await waitForPodPhase(world.namespace, pod, 'Running', 15_000);
  return { execution, pod };
}

describe('kubernetes backend: worker launches, monitor reports', () => {
  it('creates a restricted pod plus an owned ConfigMap, streams the log live and reports completed with the exit code', async () => {
    const execution = await world.createExecution('import sys\nprint("out")\nsys.exit(3)\n');
    await world.sendCreatePod(execution);
    const podName = podNameOf(execution.id);
    const running = await waitForPodPhase(world.namespace, podName, 'Running', 15_000);
    const configMap = await world.adminCore.readNamespacedConfigMap({
      name: configMapNameOf(execution.id),
      namespace: world.namespace,
    });
    expect(configMap.data?.script).toContain('sys.exit(3)');
    expect(configMap.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Pod',
      name: podName,
      uid: running.metadata?.uid,
    });
    expect(running.spec?.automountServiceAccountToken).toBe(false);
    await world.recorder.eventOf(execution.id, 'pod_created');
    const started = await world.recorder.eventOf(execution.id, 'execution_started');
    expect(started.event.payload).toMatchObject({ backend: 'kubernetes', pod_name: podName });

    const logFile = join(logDir, `${podName}.log`);
    await setPodLogFile(world.namespace, podName, logFile);
    await appendPodLog(logFile, `S {"v":1}\nO 0 ${b64('out\n')}\n`);
    // Live: the first chunk arrives while the pod still runs.
    const first = await world.recorder.eventOf(execution.id, 'execution_output');
    expect(first.event.payload).toMatchObject({ stream: 'stdout', seq: 0, data_b64: b64('out\n') });
    await world.recorder.caughtUp();
    expect(world.recorder.terminals(execution.id)).toHaveLength(0);

    const final = record({ exit_code: 3, stdout_bytes: 4, stderr_bytes: 5, frames: 2 });
    await appendPodLog(logFile, `E 1 ${b64('warn\n')}\nX ${final}\n`);
    await setPodOutcome(world.namespace, podName, 'succeeded', { terminationMessage: final });

    const terminal = await world.recorder.terminalOf(execution.id);
    expect(terminal.event.event_type).toBe('execution_completed');
    const result = resultOf(terminal);
    expect(result).toMatchObject({ verdict: 'completed', exit_code: 3, output_chunks: 2, reason: null });
    expect(Buffer.from(result.stdout_b64, 'base64').toString()).toBe('out\n');
    expect(Buffer.from(result.stderr_b64, 'base64').toString()).toBe('warn\n');
    expect(result.resource_usage).toEqual({
      wall_seconds: 0.12,
      cpu_seconds: 0.05,
      peak_memory_bytes: 9_000_000,
    });
    await waitForPodGone(world.namespace, podName);
    await world.recorder.eventOf(execution.id, 'pod_deleted');
    await world.recorder.caughtUp();
    expect(world.recorder.of(execution.id, 'execution_output')).toHaveLength(2);
  });

  it.each([
    ['oom', {}, 'execution_failed', 'memory_limit'],
    ['deadline', {}, 'execution_timeout', 'timeout'],
    ['evicted', {}, 'execution_failed', 'failed'],
    [
      'succeeded',
      {
        terminationMessage: record({
          verdict: 'cpu_limit',
          exit_code: null,
          signal: 'SIGKILL',
          reason: 'cpu',
        }),
      },
      'execution_failed',
      'cpu_limit',
    ],
    [
      'succeeded',
      { terminationMessage: record({ verdict: 'output_limit', output_truncated: true, reason: 'out' }) },
      'execution_failed',
      'output_limit',
    ],
    ['failed', { exitCode: 1 }, 'execution_failed', 'failed'],
  ] as const)('maps the %s outcome %j to %s / %s', async (outcome, options, eventType, verdict) => {
    const { execution, pod } = await launchRunning();
    await setPodOutcome(world.namespace, pod, outcome, options);
    const terminal = await world.recorder.terminalOf(execution.id);
    expect(terminal.event.event_type).toBe(eventType);
    expect(resultOf(terminal).verdict).toBe(verdict);
    if (outcome === 'evicted') expect(resultOf(terminal).reason).toMatch(/^resource: evicted/);
    await waitForPodGone(world.namespace, pod);
  });

  it('fails an image pull error at once (not after the deadline), with the reason', async () => {
    const { execution, pod } = await launchRunning();
    const t0 = Date.now();
    await setPodOutcome(world.namespace, pod, 'image-pull');
    const terminal = await world.recorder.terminalOf(execution.id);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(resultOf(terminal)).toMatchObject({ verdict: 'failed' });
    expect(resultOf(terminal).reason).toMatch(/^system: ImagePullBackOff/);
  });

  it('fails a pod that stays unschedulable past K8S_UNSCHEDULABLE_TIMEOUT_SECONDS with the scheduler message', async () => {
    const execution = await world.createExecution();
    const pod = podNameOf(execution.id);
    world.hold.add(pod);
    await world.sendCreatePod(execution);
    await eventually(async () => (await world.pod(pod)) ?? undefined, { what: 'pod created' });
    await markUnschedulable(world.namespace, pod, '0/1 nodes are available: 1 Insufficient memory.');
    const terminal = await world.recorder.terminalOf(execution.id, 20_000);
    expect(resultOf(terminal).reason).toBe('unschedulable: 0/1 nodes are available: 1 Insufficient memory.');
    await waitForPodGone(world.namespace, pod);
  });

  it('cancel: delete_pod_command deletes the running pod at once and reports cancelled', async () => {
    const { execution, pod } = await launchRunning();
    await world.sendDeletePod(execution.id, 'user cancelled');
    const terminal = await world.recorder.terminalOf(execution.id);
    expect(terminal.event.event_type).toBe('execution_cancelled');
    expect(resultOf(terminal).reason).toBe('user cancelled');
    await waitForPodGone(world.namespace, pod, 5_000);
    // The monitor does not call a cancelled pod vanished (a reconcile pass is where it would).
    await world.monitor!.reconcile();
    await world.recorder.caughtUp();
    expect(world.recorder.terminals(execution.id)).toHaveLength(1);
  });

  it('collects orphans and fails running executions whose pod vanished', async () => {
    const { execution, pod } = await launchRunning();
    // Its execution ended elsewhere (e.g. cancelled while the pod was being created).
    await world.executions.advance(execution.id, 'cancelled');
    await waitForPodGone(world.namespace, pod, 10_000);

    const lost = await world.createExecution('print(1)\n', 'running', new Date(Date.now() - 60_000));
    const terminal = await world.recorder.terminalOf(lost.id, 10_000);
    expect(resultOf(terminal)).toMatchObject({ verdict: 'failed', reason: VANISHED_POD_REASON });
  });

  it('a monitor restart in the middle of a run reports the end once, and the output without gaps', async () => {
    const { execution, pod } = await launchRunning();
    const logFile = join(logDir, `${pod}.log`);
    await setPodLogFile(world.namespace, pod, logFile);
    await appendPodLog(logFile, `S {"v":1}\nO 0 ${b64('a')}\n`);
    await world.recorder.eventOf(execution.id, 'execution_output');
    await world.monitor?.stop();
    await appendPodLog(logFile, `O 1 ${b64('b')}\n`);
    const final = record({ stdout_bytes: 2, frames: 2 });
    await appendPodLog(logFile, `X ${final}\n`);
    await setPodOutcome(world.namespace, pod, 'succeeded', { terminationMessage: final });
    await waitForPodPhase(world.namespace, pod, 'Succeeded');
    await world.startMonitor();
    const terminal = await world.recorder.terminalOf(execution.id);
    expect(Buffer.from(resultOf(terminal).stdout_b64, 'base64').toString()).toBe('ab');
    await waitForPodGone(world.namespace, pod);
    await world.recorder.caughtUp();
    const ids = new Set(world.recorder.of(execution.id, 'execution_output').map((r) => r.event.event_id));
    expect(ids.size).toBe(2);
    expect(world.recorder.terminals(execution.id)).toHaveLength(1);
  });

  it('survives an API server restart and a forced watch expiry (410 Gone) without losing or repeating terminal events', async () => {
    const first = await launchRunning();
    await world.recorder.eventOf(first.execution.id, 'execution_started');
    const watcher = world.monitor!.watcher;
    const oldVersion = watcher.version!;
    const before = { ...watcher.stats };
    await restartApiServer();
    // A pod created after the restart, then the watch forced back to a version from before it:
    // the new server's watch cache does not reach that far, so it answers 410 and we list again.
    const second = await launchRunning();
    await world.recorder.eventOf(second.execution.id, 'execution_started', 30_000);
    watcher.resumeFrom(oldVersion);
    await eventually(() => (watcher.stats.expired > before.expired ? true : undefined), {
      what: 'a 410 Gone',
    });
    await eventually(() => (watcher.stats.lists > before.lists ? true : undefined), { what: 'a fresh list' });

    for (const { pod } of [first, second]) {
      await setPodOutcome(world.namespace, pod, 'succeeded', {
        terminationMessage: record({ exit_code: 0 }),
      });
    }
    for (const { execution, pod } of [first, second]) {
      const terminal = await world.recorder.terminalOf(execution.id, 30_000);
      expect(resultOf(terminal)).toMatchObject({ verdict: 'completed', exit_code: 0 });
      await waitForPodGone(world.namespace, pod, 15_000);
    }
    expect(watcher.stats.watches).toBeGreaterThan(before.watches + 1);
    // A second report would come from a re-list or a reconcile pass.
    await world.monitor!.reconcile();
    await world.recorder.caughtUp();
    expect(world.recorder.terminals(first.execution.id)).toHaveLength(1);
    expect(world.recorder.terminals(second.execution.id)).toHaveLength(1);
  }, 90_000);
});
