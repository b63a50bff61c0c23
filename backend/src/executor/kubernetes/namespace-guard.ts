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

/**
 * Makes the executor namespace safe before any pod is launched: Pod Security Admission labels
 * `restricted` and the deny-all NetworkPolicy. Idempotent; throws with what to fix when the
 * namespace is missing or the worker may not change it (the shipped RBAC grants exactly this).
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

// The API server drops empty rule lists; compare what matters.
function normalise(spec: V1NetworkPolicy['spec']): unknown {
  return {
    podSelector: spec?.podSelector ?? {},
    policyTypes: [...(spec?.policyTypes ?? [])].sort(),
    ingress: spec?.ingress ?? [],
    egress: spec?.egress ?? [],
  };
}
