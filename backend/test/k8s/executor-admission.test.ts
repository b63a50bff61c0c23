import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type V1DaemonSet, type V1Pod, loadAllYaml } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { kubeApis, messageOf, statusOf, type KubeApis } from '../../src/executor/kubernetes/kube-client.js';
import {
  denyAllPolicy,
  hardenExecutorNamespace,
  PSA_LABELS,
  DENY_ALL_POLICY_NAME,
  verifyExecutorNamespace,
} from '../../src/executor/kubernetes/namespace-guard.js';
import { podSpecConfigOf } from '../../src/executor/kubernetes/kubernetes-settings.js';
import { buildExecutorObjects, withOwner } from '../../src/executor/kubernetes/pod-spec.js';
import { parseRuntimeImages } from '../../src/executor/kubernetes/runtime-images.js';
import { testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';
import {
  adminKubeConfig,
  applyManifests,
  isStatus,
  kubeConfigForToken,
  serviceAccountToken,
  uniqueNamespace,
} from './cluster.js';
import { DEPLOY_DIR } from './k8s-world.js';

// The shipped manifests (deploy/executor) against a real API server with RBAC and Pod Security
// admission: what the worker and monitor ServiceAccounts may and may not do, and that our pod
// spec passes "restricted" while weakened variants are rejected.
let namespace = '';
let worker: KubeApis;
let monitor: KubeApis;
let setup: KubeApis;
const admin = adminKubeConfig().makeApiClient(CoreV1Api);
const logger = testLogger();

function executorPod(): { pod: V1Pod; configMap: ReturnType<typeof buildExecutorObjects>['configMap'] } {
  const settings = testSettings({ INTEGR8SCODE_K8S_NAMESPACE: namespace });
  const [runtime] = parseRuntimeImages('python/3.12=python:3.12-slim');
  return buildExecutorObjects(
    {
      executionId: `adm-${uniqueSuffix()}`,
      runtime: { lang: 'python', version: '3.12' },
      script: 'print(1)\n',
      limits: {
        wallSeconds: 5,
        cpuSeconds: 2,
        memoryBytes: 64 * 1024 * 1024,
        maxProcesses: 32,
        maxFileBytes: 1024 * 1024,
        maxOutputBytes: 65536,
      },
    },
    runtime!,
    { userId: 'u1' },
    podSpecConfigOf(settings),
  );
}

async function rejection(call: Promise<unknown>): Promise<{ status: number | null; message: string }> {
  try {
    await call;
  } catch (err) {
    return { status: statusOf(err), message: messageOf(err) };
  }
  throw new Error('the call was expected to be refused but succeeded');
}

beforeAll(async () => {
  namespace = await uniqueNamespace('adm', { restricted: false });
  await applyManifests(
    [
      join(DEPLOY_DIR, 'namespace.yaml'),
      join(DEPLOY_DIR, 'rbac.yaml'),
      join(DEPLOY_DIR, 'networkpolicy.yaml'),
    ],
    { namespace },
  );
  worker = kubeApis(kubeConfigForToken(await serviceAccountToken(namespace, 'integr8scode-k8s-worker')));
  monitor = kubeApis(kubeConfigForToken(await serviceAccountToken(namespace, 'integr8scode-pod-monitor')));
  setup = kubeApis(kubeConfigForToken(await serviceAccountToken(namespace, 'integr8scode-executor-setup')));
}, 60_000);

/** Someone with cluster rights weakened both the Pod Security label and the deny-all policy. */
async function weakenNamespace(): Promise<void> {
  const ns = await admin.readNamespace({ name: namespace });
  await admin.replaceNamespace({
    name: namespace,
    body: {
      ...ns,
      metadata: { ...ns.metadata, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
    },
  });
  const networking = adminKubeConfig().makeApiClient(
    (await import('@kubernetes/client-node')).NetworkingV1Api,
  );
  const policy = await networking.readNamespacedNetworkPolicy({ name: DENY_ALL_POLICY_NAME, namespace });
  await networking.replaceNamespacedNetworkPolicy({
    name: DENY_ALL_POLICY_NAME,
    namespace,
    body: { ...policy, spec: { ...policy.spec!, policyTypes: ['Ingress'] } },
  });
}

describe('namespace hardening: an install-time step; the worker only checks', () => {
  it('labels the namespace restricted and restores a tampered deny-all policy, as the setup ServiceAccount; the worker then accepts the namespace', async () => {
    await weakenNamespace();
    await expect(verifyExecutorNamespace(worker, namespace)).rejects.toThrow(
      /lacks the Pod Security labels pod-security\.kubernetes\.io\/enforce=restricted.*npm run executor-setup/,
    );

    await hardenExecutorNamespace(setup, namespace, logger);
    const labels = (await admin.readNamespace({ name: namespace })).metadata?.labels ?? {};
    expect(labels).toMatchObject(PSA_LABELS);
    const restored = await worker.networking.readNamespacedNetworkPolicy({
      name: DENY_ALL_POLICY_NAME,
      namespace,
    });
    expect([...(restored.spec?.policyTypes ?? [])].sort()).toEqual(['Egress', 'Ingress']);
    await expect(verifyExecutorNamespace(worker, namespace)).resolves.toBeUndefined();
  });

  it('the worker refuses a namespace whose deny-all policy was changed, and cannot restore it itself', async () => {
    await weakenNamespace();
    await hardenExecutorNamespace(setup, namespace, logger);
    const networking = adminKubeConfig().makeApiClient(
      (await import('@kubernetes/client-node')).NetworkingV1Api,
    );
    const policy = await networking.readNamespacedNetworkPolicy({ name: DENY_ALL_POLICY_NAME, namespace });
    await networking.replaceNamespacedNetworkPolicy({
      name: DENY_ALL_POLICY_NAME,
      namespace,
      body: { ...policy, spec: { ...policy.spec!, egress: [{}] } },
    });
    await expect(verifyExecutorNamespace(worker, namespace)).rejects.toThrow(
      `NetworkPolicy ${DENY_ALL_POLICY_NAME} in "${namespace}" was changed`,
    );
    await expect(hardenExecutorNamespace(worker, namespace, logger)).rejects.toThrow(
      /cannot ensure the deny-all NetworkPolicy/,
    );
    await hardenExecutorNamespace(setup, namespace, logger);
    await expect(verifyExecutorNamespace(worker, namespace)).resolves.toBeUndefined();
  });

  it('refuses the default namespace with a message that says what to do', async () => {
    await expect(hardenExecutorNamespace(setup, 'default', logger)).rejects.toThrow(
      /K8S_NAMESPACE = "default" is refused: executor pods need a namespace of their own/,
    );
    await expect(verifyExecutorNamespace(worker, 'default')).rejects.toThrow(
      /K8S_NAMESPACE = "default" is refused/,
    );
  });

  it('says when the namespace does not exist', async () => {
    await expect(hardenExecutorNamespace(setup, `missing-${uniqueSuffix()}`, logger)).rejects.toThrow(
      /cannot read namespace|does not exist/,
    );
  });
});

describe('pod security admission (restricted)', () => {
  it('admits our executor pod and its owned ConfigMap, created by the worker ServiceAccount', async () => {
    const { pod, configMap } = executorPod();
    const created = await worker.core.createNamespacedPod({ namespace, body: pod });
    await worker.core.createNamespacedConfigMap({
      namespace,
      body: withOwner(configMap, { name: created.metadata!.name!, uid: created.metadata!.uid! }),
    });
    await worker.core.deleteNamespacedPod({
      name: created.metadata!.name!,
      namespace,
      gracePeriodSeconds: 0,
    });
  });

  it.each([
    [
      'privilege escalation allowed',
      (p: V1Pod) => (p.spec!.containers[0]!.securityContext!.allowPrivilegeEscalation = true),
    ],
    [
      'capabilities not dropped',
      (p: V1Pod) => (p.spec!.containers[0]!.securityContext!.capabilities = { add: ['NET_RAW'] }),
    ],
    [
      'running as root',
      (p: V1Pod) => {
        p.spec!.securityContext!.runAsNonRoot = false;
        p.spec!.securityContext!.runAsUser = 0;
        p.spec!.containers[0]!.securityContext!.runAsNonRoot = false;
      },
    ],
    [
      'no seccomp profile',
      (p: V1Pod) => {
        delete p.spec!.securityContext!.seccompProfile;
        delete p.spec!.containers[0]!.securityContext!.seccompProfile;
        delete p.spec!.initContainers![0]!.securityContext!.seccompProfile;
      },
    ],
    ['host network', (p: V1Pod) => (p.spec!.hostNetwork = true)],
    [
      'init container adding a capability',
      (p: V1Pod) =>
        (p.spec!.initContainers![0]!.securityContext!.capabilities = { drop: ['ALL'], add: ['SYS_ADMIN'] }),
    ],
  ])('rejects a weakened spec: %s', async (_name, weaken) => {
    const { pod } = executorPod();
    const weakened = structuredClone(pod);
    weaken(weakened);
    const refused = await rejection(worker.core.createNamespacedPod({ namespace, body: weakened }));
    expect(refused.status).toBe(403);
    expect(refused.message).toMatch(/violates PodSecurity "restricted/);
  });

  it('admits the image pre-pull DaemonSet pod template (dry run)', async () => {
    const [daemonSet] = loadAllYaml(
      await readFile(join(DEPLOY_DIR, 'prepull-daemonset.yaml'), 'utf8'),
    ) as V1DaemonSet[];
    const template = daemonSet!.spec!.template;
    await admin.createNamespacedPod({
      namespace,
      dryRun: 'All',
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `prepull-${uniqueSuffix()}`, labels: template.metadata?.labels },
        spec: template.spec!,
      },
    });
    const apps = adminKubeConfig().makeApiClient(AppsV1Api);
    await apps.createNamespacedDaemonSet({
      namespace,
      dryRun: 'All',
      body: { ...daemonSet!, metadata: { ...daemonSet!.metadata, namespace } },
    });
  });
});

describe('RBAC: the shipped Roles grant what the code calls and nothing more', () => {
  it('lets the monitor list, watch, read logs of and delete pods', async () => {
    const list = await monitor.core.listNamespacedPod({ namespace });
    expect(Array.isArray(list.items)).toBe(true);
    const { pod } = executorPod();
    const created = await admin.createNamespacedPod({ namespace, body: pod });
    await monitor.core.readNamespacedPod({ name: created.metadata!.name!, namespace });
    await monitor.core.deleteNamespacedPod({
      name: created.metadata!.name!,
      namespace,
      gracePeriodSeconds: 0,
    });
  });

  it.each([
    ['worker lists pods', () => worker.core.listNamespacedPod({ namespace })],
    ['worker reads secrets', () => worker.core.listNamespacedSecret({ namespace })],
    [
      'worker creates a pod in another namespace',
      () => worker.core.createNamespacedPod({ namespace: 'default', body: executorPod().pod }),
    ],
    ['worker reads another namespace', () => worker.core.readNamespace({ name: 'default' })],
    [
      'worker deletes a ConfigMap',
      () => worker.core.deleteNamespacedConfigMap({ name: 'anything', namespace }),
    ],
    [
      'worker changes the namespace (could drop the restricted label)',
      async () => {
        const ns = await worker.core.readNamespace({ name: namespace });
        return worker.core.replaceNamespace({
          name: namespace,
          body: {
            ...ns,
            metadata: { ...ns.metadata, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
          },
        });
      },
    ],
    [
      'worker replaces the NetworkPolicy',
      async () => {
        const policy = await worker.networking.readNamespacedNetworkPolicy({
          name: DENY_ALL_POLICY_NAME,
          namespace,
        });
        return worker.networking.replaceNamespacedNetworkPolicy({
          name: DENY_ALL_POLICY_NAME,
          namespace,
          body: { ...policy, spec: { ...policy.spec!, policyTypes: ['Ingress'] } },
        });
      },
    ],
    [
      'worker deletes the NetworkPolicy',
      () => worker.networking.deleteNamespacedNetworkPolicy({ name: DENY_ALL_POLICY_NAME, namespace }),
    ],
    [
      'worker creates a NetworkPolicy (e.g. an allow-all)',
      () =>
        worker.networking.createNamespacedNetworkPolicy({
          namespace,
          body: { ...denyAllPolicy(namespace), metadata: { name: `allow-${uniqueSuffix()}`, namespace } },
        }),
    ],
    ['setup account reads pods', () => setup.core.listNamespacedPod({ namespace })],
    [
      'setup account creates a pod',
      () => setup.core.createNamespacedPod({ namespace, body: executorPod().pod }),
    ],
    ['monitor creates a pod', () => monitor.core.createNamespacedPod({ namespace, body: executorPod().pod })],
    ['monitor reads ConfigMaps (scripts)', () => monitor.core.listNamespacedConfigMap({ namespace })],
    [
      'monitor changes the NetworkPolicy',
      () => monitor.networking.deleteNamespacedNetworkPolicy({ name: DENY_ALL_POLICY_NAME, namespace }),
    ],
  ])('forbids: %s', async (_name, call) => {
    const refused = await rejection(call());
    expect(refused.status).toBe(403);
  });

  it('forbids exec into pods for both accounts', async () => {
    for (const account of [worker, monitor]) {
      const refused = await rejection(
        account.core.connectPostNamespacedPodExec({
          name: 'x',
          namespace,
          command: 'sh',
          container: 'executor',
        }),
      );
      expect(refused.status).toBe(403);
    }
    expect(isStatus(new Error('x'), 403)).toBe(false);
  });
});
