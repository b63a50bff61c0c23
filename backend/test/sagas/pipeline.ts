import type { Admin, Consumer, Kafka } from 'kafkajs';
import {
  createPlatformCatalog,
  type ExecutionPriority,
  type PlatformEvent,
  type PlatformEventCatalog,
  type PlatformEventDefinitions,
  type PlatformEventOf,
  type PlatformEventType,
} from '../../src/events/definitions.js';
import type { Execution } from '../../src/executions/execution.js';
import { ExecutionRepository } from '../../src/executions/execution-repository.js';
import { RunOutboxRepository } from '../../src/executions/run-outbox-repository.js';
import { createKafka } from '../../src/platform/kafka/client.js';
import { ConsumerRunner } from '../../src/platform/kafka/consumer-runner.js';
import { outcome } from '../../src/platform/kafka/handler.js';
import { EventProducer } from '../../src/platform/kafka/producer.js';
import { decodeHeaders } from '../../src/platform/kafka/headers.js';
import { deadLetterTopic, ensureCatalogTopics } from '../../src/platform/kafka/topics.js';
import type { Logger } from '../../src/platform/logging/logger.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { RedisConnections } from '../../src/platform/redis/redis-connections.js';
import { ExecutionQueue } from '../../src/queue/execution-queue.js';
import { createResultProcessor } from '../../src/results/result-processor.js';
import { ExecutionEvents, requestPayload } from '../../src/executions/execution-events.js';
import { SagaOrchestrator } from '../../src/sagas/saga-orchestrator.js';
import { SagaRepository } from '../../src/sagas/saga-repository.js';
import type { Settings } from '../../src/settings/settings.js';
import { eventually, testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

/**
 * How the worker double answers a create_pod_command, chosen by the first line of the script:
 * `# answer` (default) starts and completes at once; `# slow` completes ~150 ms later; `# hold`
 * starts and waits for finish() or a delete_pod_command; `# silent` never answers.
 */
export type WorkerMode = 'answer' | 'slow' | 'hold' | 'silent';

export const HELLO_STDOUT = Buffer.from([0x68, 0x69, 0x0a, 0x00, 0xff, 0xfe]);

/**
 * TEST DOUBLE of the k8s worker (the one part of the pipeline that is not real here): consumes
 * create_pod_command / delete_pod_command in its own group and publishes execution_started and a
 * terminal event, as the real worker would after running the sandbox.
 */
export class WorkerDouble {
  readonly commands: Array<PlatformEventOf<'create_pod_command'>> = [];
  readonly deletes: Array<PlatformEventOf<'delete_pod_command'>> = [];
  private readonly outstanding = new Set<string>();
  maxOutstanding = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly runner: ConsumerRunner<PlatformEventDefinitions>;

  constructor(private readonly world: PipelineWorld) {
    this.runner = new ConsumerRunner({
      kafka: world.kafka,
      catalog: world.catalog,
      settings: world.settings,
      logger: world.logger,
      producer: world.producer,
      groupId: `worker-double-${world.suffix}`,
      fetchMaxWaitMs: 100,
      stopTimeoutMs: 10_000,
      handlers: {
        create_pod_command: async (event) => {
          const id = event.payload.execution_id;
          this.commands.push(event);
          this.outstanding.add(id);
          this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding.size);
          const mode = modeOf(event.payload.script);
          if (mode === 'silent') return outcome.done();
          await world.events.publish(
            world.events.build('execution_started', id, { execution_id: id, backend: 'double' }),
          );
          if (mode === 'answer') await this.complete(id);
          if (mode === 'slow') {
            // The double's sandbox "runs" for a while; the handler must not block other commands.
            const timer = setTimeout(() => {
              this.timers.delete(timer);
              void this.complete(id);
            }, 150);
            this.timers.add(timer);
          }
          return outcome.done();
        },
        delete_pod_command: async (event) => {
          this.deletes.push(event);
          const id = event.payload.execution_id;
          if (this.outstanding.has(id)) await this.terminal(id, 'cancelled', event.payload.reason);
          return outcome.done();
        },
      },
    });
  }

  /** Executions commanded, in first-arrival order; a redelivered command is counted once. */
  commandIds(): string[] {
    return [...new Set(this.commands.map((c) => c.payload.execution_id))];
  }

  /** Ends a `hold` execution as completed. */
  async finish(id: string): Promise<void> {
    await this.complete(id);
  }

  private async complete(id: string): Promise<void> {
    await this.terminal(id, 'completed', null);
  }

  private async terminal(
    id: string,
    verdict: 'completed' | 'cancelled',
    reason: string | null,
  ): Promise<void> {
    const completed = verdict === 'completed';
    // Counted done before the event leaves: the orchestrator may free the slot as soon as it is out.
    this.outstanding.delete(id);
    await this.world.events.publish(
      this.world.events.build(completed ? 'execution_completed' : 'execution_cancelled', id, {
        execution_id: id,
        verdict,
        exit_code: completed ? 0 : null,
        signal: completed ? null : 'SIGKILL',
        stdout_b64: completed ? HELLO_STDOUT.toString('base64') : '',
        stderr_b64: '',
        output_truncated: false,
        output_chunks: 0,
        resource_usage: { wall_seconds: 0.01, cpu_seconds: 0.005, peak_memory_bytes: 1024 },
        reason,
      }),
    );
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
  }
}

function modeOf(script: string): WorkerMode {
  const first = script.split('\n')[0] ?? '';
  const match = /^# (answer|slow|hold|silent)$/.exec(first);
  return (match?.[1] as WorkerMode | undefined) ?? 'answer';
}

export interface WorldParts {
  orchestrator?: boolean;
  resultProcessor?: boolean;
  worker?: boolean;
}

/**
 * One test's private pipeline: own topic prefix, consumer groups, database and Redis key prefix,
 * with the real saga orchestrator and result processor built in process.
 */
export class PipelineWorld {
  readonly suffix = uniqueSuffix();
  readonly settings: Settings;
  readonly logger: Logger = testLogger();
  readonly kafka: Kafka;
  readonly catalog: PlatformEventCatalog;
  readonly mongo: MongoConnection;
  readonly redis: RedisConnections;
  readonly executions: ExecutionRepository;
  readonly sagas: SagaRepository;
  readonly runOutbox: RunOutboxRepository;
  readonly producer: EventProducer<PlatformEventDefinitions>;
  /** Publishes as the API (and the worker double) would. */
  readonly events: ExecutionEvents;
  readonly recorded: PlatformEvent[] = [];
  /** Headers of every record written to this world's dead-letter topic. */
  readonly deadLettered: Array<Record<string, string>> = [];
  readonly queuePrefix: string;
  readonly orchestratorGroup: string;
  readonly resultGroup: string;
  orchestrator: SagaOrchestrator | undefined;
  resultProcessor: ConsumerRunner<PlatformEventDefinitions> | undefined;
  worker: WorkerDouble | undefined;
  private admin: Admin | undefined;
  private recorder: Consumer | undefined;
  private queueView: ExecutionQueue | undefined;

  constructor(env: Record<string, string> = {}) {
    this.settings = testSettings({
      INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `t-${this.suffix}.`,
      INTEGR8SCODE_KAFKA_CONSUMER_GROUP_ID: `g-${this.suffix}`,
      ...env,
    });
    this.kafka = createKafka(this.settings, this.logger);
    this.catalog = createPlatformCatalog(this.settings.KAFKA_TOPIC_PREFIX);
    this.mongo = new MongoConnection({
      url: this.settings.MONGODB_URL,
      dbName: `it_${this.suffix}`,
      logger: this.logger,
    });
    this.redis = new RedisConnections({
      host: this.settings.REDIS_HOST,
      port: this.settings.REDIS_PORT,
      db: this.settings.REDIS_DB,
      password: this.settings.REDIS_PASSWORD,
      maxConnections: 5,
      logger: this.logger,
    });
    this.executions = new ExecutionRepository(this.mongo);
    this.sagas = new SagaRepository(this.mongo);
    this.runOutbox = new RunOutboxRepository(this.mongo);
    this.producer = new EventProducer({ kafka: this.kafka, catalog: this.catalog, logger: this.logger });
    this.events = new ExecutionEvents(this.producer, this.catalog, {
      serviceName: 'it',
      serviceVersion: '0',
    });
    this.queuePrefix = `it-exec-${this.suffix}`;
    this.orchestratorGroup = `saga-${this.suffix}`;
    this.resultGroup = `results-${this.suffix}`;
  }

  async start(
    parts: WorldParts = { orchestrator: true, resultProcessor: true, worker: true },
  ): Promise<this> {
    await ensureCatalogTopics({
      kafka: this.kafka,
      catalog: this.catalog,
      settings: this.settings,
      logger: this.logger,
    });
    this.admin = this.kafka.admin();
    await this.admin.connect();
    await Promise.all([this.mongo.start(), this.redis.start(), this.producer.start()]);
    this.queueView = new ExecutionQueue(this.redis.commands, this.queuePrefix);

    const starting: Array<Promise<void>> = [this.startRecorder()];
    if (parts.resultProcessor) {
      this.resultProcessor = createResultProcessor({
        kafka: this.kafka,
        catalog: this.catalog,
        producer: this.producer,
        executions: this.executions,
        settings: this.settings,
        logger: this.logger,
        groupId: this.resultGroup,
        fetchMaxWaitMs: 100,
      });
      starting.push(this.resultProcessor.start());
    }
    if (parts.orchestrator) {
      this.orchestrator = new SagaOrchestrator({
        kafka: this.kafka,
        catalog: this.catalog,
        producer: this.producer,
        redis: this.redis,
        executions: this.executions,
        sagas: this.sagas,
        outbox: this.runOutbox,
        settings: this.settings,
        logger: this.logger,
        queueKeyPrefix: this.queuePrefix,
        groupId: this.orchestratorGroup,
        fetchMaxWaitMs: 100,
      });
      starting.push(this.orchestrator.start());
    }
    if (parts.worker) {
      this.worker = new WorkerDouble(this);
      starting.push(this.worker.runner.start());
    }
    await Promise.all(starting);
    return this;
  }

  get queue(): ExecutionQueue {
    if (this.queueView === undefined) throw new Error('world not started');
    return this.queueView;
  }

  /** Stores the execution as the API does; `publish: false` plays an API that died before publishing. */
  async submit(
    options: {
      mode?: WorkerMode;
      priority?: ExecutionPriority;
      publish?: boolean;
      /** A real script for the real worker; the worker double only reads `mode`. */
      lang?: string;
      langVersion?: string;
      script?: string;
    } = {},
  ): Promise<Execution> {
    const now = new Date();
    const execution: Execution = {
      id: `exec-${uniqueSuffix()}`,
      userId: 'user-1',
      lang: options.lang ?? 'python',
      langVersion: options.langVersion ?? '3.12',
      script: options.script ?? `# ${options.mode ?? 'answer'}\nprint("hi")\n`,
      stdin: '',
      args: [],
      limits: {
        wall_seconds: 5,
        cpu_seconds: 3,
        memory_bytes: 128 << 20,
        max_processes: 32,
        max_file_bytes: 1 << 20,
        max_output_bytes: 1 << 16,
      },
      priority: options.priority ?? 'normal',
      status: 'queued',
      requestPublished: false,
      outcome: null,
      createdAt: now,
      updatedAt: now,
      scheduledAt: null,
      startedAt: null,
      finishedAt: null,
    };
    await this.executions.create(execution);
    if (options.publish ?? true) {
      await this.events.publish(this.requestOf(execution));
      await this.executions.markRequestPublished(execution.id);
    }
    return execution;
  }

  requestOf(execution: Execution): PlatformEventOf<'execution_requested'> {
    return this.events.build(
      'execution_requested',
      execution.id,
      requestPayload(execution),
      execution.userId,
    );
  }

  seen<K extends PlatformEventType>(type: K, executionId?: string): Array<PlatformEventOf<K>> {
    // The filter keeps only events of type K; TypeScript cannot narrow a union by a generic key.
    return this.recorded.filter(
      (e) => e.event_type === type && (executionId === undefined || e.aggregate_id === executionId),
    ) as unknown as Array<PlatformEventOf<K>>;
  }

  async waitForStatus(id: string, status: Execution['status'], timeoutMs = 15_000): Promise<Execution> {
    return eventually(
      async () => {
        const execution = await this.executions.findById(id);
        return execution?.status === status ? execution : undefined;
      },
      { what: `execution ${id} ${status}`, timeoutMs },
    );
  }

  /** Resolves once `groupId` has committed everything on the topics of `types`: nothing left to handle. */
  async waitDrained(groupId: string, types: readonly PlatformEventType[]): Promise<void> {
    const admin = this.admin;
    if (admin === undefined) throw new Error('world not started');
    await eventually(
      async () => {
        for (const type of types) {
          const topic = this.catalog.topicFor(type);
          const high = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
          for (const partition of high) {
            const done =
              committed?.partitions.find((p) => p.partition === partition.partition)?.offset ?? '-1';
            if (Number(partition.high) > 0 && Number(done) < Number(partition.high)) return undefined;
          }
        }
        return true;
      },
      { what: `${groupId} to drain ${types.join(', ')}` },
    );
  }

  private async startRecorder(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: `rec-${this.suffix}`,
      sessionTimeout: this.settings.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: this.settings.KAFKA_HEARTBEAT_INTERVAL_MS,
      maxWaitTimeInMs: 100,
    });
    this.recorder = consumer;
    await consumer.connect();
    const dlq = deadLetterTopic(this.settings);
    await consumer.subscribe({ topics: [...this.catalog.topics(), dlq], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 4,
      eachMessage: ({ topic, message }) => {
        if (topic === dlq) {
          this.deadLettered.push(decodeHeaders(message.headers));
          return Promise.resolve();
        }
        const parsed = this.catalog.parse(JSON.parse(message.value?.toString('utf8') ?? 'null'));
        if (parsed.ok) this.recorded.push(parsed.event);
        return Promise.resolve();
      },
    });
  }

  async cleanup(): Promise<void> {
    this.worker?.stop();
    const stops = [this.orchestrator, this.resultProcessor, this.worker?.runner].map((c) => c?.stop());
    await Promise.allSettled([...stops, this.recorder?.disconnect()].map((p) => p ?? Promise.resolve()));
    await this.producer.stop().catch(() => undefined);
    if (this.redis.openConnections > 0) {
      const keys = await this.redis.commands.keys(`${this.queuePrefix}:*`).catch(() => [] as string[]);
      if (keys.length > 0) await this.redis.commands.del(...keys).catch(() => undefined);
    }
    await this.redis.stop();
    await this.mongo.connection.dropDatabase().catch(() => undefined);
    await this.mongo.stop();
    if (this.admin) {
      const topics = (await this.admin.listTopics()).filter((t) =>
        t.startsWith(this.settings.KAFKA_TOPIC_PREFIX),
      );
      await this.admin.deleteTopics({ topics }).catch(() => undefined);
      await this.admin.disconnect();
    }
  }
}
