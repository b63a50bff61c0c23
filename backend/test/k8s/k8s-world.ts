import { hardenExecutorNamespace } from '../../src/executor/kubernetes/namespace-guard.js';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import type { Kafka } from 'kafkajs';
import {
  createPlatformCatalog,
  type PlatformEventCatalog,
  type PlatformEventDefinitions,
} from '../../src/events/definitions.js';
import {
  createPodCommandPayload,
  ExecutionEvents,
  requestPayload,
} from '../../src/executions/execution-events.js';
import { ExecutionRepository } from '../../src/executions/execution-repository.js';
import type { Execution, ExecutionStatus } from '../../src/executions/execution.js';
import { kubeApis, type KubeApis } from '../../src/executor/kubernetes/kube-client.js';
import { observeOptionsOf, podSpecConfigOf } from '../../src/executor/kubernetes/kubernetes-settings.js';
import { EXECUTOR_SELECTOR } from '../../src/executor/kubernetes/pod-spec.js';
import { parseRuntimeImages } from '../../src/executor/kubernetes/runtime-images.js';
import { KafkaAdminComponent } from '../../src/platform/kafka/admin-component.js';
import { createKafka } from '../../src/platform/kafka/client.js';
import { EventProducer } from '../../src/platform/kafka/producer.js';
import type { Logger } from '../../src/platform/logging/logger.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { PodMonitor } from '../../src/pod-monitor/pod-monitor.js';
import { findBaseDir, type Settings } from '../../src/settings/settings.js';
import { KubernetesPodManager } from '../../src/worker/kubernetes-pod-manager.js';
import { EventRecorder, RUN_EVENT_TYPES } from '../kafka/event-recorder.js';
import { testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';
import { executionFixture } from '../worker/worker-harness.js';
import {
  adminKubeConfig,
  applyManifests,
  ensureFakeNode,
  kubeConfigForToken,
  serviceAccountToken,
  uniqueNamespace,
} from './cluster.js';

export const DEPLOY_DIR = join(findBaseDir(process.cwd()), 'deploy', 'executor');
export const FAKE_NODE = 'kwok-node-1';

/**
 * One test file's Kubernetes world: a fresh namespace with the shipped RBAC and NetworkPolicy
 * (deploy/executor), the worker and the monitor acting as their own ServiceAccounts, a KWOK
 * node, real Kafka and Mongo, a recorder of the events they publish, and a stand-in scheduler
 * (no kube-scheduler runs here) that binds new pods to the KWOK node unless told to hold them.
 */
export class K8sWorld {
  readonly logger: Logger = testLogger();
  readonly suffix = uniqueSuffix();
  settings!: Settings;
  namespace = '';
  kafka!: Kafka;
  catalog!: PlatformEventCatalog;
  mongo!: MongoConnection;
  executions!: ExecutionRepository;
  producer!: EventProducer<PlatformEventDefinitions>;
  admin!: KafkaAdminComponent;
  events!: ExecutionEvents;
  workerApis!: KubeApis;
  monitorApis!: KubeApis;
  manager!: KubernetesPodManager;
  monitor: PodMonitor | null = null;
  readonly adminCore = adminKubeConfig().makeApiClient(CoreV1Api);
  recorder!: EventRecorder;
  /** Pods the stand-in scheduler leaves unbound. */
  readonly hold = new Set<string>();
  private scheduling: NodeJS.Timeout | undefined;

  async start(env: Record<string, string> = {}): Promise<void> {
    this.namespace = await uniqueNamespace('exec', { restricted: false });
    this.settings = testSettings({
      INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `k-${this.suffix}.`,
      INTEGR8SCODE_KAFKA_CONSUMER_GROUP_ID: `k8s-${this.suffix}`,
      INTEGR8SCODE_EXECUTOR_BACKEND: 'kubernetes',
      INTEGR8SCODE_K8S_NAMESPACE: this.namespace,
      INTEGR8SCODE_K8S_UNSCHEDULABLE_TIMEOUT_SECONDS: '2',
      ...env,
    });
    await ensureFakeNode(FAKE_NODE);
    await applyManifests([join(DEPLOY_DIR, 'rbac.yaml'), join(DEPLOY_DIR, 'networkpolicy.yaml')], {
      namespace: this.namespace,
    });
    this.workerApis = kubeApis(
      kubeConfigForToken(await serviceAccountToken(this.namespace, 'integr8scode-k8s-worker')),
    );
    this.monitorApis = kubeApis(
      kubeConfigForToken(await serviceAccountToken(this.namespace, 'integr8scode-pod-monitor')),
    );
    // The install-time step, as its own account: the worker only checks the namespace at start.
    await hardenExecutorNamespace(
      kubeApis(kubeConfigForToken(await serviceAccountToken(this.namespace, 'integr8scode-executor-setup'))),
      this.namespace,
      this.logger,
    );

    this.kafka = createKafka(this.settings, this.logger);
    this.catalog = createPlatformCatalog(this.settings.KAFKA_TOPIC_PREFIX);
    this.mongo = new MongoConnection({
      url: this.settings.MONGODB_URL,
      dbName: `it_k8s_${this.suffix}`,
      logger: this.logger,
    });
    this.executions = new ExecutionRepository(this.mongo);
    this.producer = new EventProducer({ kafka: this.kafka, catalog: this.catalog, logger: this.logger });
    this.admin = new KafkaAdminComponent(this.kafka, {
      topics: this.catalog.topics(),
      settings: this.settings,
      logger: this.logger,
    });
    await Promise.all([this.mongo.start(), this.admin.start(), this.producer.start()]);
    this.events = new ExecutionEvents(this.producer, this.catalog, {
      serviceName: 'test',
      serviceVersion: '0',
    });
    this.recorder = new EventRecorder({
      kafka: this.kafka,
      catalog: this.catalog,
      types: [...RUN_EVENT_TYPES, 'pod_created', 'pod_scheduled', 'pod_deleted'],
      timeoutMs: 20_000,
    });
    await this.recorder.start();
    this.manager = new KubernetesPodManager({
      kafka: this.kafka,
      catalog: this.catalog,
      producer: this.producer,
      events: this.events,
      apis: this.workerApis,
      runtimes: parseRuntimeImages(this.settings.K8S_RUNTIME_IMAGES),
      podConfig: podSpecConfigOf(this.settings),
      executions: this.executions,
      settings: this.settings,
      logger: this.logger,
      fetchMaxWaitMs: 100,
    });
    await this.manager.start();
    await this.startMonitor();
    this.scheduling = setInterval(() => void this.bindPending().catch(() => undefined), 100);
  }

  newMonitor(): PodMonitor {
    return new PodMonitor({
      apis: this.monitorApis,
      namespace: this.namespace,
      events: this.events,
      executions: this.executions,
      observe: observeOptionsOf(this.settings),
      reconcileIntervalMs: 1000,
      logger: this.logger,
      logDrainMs: 3000,
      logRetryMs: 200,
      vanishedAfterMs: 1000,
      orphanAgeMs: 60_000,
    });
  }

  async startMonitor(): Promise<PodMonitor> {
    this.monitor = this.newMonitor();
    await this.monitor.start();
    return this.monitor;
  }

  async stop(): Promise<void> {
    clearInterval(this.scheduling);
    await this.monitor?.stop();
    await this.manager?.stop();
    await this.recorder?.stop();
    await this.producer?.stop();
    await this.admin?.stop();
    await this.mongo?.connection.dropDatabase().catch(() => undefined);
    await this.mongo?.stop();
  }

  /** The execution record as the API and saga would have left it. */
  async createExecution(
    script = 'print("hi")\n',
    status: ExecutionStatus = 'scheduled',
    at = new Date(),
  ): Promise<Execution> {
    const execution = executionFixture(
      { id: `e-${uniqueSuffix()}-${uniqueSuffix()}`, lang: 'python', langVersion: '3.12', script, status },
      at,
    );
    await this.executions.create(execution);
    return execution;
  }

  async sendCreatePod(execution: Execution): Promise<void> {
    await this.events.publish(
      this.events.build(
        'create_pod_command',
        execution.id,
        createPodCommandPayload(requestPayload(execution)),
        execution.userId,
      ),
    );
  }

  async sendDeletePod(executionId: string, reason = 'user cancelled'): Promise<void> {
    await this.events.publish(
      this.events.build('delete_pod_command', executionId, {
        execution_id: executionId,
        saga_id: executionId,
        reason,
      }),
    );
  }

  async pod(name: string): Promise<V1Pod | null> {
    try {
      return await this.adminCore.readNamespacedPod({ name, namespace: this.namespace });
    } catch {
      return null;
    }
  }

  /** What kube-scheduler would do: bind each new executor pod to the KWOK node. */
  private async bindPending(): Promise<void> {
    const list = await this.adminCore.listNamespacedPod({
      namespace: this.namespace,
      labelSelector: EXECUTOR_SELECTOR,
    });
    for (const pod of list.items) {
      const name = pod.metadata?.name;
      if (!name || pod.spec?.nodeName || this.hold.has(name) || pod.metadata?.deletionTimestamp) continue;
      await this.adminCore
        .createNamespacedPodBinding({
          name,
          namespace: this.namespace,
          body: {
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name },
            target: { apiVersion: 'v1', kind: 'Node', name: FAKE_NODE },
          },
        })
        .catch(() => undefined);
    }
  }
}
