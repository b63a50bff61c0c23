import { Partitioners, type Admin, type Kafka } from 'kafkajs';
import {
  createPlatformCatalog,
  type ExecutionLimits,
  type PlatformEventCatalog,
  type PlatformEventDefinitions,
} from '../../src/events/definitions.js';
import type { Execution, ExecutionStatus } from '../../src/executions/execution.js';
import { ExecutionRepository } from '../../src/executions/execution-repository.js';
import { RunOutboxRepository } from '../../src/executions/run-outbox-repository.js';
import { createPodCommandPayload, requestPayload } from '../../src/executions/execution-events.js';
import { RuntimeDirectory } from '../../src/executions/runtime-directory.js';
import type { LocalExecutor } from '../../src/executor/local/local-executor.js';
import { KafkaAdminComponent } from '../../src/platform/kafka/admin-component.js';
import { createKafka } from '../../src/platform/kafka/client.js';
import { EventProducer } from '../../src/platform/kafka/producer.js';
import { ensureTopics } from '../../src/platform/kafka/topics.js';
import type { Logger } from '../../src/platform/logging/logger.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { RedisConnections } from '../../src/platform/redis/redis-connections.js';
import type { Settings } from '../../src/settings/settings.js';
import { ExecutorAdvertiser } from '../../src/worker/executor-advertiser.js';
import { createPodCommandPartitions } from '../../src/platform/event-platform.js';
import { PodManager } from '../../src/worker/pod-manager.js';
import { EventRecorder, RUN_EVENT_TYPES } from '../kafka/event-recorder.js';
import { testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

const MiB = 1024 * 1024;
export const LIMITS: ExecutionLimits = {
  wall_seconds: 10,
  cpu_seconds: 5,
  memory_bytes: 128 * MiB,
  max_processes: 64,
  max_file_bytes: 16 * MiB,
  max_output_bytes: 64 * 1024,
};

/** An execution record as the API and saga would have left it; `at` stamps every time field. */
export function executionFixture(
  fields: Pick<Execution, 'id' | 'lang' | 'langVersion' | 'script' | 'status'>,
  at = new Date(),
): Execution {
  return {
    userId: 'user-1',
    stdin: '',
    args: [],
    limits: LIMITS,
    priority: 'normal',
    requestPublished: true,
    outcome: null,
    createdAt: at,
    updatedAt: at,
    scheduledAt: at,
    startedAt: null,
    finishedAt: null,
    ...fields,
  };
}

/**
 * One test's worker world: own topic prefix, consumer group, database and advert key; an
 * in-process PodManager + ExecutorAdvertiser on a shared LocalExecutor; a recorder of every
 * execution_* event. The test itself stands in for the saga orchestrator: it inserts the
 * execution record and publishes create_pod_command / delete_pod_command.
 */
export class WorkerWorld {
  readonly settings: Settings;
  readonly logger: Logger = testLogger();
  readonly kafka: Kafka;
  readonly catalog: PlatformEventCatalog;
  readonly mongo: MongoConnection;
  readonly executions: ExecutionRepository;
  readonly runOutbox: RunOutboxRepository;
  readonly redis: RedisConnections;
  readonly directory: RuntimeDirectory;
  readonly recorder: EventRecorder;
  readonly producer: EventProducer<PlatformEventDefinitions>;
  readonly admin: KafkaAdminComponent;
  advertiser!: ExecutorAdvertiser;
  manager!: PodManager;
  private readonly suffix = uniqueSuffix();
  private rawAdmin: Admin | undefined;

  /** `env`: further INTEGR8SCODE_* overrides of this world's settings. */
  constructor(
    private readonly executor: LocalExecutor,
    env: Record<string, string> = {},
  ) {
    this.settings = testSettings({
      INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `w-${this.suffix}.`,
      INTEGR8SCODE_KAFKA_CONSUMER_GROUP_ID: `worker-${this.suffix}`,
      INTEGR8SCODE_MAX_CONCURRENT_EXECUTIONS: '2',
      ...env,
    });
    this.kafka = createKafka(this.settings, this.logger);
    this.catalog = createPlatformCatalog(this.settings.KAFKA_TOPIC_PREFIX);
    this.mongo = new MongoConnection({
      url: this.settings.MONGODB_URL,
      dbName: `it_worker_${this.suffix}`,
      logger: this.logger,
    });
    this.executions = new ExecutionRepository(this.mongo);
    this.runOutbox = new RunOutboxRepository(this.mongo);
    this.redis = new RedisConnections({
      host: this.settings.REDIS_HOST,
      port: this.settings.REDIS_PORT,
      db: this.settings.REDIS_DB,
      password: this.settings.REDIS_PASSWORD,
      maxConnections: 4,
      logger: this.logger,
    });
    this.directory = new RuntimeDirectory(() => this.redis.commands, {
      key: `test:executor:advert:${this.suffix}`,
      ttlSeconds: 30,
      cacheMs: 0,
    });
    this.recorder = new EventRecorder({
      kafka: this.kafka,
      catalog: this.catalog,
      types: RUN_EVENT_TYPES,
    });
    this.producer = new EventProducer({ kafka: this.kafka, catalog: this.catalog, logger: this.logger });
    this.admin = new KafkaAdminComponent(this.kafka, {
      topics: this.catalog.topics(),
      minPartitions: { [this.commandTopic]: createPodCommandPartitions(this.settings) },
      settings: this.settings,
      logger: this.logger,
    });
  }

  get commandTopic(): string {
    return this.catalog.topicFor('create_pod_command');
  }

  get commandGroup(): string {
    return this.settings.KAFKA_CONSUMER_GROUP_ID;
  }

  async start(): Promise<void> {
    this.rawAdmin = this.kafka.admin();
    await this.rawAdmin.connect();
    // Another process got there first and created the topics with the default partition count.
    await ensureTopics(this.rawAdmin, this.catalog.topics(), {
      partitions: this.settings.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: 1,
    });
    await Promise.all([this.mongo.start(), this.redis.start(), this.admin.start(), this.producer.start()]);
    await this.recorder.start();
    this.advertiser = new ExecutorAdvertiser({
      directory: this.directory,
      backend: this.executor,
      backendName: 'local',
      logger: this.logger,
    });
    this.manager = new PodManager({
      kafka: this.kafka,
      catalog: this.catalog,
      producer: this.producer,
      backend: this.executor,
      backendName: 'local',
      executions: this.executions,
      outbox: this.runOutbox,
      settings: this.settings,
      logger: this.logger,
      instanceId: `test-${this.suffix}`,
      fetchMaxWaitMs: 100,
    });
    await this.advertiser.start();
    await this.manager.start();
  }

  async stop(): Promise<void> {
    await this.manager?.stop();
    await this.advertiser?.stop();
    await this.recorder.stop();
    await this.producer.stop();
    await this.admin.stop();
    if (this.rawAdmin) {
      const topics = (await this.rawAdmin.listTopics()).filter((t) =>
        t.startsWith(this.settings.KAFKA_TOPIC_PREFIX),
      );
      await this.rawAdmin.deleteTopics({ topics }).catch(() => undefined);
      await this.rawAdmin.disconnect();
    }
    await this.redis.stop();
    await this.mongo.connection.dropDatabase().catch(() => undefined);
    await this.mongo.stop();
  }

  async partitionCount(topic: string): Promise<number> {
    const { topics } = await this.connectedAdmin().fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  }

  /** Inserts the execution record as the API would have. */
  async createExecution(
    lang: string,
    version: string,
    script: string,
    status: ExecutionStatus = 'scheduled',
  ): Promise<Execution> {
    return this.createExecutionWithId(`exec-${uniqueSuffix()}`, lang, version, script, status);
  }

  async createExecutionWithId(
    id: string,
    lang: string,
    version: string,
    script: string,
    status: ExecutionStatus = 'scheduled',
  ): Promise<Execution> {
    const execution = executionFixture({ id, lang, langVersion: version, script, status });
    await this.executions.create(execution);
    return execution;
  }

  /** What the saga orchestrator would publish for a scheduled execution. */
  async sendCreatePod(execution: Execution): Promise<void> {
    await this.producer.publish(
      this.catalog.build(
        'create_pod_command',
        execution.id,
        createPodCommandPayload(requestPayload(execution)),
        {
          service_name: 'test-saga',
          service_version: '0',
          user_id: execution.userId,
          correlation_id: execution.id,
        },
      ),
    );
  }

  async sendDeletePod(executionId: string): Promise<void> {
    await this.producer.publish(
      this.catalog.build(
        'delete_pod_command',
        executionId,
        { execution_id: executionId, saga_id: executionId, reason: 'user cancelled' },
        { service_name: 'test-saga', service_version: '0', correlation_id: executionId },
      ),
    );
  }

  /** Sum of the commands group's committed offsets on create_pod_command. */
  async committedCommands(): Promise<number> {
    const [result] = await this.connectedAdmin().fetchOffsets({
      groupId: this.commandGroup,
      topics: [this.commandTopic],
    });
    return (result?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  }

  /** `count` execution ids whose create_pod_command lands on one partition (the producer's partitioner). */
  async idsOnOnePartition(count: number): Promise<string[]> {
    const partitions = await this.partitionCount(this.commandTopic);
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionOf = (key: string) =>
      partitioner({
        topic: this.commandTopic,
        partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({
          partitionErrorCode: 0,
          partitionId,
          leader: 0,
          replicas: [0],
          isr: [0],
        })),
        message: { key, value: null },
      });
    const ids = [`exec-${uniqueSuffix()}`];
    const partition = partitionOf(ids[0]!);
    while (ids.length < count) {
      const candidate = `exec-${uniqueSuffix()}`;
      if (partitionOf(candidate) === partition) ids.push(candidate);
    }
    return ids;
  }

  private connectedAdmin(): Admin {
    if (!this.rawAdmin) throw new Error('WorkerWorld.start() was not called');
    return this.rawAdmin;
  }
}
