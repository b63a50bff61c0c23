import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  loadAllYaml,
  setHeaderOptions,
  type KubernetesObject,
  type V1Pod,
  type V1PodCondition,
} from '@kubernetes/client-node';
import { findBaseDir } from '../../src/settings/settings.js';
import { eventually } from '../test-logger.js';

/**
 * Helpers for tests against the local Kubernetes test cluster (scripts/k8s/k8s-infra.sh: a real
 * kube-apiserver + etcd, KWOK playing the nodes). test/k8s/k8s-global-setup.ts starts it; the pod
 * behaviour driven by setPodOutcome() is defined in scripts/k8s/kwok-stages.yaml and described in
 * docs/kubernetes-test-infra.md.
 */

const root = findBaseDir(process.cwd());
export const K8S_INFRA_SCRIPT = join(root, 'scripts', 'k8s', 'k8s-infra.sh');

/** Annotation prefix the project's KWOK stages react to. */
export const OUTCOME_ANNOTATION = 'kwok.integr8scode.test/outcome';
export const EXIT_CODE_ANNOTATION = 'kwok.integr8scode.test/exit-code';
export const TERMINATION_MESSAGE_ANNOTATION = 'kwok.integr8scode.test/termination-message';
export const WAITING_MESSAGE_ANNOTATION = 'kwok.integr8scode.test/waiting-message';
/** Nodes with this name prefix hold their pods in Pending (ContainerCreating) until an outcome is set. */
export const HOLD_NODE_PREFIX = 'kwok-hold-';

export type PodOutcome =
  'running' | 'succeeded' | 'failed' | 'oom' | 'deadline' | 'evicted' | 'image-pull' | 'create-config-error';

export interface ClusterEnv {
  /** https://127.0.0.1:<port> */
  apiServer: string;
  adminKubeconfigPath: string;
  /** The `integr8scode-worker` token identity (group integr8scode:workers, no permissions of its own). */
  workerKubeconfigPath: string;
}

let cachedEnv: ClusterEnv | undefined;

/** Where the running cluster is, as `k8s-infra.sh env` prints it. */
export function clusterEnv(): ClusterEnv {
  if (cachedEnv) return cachedEnv;
  const result = spawnSync('bash', [K8S_INFRA_SCRIPT, 'env'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${K8S_INFRA_SCRIPT} env failed: ${result.stderr}`);
  const vars = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) vars.set(m[1], m[2]);
  }
  const need = (name: string): string => {
    const value = vars.get(name);
    if (!value) throw new Error(`${K8S_INFRA_SCRIPT} env did not print ${name}`);
    return value;
  };
  cachedEnv = {
    apiServer: need('K8S_API_SERVER'),
    adminKubeconfigPath: need('K8S_ADMIN_KUBECONFIG'),
    workerKubeconfigPath: need('K8S_WORKER_KUBECONFIG'),
  };
  return cachedEnv;
}

/** system:masters. */
export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterEnv().adminKubeconfigPath);
  return kc;
}

/** The `integr8scode-worker` user: authenticated, but allowed nothing until a test binds a Role to it. */
export function workerKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterEnv().workerKubeconfigPath);
  return kc;
}

/** A kubeconfig for the test cluster that authenticates with a bearer token (e.g. from serviceAccountToken()). */
export function kubeConfigForToken(token: string, user = 'token-user'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'local', server: clusterEnv().apiServer, skipTLSVerify: true }],
    users: [{ name: user, token }],
    contexts: [{ name: 'local', cluster: 'local', user }],
    currentContext: 'local',
  });
  return kc;
}

function core(kc = adminKubeConfig()): CoreV1Api {
  return kc.makeApiClient(CoreV1Api);
}

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && (err as ApiException<unknown>).code === code;
}

/** Polls until `probe` returns something other than undefined (see test-logger's eventually()). */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  return eventually(probe, { timeoutMs, intervalMs: 100, what });
}

/**
 * Creates a namespace `<prefix>-<random>` and returns its name. It is labelled Pod Security
 * "restricted" (enforce) unless `restricted: false`. Namespaces are never cleaned up: without a
 * controller-manager a deleted namespace stays Terminating, so every test takes a fresh one.
 */
export async function uniqueNamespace(
  prefix: string,
  { restricted = true, labels = {} }: { restricted?: boolean; labels?: Record<string, string> } = {},
): Promise<string> {
  const base = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 50)
    .replace(/-+$/, '');
  const name = `${base}-${randomBytes(4).toString('hex')}`;
  await core().createNamespace({
    body: {
      metadata: {
        name,
        labels: {
          ...(restricted
            ? {
                'pod-security.kubernetes.io/enforce': 'restricted',
                'pod-security.kubernetes.io/enforce-version': 'latest',
              }
            : {}),
          ...labels,
        },
      },
    },
  });
  return name;
}

/**
 * Creates (if missing) a Node annotated `kwok.x-k8s.io/node: fake` and waits until KWOK reports it
 * Ready. Pods bound to it with `spec.nodeName` go Running within about a second; on a node named
 * `kwok-hold-*` they stay Pending until setPodOutcome() says otherwise.
 */
export async function ensureFakeNode(name: string, timeoutMs = 15_000): Promise<void> {
  const api = core();
  try {
    await api.createNode({
      body: {
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake' },
          labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
        },
      },
    });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
  await waitFor(
    async () => {
      const node = await api.readNode({ name });
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' ? true : undefined;
    },
    timeoutMs,
    `node ${name} Ready`,
  );
}

/**
 * Tells KWOK how the pod ends (annotations under kwok.integr8scode.test/, patched as admin). The
 * change happens within a few hundred milliseconds of the patch; a Running pod stays Running until
 * then. `exitCode` applies to succeeded (default 0) and failed (default 1); `terminationMessage`
 * becomes the container's terminated.message for succeeded and failed; `waitingMessage` the waiting
 * message for create-config-error. See docs/kubernetes-test-infra.md for the exact statuses.
 */
export async function setPodOutcome(
  namespace: string,
  pod: string,
  outcome: PodOutcome,
  {
    exitCode,
    terminationMessage,
    waitingMessage,
  }: { exitCode?: number; terminationMessage?: string; waitingMessage?: string } = {},
): Promise<V1Pod> {
  const annotations: Record<string, string | null> = {
    [OUTCOME_ANNOTATION]: outcome,
    [EXIT_CODE_ANNOTATION]: exitCode === undefined ? null : String(exitCode),
    [TERMINATION_MESSAGE_ANNOTATION]: terminationMessage ?? null,
    [WAITING_MESSAGE_ANNOTATION]: waitingMessage ?? null,
  };
  return core().patchNamespacedPod(
    { name: pod, namespace, body: { metadata: { annotations } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/**
 * What the scheduler reports for a pod it cannot place: PodScheduled=False/Unschedulable, set
 * through the status subresource. Use it on a pod without spec.nodeName (KWOK leaves those alone).
 */
export async function markUnschedulable(
  namespace: string,
  pod: string,
  message = '0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
): Promise<V1Pod> {
  const condition: V1PodCondition = {
    type: 'PodScheduled',
    status: 'False',
    reason: 'Unschedulable',
    message,
    lastTransitionTime: new Date(),
  };
  return core().patchNamespacedPodStatus(
    { name: pod, namespace, body: { status: { conditions: [condition] } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
}

/** Reads the pod until `predicate` holds; returns that pod. */
export async function waitForPod(
  namespace: string,
  name: string,
  predicate: (pod: V1Pod) => boolean,
  { timeoutMs = 10_000, what = 'pod condition' }: { timeoutMs?: number; what?: string } = {},
): Promise<V1Pod> {
  const api = core();
  return waitFor(
    async () => {
      const pod = await api.readNamespacedPod({ name, namespace });
      return predicate(pod) ? pod : undefined;
    },
    timeoutMs,
    `${namespace}/${name}: ${what}`,
  );
}

export async function waitForPodPhase(
  namespace: string,
  name: string,
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed',
  timeoutMs = 10_000,
): Promise<V1Pod> {
  return waitForPod(namespace, name, (p) => p.status?.phase === phase, { timeoutMs, what: `phase ${phase}` });
}

export async function waitForPodGone(namespace: string, name: string, timeoutMs = 10_000): Promise<void> {
  const api = core();
  await waitFor(
    async () => {
      try {
        await api.readNamespacedPod({ name, namespace });
        return undefined;
      } catch (err) {
        if (isStatus(err, 404)) return true;
        throw err;
      }
    },
    timeoutMs,
    `${namespace}/${name} deleted`,
  );
}

/**
 * Restarts kube-apiserver (same flags, same etcd data) through `k8s-infra.sh restart-apiserver`,
 * and resolves when /readyz answers again. The process is stopped and started in the background,
 * so watches in this process see the disconnection as it happens. KWOK is restarted as well unless
 * keepKwok (its reflectors otherwise back off for up to 30 s). Takes about 5 s.
 */
export async function restartApiServer({ keepKwok = false }: { keepKwok?: boolean } = {}): Promise<void> {
  const args = [K8S_INFRA_SCRIPT, 'restart-apiserver', ...(keepKwok ? ['--keep-kwok'] : [])];
  try {
    await promisify(execFile)('bash', args, { timeout: 120_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`k8s-infra.sh restart-apiserver failed: ${e.stderr ?? e.message}`);
  }
}

/**
 * A token for ServiceAccount `serviceAccount` in `namespace` (created if missing) via the
 * TokenRequest API. Use it with kubeConfigForToken() to act as that account, e.g. one bound by the
 * shipped deploy/executor/rbac.yaml (applied with applyManifests()).
 */
export async function serviceAccountToken(
  namespace: string,
  serviceAccount: string,
  expirationSeconds = 3600,
): Promise<string> {
  const api = core();
  try {
    await api.createNamespacedServiceAccount({ namespace, body: { metadata: { name: serviceAccount } } });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
  const request = await api.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  return token;
}

class ManifestApi extends KubernetesObjectApi {
  async isNamespaced(apiVersion: string, kind: string): Promise<boolean> {
    const resource = await this.resource(apiVersion, kind);
    if (!resource) throw new Error(`the API server does not know ${apiVersion} ${kind}`);
    return resource.namespaced;
  }
}

interface RbacSubject {
  kind?: string;
  namespace?: string;
}

/**
 * Applies YAML manifests (multi-document files) as admin, with server-side apply (so applying twice
 * is fine), in file order. With `namespace`, the manifests are moved into that namespace: the
 * namespace they name (their one metadata.namespace, or their Namespace object) becomes
 * `namespace` in metadata.namespace, Namespace names, ServiceAccount subjects and RBAC
 * resourceNames, and cluster-scoped objects other than Namespaces get the suffix `--<namespace>`
 * (bindings' roleRefs follow) so that tests in different namespaces do not share them.
 * Returns the applied objects.
 */
export async function applyManifests(
  paths: string | string[],
  { namespace, kubeConfig = adminKubeConfig() }: { namespace?: string; kubeConfig?: KubeConfig } = {},
): Promise<KubernetesObject[]> {
  const docs: KubernetesObject[] = [];
  for (const path of Array.isArray(paths) ? paths : [paths]) {
    for (const doc of loadAllYaml(await readFile(path, 'utf8')) as (KubernetesObject | null)[]) {
      if (doc && typeof doc === 'object' && doc.kind) docs.push(doc);
    }
  }
  const api = kubeConfig.makeApiClient(ManifestApi);
  if (namespace !== undefined) {
    const named = new Set(
      docs.flatMap((d) =>
        d.kind === 'Namespace'
          ? [d.metadata?.name ?? '']
          : d.metadata?.namespace
            ? [d.metadata.namespace]
            : [],
      ),
    );
    if (named.size > 1) throw new Error(`manifests name several namespaces (${[...named].join(', ')})`);
    const from = [...named][0];
    const clusterScoped = new Set<string>();
    for (const doc of docs) {
      const namespaced = await api.isNamespaced(doc.apiVersion ?? 'v1', doc.kind ?? '');
      doc.metadata ??= {};
      if (doc.kind === 'Namespace') doc.metadata.name = namespace;
      else if (namespaced) doc.metadata.namespace = namespace;
      else {
        clusterScoped.add(`${doc.kind}/${doc.metadata.name}`);
        doc.metadata.name = `${doc.metadata.name}--${namespace}`;
      }
      const body = doc as KubernetesObject & {
        subjects?: RbacSubject[];
        roleRef?: { kind?: string; name?: string };
        rules?: { resourceNames?: string[] }[];
      };
      for (const subject of body.subjects ?? []) {
        if (subject.kind === 'ServiceAccount' && (subject.namespace === from || !subject.namespace)) {
          subject.namespace = namespace;
        }
      }
      if (body.roleRef && clusterScoped.has(`${body.roleRef.kind}/${body.roleRef.name}`)) {
        body.roleRef.name = `${body.roleRef.name}--${namespace}`;
      }
      for (const rule of body.rules ?? []) {
        if (from && rule.resourceNames)
          rule.resourceNames = rule.resourceNames.map((n) => (n === from ? namespace : n));
      }
    }
  }
  const applied: KubernetesObject[] = [];
  for (const doc of docs) {
    applied.push(
      await api.patch(doc, undefined, undefined, 'integr8scode-tests', true, PatchStrategy.ServerSideApply),
    );
  }
  return applied;
}

/**
 * Lines in the CRI log format the kubelet writes (`<RFC 3339 time> <stream> <F|P> <text>`), which
 * is what KWOK reads for pod logs. Text without a trailing newline ends in a partial (P) record.
 */
export function criLogLines(text: string, stream: 'stdout' | 'stderr' = 'stdout', time = new Date()): string {
  const stamp = time.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
  const parts = text.split('\n');
  const out: string[] = [];
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (last && part === '') return;
    out.push(`${stamp} ${stream} ${last ? 'P' : 'F'} ${part}\n`);
  });
  return out.join('');
}

/** Appends `text` to a CRI log file (see criLogLines); a follower sees it within milliseconds. */
export async function appendPodLog(
  file: string,
  text: string,
  stream: 'stdout' | 'stderr' = 'stdout',
): Promise<void> {
  await appendFile(file, criLogLines(text, stream));
}

/**
 * Makes `GET pods/<pod>/log?container=<container>` through the API server return the content of
 * `file` (CRI log format, see criLogLines; created empty if missing): creates KWOK's Logs object for
 * the pod and waits until KWOK serves it. `follow=true` streams lines appended later live; note that
 * KWOK never ends a follow stream by itself, not even when the pod has finished.
 */
export async function setPodLogFile(
  namespace: string,
  pod: string,
  file: string,
  container = 'executor',
): Promise<void> {
  await appendFile(file, '');
  const kc = adminKubeConfig();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const body = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Logs',
    metadata: { name: pod, namespace },
    spec: { logs: [{ containers: [container], logsFile: file }] },
  };
  try {
    await custom.createNamespacedCustomObject({
      group: 'kwok.x-k8s.io',
      version: 'v1alpha1',
      namespace,
      plural: 'logs',
      body,
    });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
    await custom.patchNamespacedCustomObject(
      {
        group: 'kwok.x-k8s.io',
        version: 'v1alpha1',
        namespace,
        plural: 'logs',
        name: pod,
        body: { spec: body.spec },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
  const api = core(kc);
  await waitFor(
    async () => {
      try {
        await api.readNamespacedPodLog({ name: pod, namespace, container, limitBytes: 1 });
        return true;
      } catch (err) {
        if (isStatus(err, 400) || isStatus(err, 500)) return undefined;
        throw err;
      }
    },
    10_000,
    `KWOK serving logs of ${namespace}/${pod}`,
  );
}
