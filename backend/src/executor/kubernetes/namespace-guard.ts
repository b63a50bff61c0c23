import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../../platform/logging/logger.js';
import type { KubeApis } from './kube-client.js';
import { messageOf, statusOf } from './kube-client.js';
import { EXECUTOR_LABELS } from './pod-spec.js';

/** Namespaces executor pods never run in: shared with other workloads or the control plane. */
export const REFUSED_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

export const PSA_LABELS = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
} as const;

export const DENY_ALL_POLICY_NAME = 'integr8scode-executor-deny-all';

/** Executor pods may neither receive nor send anything, DNS included. */
export function denyAllPolicy(namespace: string): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: DENY_ALL_POLICY_NAME,
      namespace,
      labels: { 'app.kubernetes.io/managed-by': 'integr8scode' },
    },
    spec: {
      podSelector: { matchLabels: { ...EXECUTOR_LABELS } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [],
    },
  };
}

export function assertNamespaceAllowed(namespace: string): void {
  if ((REFUSED_NAMESPACES as readonly string[]).includes(namespace)) {
    throw new Error(
      `K8S_NAMESPACE = "${namespace}" is refused: executor pods need a namespace of their own (e.g. "integr8scode"), ` +
        `hardened with Pod Security "restricted" and a deny-all NetworkPolicy`,
    );
  }
}

/** What an operator runs to harden the namespace: the install-time step with its own account. */
export const SETUP_HINT =
  'run the executor namespace setup as its own account (`npm run executor-setup`, ServiceAccount integr8scode-executor-setup in deploy/executor/rbac.yaml)';

/**
 * Refuses to launch into a namespace that is not hardened, reading only: the running worker may
 * not change the namespace or its policies (a stolen worker token could otherwise drop the
 * `restricted` label and create a privileged pod), so hardening is the install-time step below.
 */
export async function verifyExecutorNamespace(apis: KubeApis, namespace: string): Promise<void> {
  assertNamespaceAllowed(namespace);
  let labels: Record<string, string>;
  try {
    labels = (await apis.core.readNamespace({ name: namespace })).metadata?.labels ?? {};
  } catch (err) {
    if (statusOf(err) === 404) {
      throw new Error(`namespace "${namespace}" does not exist; apply deploy/executor/namespace.yaml first`);
    }
    throw new Error(`cannot read namespace "${namespace}": ${messageOf(err)}`);
  }
  const missing = Object.entries(PSA_LABELS)
    .filter(([key, value]) => labels[key] !== value)
    .map(([key, value]) => `${key}=${value}`);
  if (missing.length > 0) {
    throw new Error(
      `namespace "${namespace}" lacks the Pod Security labels ${missing.join(', ')}; ${SETUP_HINT}`,
    );
  }
  let current: V1NetworkPolicy;
  try {
    current = await apis.networking.readNamespacedNetworkPolicy({ name: DENY_ALL_POLICY_NAME, namespace });
  } catch (err) {
    if (statusOf(err) === 404) {
      throw new Error(`namespace "${namespace}" has no NetworkPolicy ${DENY_ALL_POLICY_NAME}; ${SETUP_HINT}`);
    }
    throw new Error(`cannot read the deny-all NetworkPolicy: ${messageOf(err)}`);
  }
  if (!isDeepStrictEqual(normalise(current.spec), normalise(denyAllPolicy(namespace).spec))) {
    throw new Error(`NetworkPolicy ${DENY_ALL_POLICY_NAME} in "${namespace}" was changed; ${SETUP_HINT}`);
  }
}

/**
 * The install-time step: makes the executor namespace safe before any pod is launched (Pod
 * Security Admission labels `restricted` and the deny-all NetworkPolicy). Idempotent; throws with
 * what to fix when the namespace is missing or this account may not change it. Run by
 * `executor-setup` as ServiceAccount integr8scode-executor-setup, never by the running worker.
 */
export async function hardenExecutorNamespace(
  apis: KubeApis,
  namespace: string,
  logger: Logger,
): Promise<void> {
  assertNamespaceAllowed(namespace);
  let ns;
  try {
    ns = await apis.core.readNamespace({ name: namespace });
  } catch (err) {
    if (statusOf(err) === 404) {
      throw new Error(`namespace "${namespace}" does not exist; apply deploy/executor/namespace.yaml first`);
    }
    throw new Error(`cannot read namespace "${namespace}": ${messageOf(err)}`);
  }
  const labels = ns.metadata?.labels ?? {};
  const missing = Object.entries(PSA_LABELS).filter(([key, value]) => labels[key] !== value);
  if (missing.length > 0) {
    try {
      await apis.core.replaceNamespace({
        name: namespace,
        body: { ...ns, metadata: { ...ns.metadata, labels: { ...labels, ...PSA_LABELS } } },
      });
    } catch (err) {
      throw new Error(
        `cannot label namespace "${namespace}" with Pod Security "restricted": ${messageOf(err)}`,
      );
    }
    logger.info(
      { namespace, labels: Object.fromEntries(missing) },
      'namespace labelled for Pod Security restricted',
    );
  }

  const wanted = denyAllPolicy(namespace);
  try {
    const current = await apis.networking.readNamespacedNetworkPolicy({
      name: DENY_ALL_POLICY_NAME,
      namespace,
    });
    if (!isDeepStrictEqual(normalise(current.spec), normalise(wanted.spec))) {
      await apis.networking.replaceNamespacedNetworkPolicy({
        name: DENY_ALL_POLICY_NAME,
        namespace,
        body: {
          ...wanted,
          metadata: { ...wanted.metadata, resourceVersion: current.metadata?.resourceVersion },
        },
      });
      logger.warn({ namespace }, 'deny-all NetworkPolicy had been changed; restored');
    }
  } catch (err) {
    if (statusOf(err) !== 404) throw new Error(`cannot ensure the deny-all NetworkPolicy: ${messageOf(err)}`);
    try {
      await apis.networking.createNamespacedNetworkPolicy({ namespace, body: wanted });
    } catch (createErr) {
      if (statusOf(createErr) !== 409) {
        throw new Error(`cannot create the deny-all NetworkPolicy: ${messageOf(createErr)}`);
      }
    }
    logger.info({ namespace }, 'deny-all NetworkPolicy created');
  }
}

// The API server drops empty rule lists, and the client's models carry absent fields as
// `undefined` properties (which a JSON round trip drops); compare what matters.
function normalise(spec: V1NetworkPolicy['spec']): unknown {
  return JSON.parse(
    JSON.stringify({
      podSelector: spec?.podSelector ?? {},
      policyTypes: [...(spec?.policyTypes ?? [])].sort(),
      ingress: spec?.ingress ?? [],
      egress: spec?.egress ?? [],
    }),
  );
}
