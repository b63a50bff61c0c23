/**
 * Runs typed event handlers on Kafka topics, at least once. This module holds the consumer's
 * lifecycle, its kafkajs wiring, its offset commits and the ordered batch loop; what happens to one
 * message (validation, handler, retries, dead letters) is in message-processor.ts, and the
 * unordered mode (`maxInFlight` set) in unordered-dispatcher.ts.
 *
 * Commits. Only the offset of a message whose handler returned `done`, or that was written to the
 * dead-letter topic (failed validation, `invalid` outcome, retries exhausted), is committed, and a
 * partition's messages are handled in order, so a commit never passes an unfinished message. A
 * message whose backoff wait was cut short by stop(), or whose dead-letter write failed, stays
 * unresolved: kafkajs fetches again from the first unresolved offset, so it is delivered again
 * (verified in test/kafka/kafkajs-refetch.test.ts). kafkajs runs with `autoCommit: false` (its
 * autoCommit sends an OffsetCommit after every eachBatch call, before the next fetch); this runner
 * commits through an OffsetCommitter: one OffsetCommit in flight at a time, carrying the latest
 * handled offset of every partition that moved since the previous one.
 * - KAFKA_ENABLE_AUTO_COMMIT=true: in the background, not awaited by eachBatch, at most once per
 *   KAFKA_AUTO_COMMIT_INTERVAL_MS, within about one interval after a message was handled (plus a
 *   commit still in flight); the Java client's enable.auto.commit with auto.commit.interval.ms.
 *   Default 200 ms: at most 5 commit round trips a second per consumer however many events,
 *   against redelivering at most ~200 ms of handled messages after a crash.
 * - KAFKA_ENABLE_AUTO_COMMIT=false: awaited at the end of each eachBatch call, including the call
 *   cut short by stop().
 * - In both modes also awaited before a retry backoff wait (a message being retried does not hold
 *   back the commits of the messages before it; a failure there is only logged) and by stop()
 *   before leaving the group; and, best effort, when kafkajs starts rejoining for a rebalance.
 * Rebalances. A commit refused because this member's generation is over (rebalance in progress,
 * illegal generation, unknown member) is dropped with a debug log: the partition's next owner gets
 * those messages again. Offsets of partitions a rejoin (GROUP_JOIN) took away are dropped, never
 * committed later. Other commit failures keep the offsets for the next commit (background: after
 * the interval; awaited commits throw, as kafkajs' own commits would).
 * So a crash delivers again what was handled since the last commit: up to about one interval of
 * messages with auto commit, the current batch without; handlers must be idempotent by event_id.
 * The unordered mode commits each partition's finished prefix instead (see unordered-dispatcher.ts).
 *
 * Batches. eachBatch (eachBatchAutoResolve off) handles at most KAFKA_MAX_POLL_RECORDS messages
 * per call and returns; the rest of the fetched batch is fetched again, never skipped.
 * Messages of one partition are handled one at a time in offset order; up to
 * `partitionsConsumedConcurrently` partitions run at once.
 *
 * stop(): abort the handlers' signal (backoff waits end at once; their message is not committed),
 * commit what finished, let kafkajs finish the in-flight eachBatch call (which commits what it
 * finished), leave the group and disconnect, all within `stopTimeoutMs`. In unordered mode it first
 * pauses fetching and waits for the background handlings before that commit.
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { EventCatalog, EventDefinitions } from '../../events/catalog.js';
import type { Settings } from '../../settings/settings.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../logging/logger.js';
import type { DeadLetterSink } from './dead-letter.js';
import type { AnyEventHandler, EventHandlers } from './handler.js';
import { whileHeartbeating } from './heartbeat.js';
import { MessageProcessor } from './message-processor.js';
import { nextOffsetAfter, OffsetCommitter } from './offset-committer.js';
import { UnorderedDispatcher } from './unordered-dispatcher.js';

export type ConsumerRunnerSettings = Pick<
  Settings,
  | 'KAFKA_CONSUMER_GROUP_ID'
  | 'KAFKA_AUTO_OFFSET_RESET'
  | 'KAFKA_ENABLE_AUTO_COMMIT'
  | 'KAFKA_AUTO_COMMIT_INTERVAL_MS'
  | 'KAFKA_SESSION_TIMEOUT_MS'
  | 'KAFKA_HEARTBEAT_INTERVAL_MS'
  | 'KAFKA_MAX_POLL_RECORDS'
  | 'KAFKA_CONSUMER_MAX_ATTEMPTS'
  | 'KAFKA_CONSUMER_RETRY_BASE_MS'
  | 'KAFKA_CONSUMER_RETRY_MAX_MS'
  | 'KAFKA_TOPIC_PREFIX'
  | 'KAFKA_DLQ_TOPIC'
>;

export interface ConsumerRunnerOptions<D extends EventDefinitions> {
  kafka: Kafka;
  catalog: EventCatalog<D>;
  settings: ConsumerRunnerSettings;
  /** The runner subscribes to the topics of exactly these event types. */
  handlers: EventHandlers<D>;
  logger: Logger;
  /** Writes dead letters; the process's EventProducer (stop this runner before it). */
  producer: DeadLetterSink;
  /** Default: KAFKA_CONSUMER_GROUP_ID. */
  groupId?: string;
  /** Default 1. */
  partitionsConsumedConcurrently?: number;
  /** Upper bound of stop(). Default 30 s. */
  stopTimeoutMs?: number;
  /** Longest a fetch waits for new messages; stop() may wait this long for it. Default 5 s (kafkajs default). */
  fetchMaxWaitMs?: number;
  /**
   * Unordered mode: handle up to this many messages at once, across all partitions of this runner
   * and regardless of their order (see unordered-dispatcher.ts). Default: ordered, one at a time per
   * partition.
   */
  maxInFlight?: number;
}

interface Session<D extends EventDefinitions> {
  consumer: Consumer;
  abort: AbortController;
  committer: OffsetCommitter;
  /** Set in unordered mode. */
  unordered: UnorderedDispatcher<D> | undefined;
}

export class ConsumerRunner<D extends EventDefinitions> {
  readonly name: string;
  readonly groupId: string;
  private readonly kafka: Kafka;
  private readonly settings: ConsumerRunnerSettings;
  private readonly logger: Logger;
  private readonly topics: readonly string[];
  private readonly processor: MessageProcessor<D>;
  private readonly partitionsConsumedConcurrently: number;
  private readonly stopTimeoutMs: number;
  private readonly fetchMaxWaitMs: number;
  private readonly maxInFlight: number | undefined;
  private starting: Promise<Session<D>> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: ConsumerRunnerOptions<D>) {
    this.kafka = options.kafka;
    this.settings = options.settings;
    this.groupId = options.groupId ?? options.settings.KAFKA_CONSUMER_GROUP_ID;
    this.name = `consumer:${this.groupId}`;
    this.partitionsConsumedConcurrently = options.partitionsConsumedConcurrently ?? 1;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
    this.fetchMaxWaitMs = options.fetchMaxWaitMs ?? 5_000;
    const { maxInFlight } = options;
    if (maxInFlight !== undefined && (!Number.isInteger(maxInFlight) || maxInFlight < 1)) {
      throw new AppError('internal', `maxInFlight must be a positive integer, got ${maxInFlight}`);
    }
    this.maxInFlight = maxInFlight;

    const { catalog } = options;
    const handlers = new Map<string, AnyEventHandler<D>>();
    const topics: string[] = [];
    for (const [type, handler] of Object.entries(options.handlers)) {
      if (!catalog.has(type)) {
        throw new AppError('internal', `handler for "${type}", which is not in the event catalog`);
      }
      if (handler === undefined) continue;
      // A handler only ever receives events whose event_type matched its key (checked in MessageProcessor).
      handlers.set(type, handler as AnyEventHandler<D>);
      topics.push(catalog.topicFor(type));
    }
    if (handlers.size === 0) throw new AppError('internal', 'ConsumerRunner needs at least one handler');
    this.topics = topics;
    this.logger = options.logger.child({ component: 'consumer-runner', group_id: this.groupId });
    this.processor = new MessageProcessor({
      catalog,
      settings: options.settings,
      handlers,
      producer: options.producer,
      groupId: this.groupId,
      logger: this.logger,
    });
  }

  async start(): Promise<void> {
    // A restart waits for the previous session to have left the group.
    this.starting ??= Promise.resolve(this.stopping)
      .then(() => this.connect())
      .catch((err: unknown) => {
        this.starting = undefined;
        throw new AppError('dependency_unavailable', `Kafka consumer ${this.groupId} could not start`, {
          cause: err,
        });
      });
    await this.starting;
  }

  async stop(): Promise<void> {
    const starting = this.starting;
    if (starting === undefined) return this.stopping;
    this.starting = undefined;
    this.stopping = this.shutdown(starting).finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  private async connect(): Promise<Session<D>> {
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: this.settings.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: this.settings.KAFKA_HEARTBEAT_INTERVAL_MS,
      maxWaitTimeInMs: this.fetchMaxWaitMs,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.logger.error(
        { err: event.payload.error, restart: event.payload.restart },
        'Kafka consumer crashed',
      );
    });
    const abort = new AbortController();
    const committer = new OffsetCommitter({
      backgroundIntervalMs: this.settings.KAFKA_ENABLE_AUTO_COMMIT
        ? this.settings.KAFKA_AUTO_COMMIT_INTERVAL_MS
        : undefined,
      logger: this.logger,
    });
    const unordered =
      this.maxInFlight === undefined
        ? undefined
        : new UnorderedDispatcher({
            maxInFlight: this.maxInFlight,
            processor: this.processor,
            committer,
            signal: abort.signal,
            settings: this.settings,
            logger: this.logger,
          });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      committer.assign(event.payload.memberAssignment);
      unordered?.rejoined();
    });
    // Emitted before kafkajs rejoins: offsets committed now still count for the partitions being given up.
    consumer.on(consumer.events.REBALANCING, () => {
      committer.flush().catch((err: unknown) => {
        this.logger.debug(
          { err },
          'offset commit before a rebalance failed; those messages will be delivered again',
        );
      });
    });
    try {
      await consumer.connect();
      await consumer.subscribe({
        topics: [...this.topics],
        fromBeginning: this.settings.KAFKA_AUTO_OFFSET_RESET === 'earliest',
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.partitionsConsumedConcurrently,
        eachBatch: (payload) =>
          unordered === undefined
            ? this.handleBatch(payload, abort.signal, committer)
            : unordered.dispatchBatch(payload),
      });
    } catch (err) {
      committer.close();
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
    this.logger.info({ topics: this.topics, max_in_flight: this.maxInFlight }, 'consumer started');
    return { consumer, abort, committer, unordered };
  }

  private async shutdown(starting: Promise<Session<D>>): Promise<void> {
    const session = await starting.catch(() => undefined);
    if (session === undefined) return;
    this.logger.info('consumer stopping');
    const { unordered } = session;
    if (unordered !== undefined) {
      // No more fetches while the handlers finish (the group is left only after them).
      try {
        session.consumer.pause(this.topics.map((topic) => ({ topic })));
      } catch (err) {
        this.logger.debug({ err }, 'pausing the consumer on stop failed');
      }
    }
    session.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.stopTimeoutMs);
    });
    const stopped = async () => {
      if (unordered !== undefined) await unordered.drain();
      // Offsets handled while no eachBatch call runs; kafkajs leaves the group right after the last call ends.
      await session.committer.flush().catch((err: unknown) => {
        this.logger.error(
          { err },
          'offset commit on stop failed; messages since the last commit will be delivered again',
        );
      });
      await session.consumer.disconnect();
      return 'stopped' as const;
    };
    try {
      const result = await Promise.race([stopped(), timedOut]);
      if (result === 'timeout') {
        this.logger.error(
          { timeout_ms: this.stopTimeoutMs },
          'consumer did not stop in time; its uncommitted messages will be delivered again',
        );
      } else {
        this.logger.info('consumer stopped');
      }
    } catch (err) {
      this.logger.error({ err }, 'consumer failed to disconnect cleanly');
    } finally {
      clearTimeout(timer);
      session.committer.close();
    }
  }

  private async handleBatch(
    payload: EachBatchPayload,
    signal: AbortSignal,
    committer: OffsetCommitter,
  ): Promise<void> {
    const { batch } = payload;
    const heartbeat = () => payload.heartbeat();
    // Not consumer.commitOffsets(): it does nothing once kafkajs is stopping, and stop() commits then.
    // The payload's function sends the OffsetCommit with the group's current generation, also
    // after this eachBatch call has returned (kafkajs 2.2.4 runner.js processEachBatch).
    committer.useCommit((offsets) => payload.commitOffsetsIfNecessary(offsets));
    const commitFinished = () => committer.flush();
    try {
      for (const message of batch.messages.slice(0, this.settings.KAFKA_MAX_POLL_RECORDS)) {
        if (!payload.isRunning() || payload.isStale() || signal.aborted) break;
        const location = { topic: batch.topic, partition: batch.partition, offset: message.offset };
        const disposition = await whileHeartbeating(
          heartbeat,
          { intervalMs: this.settings.KAFKA_HEARTBEAT_INTERVAL_MS, logger: this.logger },
          () => this.processor.process(location, message, { signal, commitFinished }),
        );
        if (disposition === 'keep') break;
        payload.resolveOffset(message.offset);
        committer.track(batch.topic, batch.partition, nextOffsetAfter(batch, message));
        await heartbeat();
      }
    } finally {
      const stopping = signal.aborted || !payload.isRunning();
      if (!this.settings.KAFKA_ENABLE_AUTO_COMMIT || stopping) await commitFinished();
    }
  }
}
