import { request } from 'node:https';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, Watch, type V1ContainerStatus, type V1Pod } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HOLD_NODE_PREFIX,
  adminKubeConfig,
  appendPodLog,
  applyManifests,
  ensureFakeNode,
  isStatus,
  kubeConfigForToken,
  markUnschedulable,
  restartApiServer,
  serviceAccountToken,
  setPodLogFile,
  setPodOutcome,
  uniqueNamespace,
  waitFor,
  waitForPod,
  waitForPodGone,
  waitForPodPhase,
  workerKubeConfig,
  type PodOutcome,
} from './cluster.js';

const NODE = 'kwok-smoke';
const HOLD_NODE = `${HOLD_NODE_PREFIX}smoke`;
const admin = adminKubeConfig();
const core = admin.makeApiClient(CoreV1Api);

/** Shaped like the worker's executor pod; passes Pod Security "restricted". */
function executorPod(
  name: string,
  {
    nodeName = NODE,
    activeDeadlineSeconds = 300,
  }: { nodeName?: string | null; activeDeadlineSeconds?: number } = {},
): V1Pod {
  const containerSecurity = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
  return {
    metadata: {
      name,
      labels: {
        'app.kubernetes.io/name': 'integr8scode',
        'app.kubernetes.io/component': 'executor',
        'app.kubernetes.io/managed-by': 'integr8scode',
        'integr8scode.io/execution-id': name,
      },
    },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      restartPolicy: 'Never',
      activeDeadlineSeconds,
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      initContainers: [
        { name: 'runner-install', image: 'integr8scode/runner:test', securityContext: containerSecurity },
      ],
      containers: [{ name: 'executor', image: 'python:3.12-slim', securityContext: containerSecurity }],
    },
  };
}

async function createPod(namespace: string, pod: V1Pod): Promise<string> {
  const created = await core.createNamespacedPod({ namespace, body: pod });
  return created.metadata!.name!;
}

function executorStatus(pod: V1Pod): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === 'executor');
}

function condition(pod: V1Pod, type: string): string | undefined {
  return pod.status?.conditions?.find((c) => c.type === type)?.status;
}

let ns: string;

beforeAll(async () => {
  await ensureFakeNode(NODE);
  await ensureFakeNode(HOLD_NODE);
  ns = await uniqueNamespace('k8s-smoke');
});

describe('pods on a fake node', () => {
  it('go Running within about a second: init container Completed, executor running, all conditions True', async () => {
    const started = Date.now();
    const name = await createPod(ns, executorPod('start'));
    const pod = await waitForPodPhase(ns, name, 'Running', 3_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(pod.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({
      reason: 'Completed',
      exitCode: 0,
    });
    expect(executorStatus(pod)).toMatchObject({ ready: true, started: true, state: { running: {} } });
    for (const type of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'])
      expect(condition(pod, type)).toBe('True');
    expect(pod.status?.podIP).toBeTruthy();
    // ... and stay Running until told otherwise.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await core.readNamespacedPod({ namespace: ns, name })).status?.phase).toBe('Running');
  });

  const record = JSON.stringify({
    status: 'completed',
    exitCode: 0,
    stdoutBytes: 12,
    note: 'quotes " and\nnewlines',
  });
  const terminal: {
    outcome: PodOutcome;
    options?: { exitCode?: number; terminationMessage?: string };
    phase: string;
    reason?: string;
    message?: RegExp;
    terminated: { reason: string; exitCode: number; message?: string };
  }[] = [
    {
      outcome: 'succeeded',
      options: { terminationMessage: record },
      phase: 'Succeeded',
      terminated: { reason: 'Completed', exitCode: 0, message: record },
    },
    { outcome: 'succeeded', phase: 'Succeeded', terminated: { reason: 'Completed', exitCode: 0 } },
    {
      outcome: 'failed',
      options: { exitCode: 3, terminationMessage: record },
      phase: 'Failed',
      terminated: { reason: 'Error', exitCode: 3, message: record },
    },
    { outcome: 'failed', phase: 'Failed', terminated: { reason: 'Error', exitCode: 1 } },
    { outcome: 'oom', phase: 'Failed', terminated: { reason: 'OOMKilled', exitCode: 137 } },
    {
      outcome: 'deadline',
      phase: 'Failed',
      reason: 'DeadlineExceeded',
      message: /^Pod was active on the node longer than the specified deadline$/,
      terminated: { reason: 'Error', exitCode: 137 },
    },
    {
      outcome: 'evicted',
      phase: 'Failed',
      reason: 'Evicted',
      message: /^The node was low on resource: memory\./,
      terminated: { reason: 'Error', exitCode: 137 },
    },
  ];

  it.each(terminal)(
    'outcome $outcome $options: Running first, then $phase with $terminated',
    async ({ outcome, options, phase, reason, message, terminated }) => {
      const name = await createPod(ns, executorPod(`${outcome}-${options ? 'opts' : 'plain'}`));
      await waitForPodPhase(ns, name, 'Running');
      await setPodOutcome(ns, name, outcome, options);
      const pod = await waitForPodPhase(ns, name, phase as 'Succeeded' | 'Failed');
      expect(pod.status?.reason).toBe(reason);
      if (message) expect(pod.status?.message).toMatch(message);
      const state = executorStatus(pod)?.state?.terminated;
      expect(state).toMatchObject(terminated);
      if (terminated.message === undefined) expect(state?.message).toBeUndefined();
      expect(state?.finishedAt).toBeInstanceOf(Date);
      expect(condition(pod, 'Ready')).toBe('False');
      if (outcome === 'evicted') expect(condition(pod, 'DisruptionTarget')).toBe('True');
    },
  );

  it.each([
    {
      outcome: 'image-pull' as const,
      reason: 'ImagePullBackOff',
      message: 'Back-off pulling image "python:3.12-slim"',
    },
    {
      outcome: 'create-config-error' as const,
      reason: 'CreateContainerConfigError',
      message: 'secret "integr8scode-missing" not found',
    },
  ])(
    'outcome $outcome: Pending with the executor waiting in $reason',
    async ({ outcome, reason, message }) => {
      const name = await createPod(ns, executorPod(outcome));
      await waitForPodPhase(ns, name, 'Running');
      await setPodOutcome(ns, name, outcome);
      const pod = await waitForPod(ns, name, (p) => executorStatus(p)?.state?.waiting?.reason === reason);
      expect(pod.status?.phase).toBe('Pending');
      expect(executorStatus(pod)?.state?.waiting?.message).toBe(message);
      expect(condition(pod, 'Ready')).toBe('False');
      // It stays there.
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await core.readNamespacedPod({ namespace: ns, name })).status?.phase).toBe('Pending');
    },
  );

  it('on a kwok-hold-* node: Pending (ContainerCreating) until an outcome, then straight to it', async () => {
    const name = await createPod(ns, executorPod('hold', { nodeName: HOLD_NODE }));
    let pod = await waitForPod(
      ns,
      name,
      (p) => executorStatus(p)?.state?.waiting?.reason === 'ContainerCreating',
    );
    expect(pod.status?.phase).toBe('Pending');
    expect(condition(pod, 'PodScheduled')).toBe('True');
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await core.readNamespacedPod({ namespace: ns, name })).status?.phase).toBe('Pending');

    await setPodOutcome(ns, name, 'image-pull');
    pod = await waitForPod(ns, name, (p) => executorStatus(p)?.state?.waiting?.reason === 'ImagePullBackOff');
    expect(pod.status?.phase).toBe('Pending');

    const second = await createPod(ns, executorPod('hold-run', { nodeName: HOLD_NODE }));
    await waitForPod(ns, second, (p) => executorStatus(p)?.state?.waiting?.reason === 'ContainerCreating');
    await setPodOutcome(ns, second, 'running');
    await waitForPodPhase(ns, second, 'Running');
  });

  it('fail with DeadlineExceeded once activeDeadlineSeconds have passed since startTime', async () => {
    const name = await createPod(ns, executorPod('real-deadline', { activeDeadlineSeconds: 2 }));
    const running = await waitForPodPhase(ns, name, 'Running');
    const pod = await waitForPodPhase(ns, name, 'Failed', 6_000);
    expect(pod.status?.reason).toBe('DeadlineExceeded');
    const elapsed =
      executorStatus(pod)!.state!.terminated!.finishedAt!.getTime() - running.status!.startTime!.getTime();
    expect(elapsed).toBeGreaterThanOrEqual(1_000); // startTime has whole-second precision
    expect(elapsed).toBeLessThan(4_000);
  });

  it('without nodeName stay Pending, and markUnschedulable() reports PodScheduled=False/Unschedulable', async () => {
    const name = await createPod(ns, executorPod('unschedulable', { nodeName: null }));
    await markUnschedulable(ns, name, '0/1 nodes are available: 1 Insufficient memory.');
    const pod = await core.readNamespacedPod({ namespace: ns, name });
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.conditions).toEqual([
      expect.objectContaining({
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: '0/1 nodes are available: 1 Insufficient memory.',
      }),
    ]);
  });

  it('are removed on delete: a finished pod with grace 0, a running one with the default grace', async () => {
    const finished = await createPod(ns, executorPod('delete-finished'));
    await waitForPodPhase(ns, finished, 'Running');
    await setPodOutcome(ns, finished, 'succeeded');
    await waitForPodPhase(ns, finished, 'Succeeded');
    await core.deleteNamespacedPod({ namespace: ns, name: finished, gracePeriodSeconds: 0 });
    await waitForPodGone(ns, finished, 3_000);

    const running = await createPod(ns, executorPod('delete-running'));
    await waitForPodPhase(ns, running, 'Running');
    await core.deleteNamespacedPod({ namespace: ns, name: running });
    await waitForPodGone(ns, running, 3_000);
  });
});

describe('identities', () => {
  it('the worker token authenticates but may not list pods without a Role', async () => {
    const worker = workerKubeConfig().makeApiClient(CoreV1Api);
    await expect(worker.listNamespacedPod({ namespace: ns })).rejects.toSatisfy((err) => isStatus(err, 403));
  });

  it('a ServiceAccount token from TokenRequest acts with exactly the Role bound by applied manifests', async () => {
    const target = await uniqueNamespace('k8s-rbac');
    const other = await uniqueNamespace('k8s-rbac-other');
    const dir = await mkdtemp(join(tmpdir(), 'k8s-rbac-'));
    const file = join(dir, 'rbac.yaml');
    await writeFile(
      file,
      [
        'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: reader, namespace: somewhere}',
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: reader, namespace: somewhere}\n' +
          "rules: [{apiGroups: [''], resources: [pods], verbs: [get, list, watch]}]",
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: reader, namespace: somewhere}\n' +
          'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}\n' +
          'subjects: [{kind: ServiceAccount, name: reader, namespace: somewhere}]',
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader-ns}\n' +
          "rules: [{apiGroups: [''], resources: [namespaces], resourceNames: [somewhere], verbs: [get]}]",
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: reader-ns}\n' +
          'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader-ns}\n' +
          'subjects: [{kind: ServiceAccount, name: reader, namespace: somewhere}]',
      ].join('\n---\n'),
    );
    const applied = await applyManifests(file, { namespace: target });
    expect(applied.map((o) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`)).toEqual([
      `ServiceAccount/${target}/reader`,
      `Role/${target}/reader`,
      `RoleBinding/${target}/reader`,
      `ClusterRole//reader-ns--${target}`,
      `ClusterRoleBinding//reader-ns--${target}`,
    ]);
    await applyManifests(file, { namespace: target }); // server-side apply: idempotent

    const token = await serviceAccountToken(target, 'reader');
    const asReader = kubeConfigForToken(token).makeApiClient(CoreV1Api);
    await expect(asReader.listNamespacedPod({ namespace: target })).resolves.toMatchObject({ items: [] });
    await expect(asReader.readNamespace({ name: target })).resolves.toMatchObject({
      metadata: { name: target },
    });
    await expect(asReader.listNamespacedPod({ namespace: other })).rejects.toSatisfy((err) =>
      isStatus(err, 403),
    );
    await expect(asReader.readNamespace({ name: other })).rejects.toSatisfy((err) => isStatus(err, 403));
    await expect(asReader.listNamespacedSecret({ namespace: target })).rejects.toSatisfy((err) =>
      isStatus(err, 403),
    );
    await expect(
      kubeConfigForToken('not-a-token').makeApiClient(CoreV1Api).listNamespace(),
    ).rejects.toSatisfy((err) => isStatus(err, 401));
  });
});

describe('pod logs through the API server', () => {
  it('serve the file named by setPodLogFile(), and follow=true streams appended lines live', async () => {
    const name = await createPod(ns, executorPod('logs'));
    await waitForPodPhase(ns, name, 'Running');
    const dir = await mkdtemp(join(tmpdir(), 'k8s-logs-'));
    const file = join(dir, 'executor.log');
    await appendPodLog(file, 'first line\nsecond ');
    await appendPodLog(file, 'half\n', 'stderr');
    await setPodLogFile(ns, name, file);
    expect(await core.readNamespacedPodLog({ namespace: ns, name, container: 'executor' })).toBe(
      'first line\nsecond half\n',
    );

    const options = {};
    await admin.applyToHTTPSOptions(options);
    const url = `${admin.getCurrentCluster()!.server}/api/v1/namespaces/${ns}/pods/${name}/log?container=executor&follow=true`;
    const controller = new AbortController();
    let received = '';
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { ...options, signal: controller.signal }, (res) => {
        expect(res.statusCode).toBe(200);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (received += chunk));
        res.on('error', () => undefined);
        resolve();
      });
      req.on('error', (err) => (controller.signal.aborted ? undefined : reject(err)));
      req.end();
    });
    await waitFor(() => (received === 'first line\nsecond half\n' ? true : undefined), 5_000, 'initial log');
    const appendedAt = Date.now();
    await appendPodLog(file, 'appended later\n');
    await waitFor(() => (received.endsWith('appended later\n') ? true : undefined), 5_000, 'appended line');
    expect(Date.now() - appendedAt).toBeLessThan(1_000);
    controller.abort();
  });
});

describe('restartApiServer()', () => {
  it('restarts the API server; objects survive, pods still start, and a watch from before gets 410 Gone', async () => {
    const before = await createPod(ns, executorPod('before-restart'));
    await waitForPodPhase(ns, before, 'Running');
    const list = await core.listNamespacedPod({ namespace: ns });
    const resourceVersion = list.metadata!.resourceVersion!;

    let watchEnded: unknown = 'open';
    const watch = await new Watch(admin).watch(
      `/api/v1/namespaces/${ns}/pods`,
      { resourceVersion },
      () => undefined,
      (err: unknown) => {
        watchEnded = err ?? null;
      },
    );
    const started = Date.now();
    await restartApiServer();
    const took = Date.now() - started;
    expect(took).toBeLessThan(30_000);
    expect(watchEnded).not.toBe('open'); // the watch saw the restart
    watch.abort();

    await expect(core.readNamespacedPod({ namespace: ns, name: before })).resolves.toMatchObject({
      status: { phase: 'Running' },
    });
    const after = await createPod(ns, executorPod('after-restart'));
    await waitForPodPhase(ns, after, 'Running', 5_000);

    // The restarted API server's watch cache starts at the current revision: resuming from an older
    // resource version is 410 Expired, which a watcher must answer with a fresh list.
    const events: { type: string; code?: number }[] = [];
    const expired = await new Watch(admin).watch(
      `/api/v1/namespaces/${ns}/pods`,
      { resourceVersion },
      (type, obj: { code?: number }) => events.push({ type, code: obj.code }),
      () => undefined,
    );
    await waitFor(() => (events.length > 0 ? true : undefined), 5_000, 'watch event');
    expired.abort();
    expect(events[0]).toEqual({ type: 'ERROR', code: 410 });
  });
});
