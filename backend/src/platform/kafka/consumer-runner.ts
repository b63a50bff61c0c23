/**
 * Runs typed event handlers on Kafka topics, at least once.
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
 *   back the commits of the messages before it) and by stop() before leaving the group; and, best
 *   effort, when kafkajs starts rejoining for a rebalance.
 * Rebalances. A commit refused because this member's generation is over (rebalance in progress,
 * illegal generation, unknown member) is dropped with a debug log: the partition's next owner gets
 * those messages again. Offsets of partitions a rejoin (GROUP_JOIN) took away are dropped, never
 * committed later. Other commit failures keep the offsets for the next commit (background: after
 * the interval; awaited commits throw, as kafkajs' own commits would).
 * So a crash delivers again what was handled since the last commit: up to about one interval of
 * messages with auto commit, the current batch without; handlers must be idempotent by event_id.
 *
 * Batches. eachBatch (eachBatchAutoResolve off) handles at most KAFKA_MAX_POLL_RECORDS messages
 * per call and returns; the rest of the fetched batch is fetched again, never skipped.
 * Messages of one partition are handled one at a time in offset order; up to
 * `partitionsConsumedConcurrently` partitions run at once.
 *
 * Unordered mode (`maxInFlight` set). kafkajs fetches again only once every batch of a fetch is
 * handled, so in ordered mode one slow message holds back every partition of the consumer. In this
 * mode eachBatch waits (heartbeating) for one of `maxInFlight` slots, shared by all partitions of
 * the runner, then starts the message's handling in the background and resolves its offset at
 * once, so kafkajs fetches on; a partition's messages start in offset order but run and finish in
 * any order. Commits follow the same rules, except that each partition's committed offset is its
 * finished prefix (the offset of its first dispatched message that has not finished): it never
 * passes a running message, and messages finished after it are delivered again after a crash.
 * - KAFKA_ENABLE_AUTO_COMMIT=true: background commits as above.
 * - KAFKA_ENABLE_AUTO_COMMIT=false: a message whose end moves the finished prefix awaits the commit
 *   before giving its slot back (concurrent ends share one OffsetCommit).
 * `keep` (stop during a backoff wait; failed dead-letter write) leaves the message unfinished, so
 * its partition's commits stop before it until it is delivered again; while the runner is not
 * stopping, it is handled again at once (after the dead-letter pause) instead. A rejoin starts the
 * bookkeeping over: kafkajs fetches from the committed offsets again, handlings still running from
 * before no longer move commits, and a message fetched again while its earlier delivery still runs
 * here waits for that one instead of running twice at once (it holds a slot meanwhile).
 * stop() pauses fetching, aborts the signal, waits for every handling, commits the finished
 * prefixes, then leaves the group (all within `stopTimeoutMs`).
 *
 * Retries. `retry` outcomes (and thrown errors) are retried in process with exponential backoff
 * and jitter up to KAFKA_CONSUMER_MAX_ATTEMPTS, then dead-lettered with dlq_reason
 * `retries_exhausted`; `invalid` and messages failing validation are dead-lettered at once.
 *
 * stop(): abort the handlers' signal (backoff waits end at once; their message is not committed),
 * commit what finished, let kafkajs finish the in-flight eachBatch call (which commits what it
 * finished), leave the group and disconnect, all within `stopTimeoutMs`.
 */
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import {
  validationFailure,
  type AnyEventOf,
  type EventCatalog,
  type EventDefinitions,
  type EventParseResult,
} from '../../events/catalog.js';
import type { Settings } from '../../settings/settings.js';
import { AppError } from '../errors/app-error.js';
import { withCorrelation, type Logger } from '../logging/logger.js';
import { backoffDelay, sleepUnlessAborted, type BackoffPolicy } from './backoff.js';
import { deadLetterMessage, type DeadLetterReason, type DeadLetterSink } from './dead-letter.js';
import type { AnyEventHandler, EventHandlers, HandlerContext, HandlerOutcome } from './handler.js';
import { decodeHeaders } from './headers.js';
import { InFlightOffsets, PartitionOffsets, Slots } from './in-flight.js';
import { OffsetCommitter } from './offset-committer.js';
import { deadLetterTopic } from './topics.js';

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
   * and regardless of their order (see the header). Default: ordered, one at a time per partition.
   */
  maxInFlight?: number;
}

/** 'commit': resolve the offset. 'keep': leave it unresolved so the message is delivered again. */
type Disposition = 'commit' | 'keep';

interface Session {
  consumer: Consumer;
  abort: AbortController;
  committer: OffsetCommitter;
  /** Set in unordered mode. */
  unordered: Unordered | undefined;
}

/** A session's messages handled in the background (unordered mode). */
interface Unordered {
  slots: Slots;
  offsets: InFlightOffsets;
  /** Each message's handling (process() until it is not kept), by "topic\0partition\0offset". */
  running: Map<string, Promise<Disposition>>;
  /** Everything started in the background, including the commit after it; stop() waits for these. */
  tasks: Set<Promise<void>>;
}

interface MessageLocation {
  topic: string;
  partition: number;
  offset: string;
}

export class ConsumerRunner<D extends EventDefinitions> {
  readonly name: string;
  readonly groupId: string;
  private readonly kafka: Kafka;
  private readonly catalog: EventCatalog<D>;
  private readonly settings: ConsumerRunnerSettings;
  private readonly producer: DeadLetterSink;
  private readonly logger: Logger;
  private readonly handlers: ReadonlyMap<string, AnyEventHandler<D>>;
  private readonly topics: readonly string[];
  private readonly deadLetterTopic: string;
  private readonly backoff: BackoffPolicy;
  private readonly partitionsConsumedConcurrently: number;
  private readonly stopTimeoutMs: number;
  private readonly fetchMaxWaitMs: number;
  private readonly maxInFlight: number | undefined;
  private starting: Promise<Session> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: ConsumerRunnerOptions<D>) {
    this.kafka = options.kafka;
    this.catalog = options.catalog;
    this.settings = options.settings;
    this.producer = options.producer;
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
    this.deadLetterTopic = deadLetterTopic(options.settings);
    this.backoff = {
      baseMs: options.settings.KAFKA_CONSUMER_RETRY_BASE_MS,
      maxMs: options.settings.KAFKA_CONSUMER_RETRY_MAX_MS,
    };

    const handlers = new Map<string, AnyEventHandler<D>>();
    const topics: string[] = [];
    for (const [type, handler] of Object.entries(options.handlers)) {
      if (!this.catalog.has(type)) {
        throw new AppError('internal', `handler for "${type}", which is not in the event catalog`);
      }
      if (handler === undefined) continue;
      // A handler only ever receives events whose event_type matched its key (checked in decode()).
      handlers.set(type, handler as AnyEventHandler<D>);
      topics.push(this.catalog.topicFor(type));
    }
    if (handlers.size === 0) throw new AppError('internal', 'ConsumerRunner needs at least one handler');
    this.handlers = handlers;
    this.topics = topics;
    this.logger = options.logger.child({ component: 'consumer-runner', group_id: this.groupId });
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

  private async connect(): Promise<Session> {
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
    const unordered: Unordered | undefined =
      this.maxInFlight === undefined
        ? undefined
        : {
            slots: new Slots(this.maxInFlight),
            offsets: new InFlightOffsets(),
            running: new Map(),
            tasks: new Set(),
          };
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      committer.assign(event.payload.memberAssignment);
      unordered?.offsets.reset();
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
            : this.dispatchBatch(payload, abort.signal, committer, unordered),
      });
    } catch (err) {
      committer.close();
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
    this.logger.info({ topics: this.topics, max_in_flight: this.maxInFlight }, 'consumer started');
    return { consumer, abort, committer, unordered };
  }

  private async shutdown(starting: Promise<Session>): Promise<void> {
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
      if (unordered !== undefined) await drain(unordered.tasks);
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
    const lastMessage = batch.messages.at(-1);
    try {
      for (const message of batch.messages.slice(0, this.settings.KAFKA_MAX_POLL_RECORDS)) {
        if (!payload.isRunning() || payload.isStale() || signal.aborted) break;
        const location = { topic: batch.topic, partition: batch.partition, offset: message.offset };
        const disposition = await this.whileHeartbeating(heartbeat, () =>
          this.process(location, message, { signal, commitFinished }),
        );
        if (disposition === 'keep') break;
        payload.resolveOffset(message.offset);
        // Like kafkajs' resolveOffset: past the batch's last message also skips trailing control records.
        const handled = message === lastMessage ? batch.lastOffset() : message.offset;
        committer.track(batch.topic, batch.partition, String(BigInt(handled) + 1n));
        await heartbeat();
      }
    } finally {
      const stopping = signal.aborted || !payload.isRunning();
      if (!this.settings.KAFKA_ENABLE_AUTO_COMMIT || stopping) await commitFinished();
    }
  }

  /**
   * Unordered mode: hands each message to a background handling as soon as a slot is free and
   * resolves it at once, so kafkajs fetches on while handlers run.
   */
  private async dispatchBatch(
    payload: EachBatchPayload,
    signal: AbortSignal,
    committer: OffsetCommitter,
    unordered: Unordered,
  ): Promise<void> {
    const { batch } = payload;
    const heartbeat = () => payload.heartbeat();
    committer.useCommit((offsets) => payload.commitOffsetsIfNecessary(offsets));
    // Taken once: a rejoin while this call runs detaches it, and kafkajs fetches these messages again.
    const offsets = unordered.offsets.partition(batch.topic, batch.partition);
    const canDispatch = () => payload.isRunning() && !payload.isStale() && !signal.aborted && offsets.current;
    const lastMessage = batch.messages.at(-1);
    for (const message of batch.messages.slice(0, this.settings.KAFKA_MAX_POLL_RECORDS)) {
      if (!canDispatch()) break;
      const acquired = await this.whileHeartbeating(heartbeat, () => unordered.slots.acquire(signal));
      if (!acquired) break;
      if (!canDispatch()) {
        unordered.slots.release();
        break;
      }
      // Like kafkajs' resolveOffset: past the batch's last message also skips trailing control records.
      const handled = message === lastMessage ? batch.lastOffset() : message.offset;
      offsets.dispatched(message.offset, String(BigInt(handled) + 1n));
      payload.resolveOffset(message.offset);
      const location = { topic: batch.topic, partition: batch.partition, offset: message.offset };
      this.handleInBackground(unordered, offsets, location, message, { signal, committer });
    }
  }

  /**
   * Handles one message in unordered mode while it holds a slot: process() until its disposition
   * is `commit`, then hands the partition's finished prefix, if it moved, to the committer.
   */
  private handleInBackground(
    unordered: Unordered,
    offsets: PartitionOffsets,
    location: MessageLocation,
    message: KafkaMessage,
    { signal, committer }: { signal: AbortSignal; committer: OffsetCommitter },
  ): void {
    const key = `${location.topic}\u0000${location.partition}\u0000${location.offset}`;
    const earlier = unordered.running.get(key);
    const commitFinished = () => committer.flush();
    const handling = (async (): Promise<Disposition> => {
      // Fetched again after a rejoin while the previous delivery still runs here: its result counts.
      if (earlier !== undefined && (await earlier) === 'commit') return 'commit';
      for (;;) {
        let disposition: Disposition;
        try {
          disposition = await this.process(location, message, { signal, commitFinished });
        } catch (err) {
          this.logger.error(
            { err, ...location },
            'handling a message failed unexpectedly; handling it again',
          );
          await sleepUnlessAborted(this.backoff.maxMs, signal);
          disposition = 'keep';
        }
        // `keep` while running: no restart or rebalance would deliver it again soon, so retry here.
        // After a rejoin the partition's next delivery (here or on another member) takes over.
        if (disposition === 'commit' || signal.aborted || !offsets.current) return disposition;
        this.logger.info(location, 'message kept; handling it again');
      }
    })();
    unordered.running.set(key, handling);
    const task = handling
      .then(async (disposition) => {
        if (disposition === 'keep') return; // stays unfinished: the committed offset stays before it
        const committable = offsets.finished(location.offset);
        if (committable === undefined) return;
        committer.track(location.topic, location.partition, committable);
        if (!this.settings.KAFKA_ENABLE_AUTO_COMMIT) await commitFinished();
      })
      .catch((err: unknown) => {
        this.logger.error(
          { err, ...location },
          'offset commit failed; it is retried with the next one, else the messages are delivered again',
        );
      })
      .finally(() => {
        if (unordered.running.get(key) === handling) unordered.running.delete(key);
        unordered.tasks.delete(task);
        unordered.slots.release();
      });
    unordered.tasks.add(task);
  }

  /** kafkajs heartbeats only when asked; a slow handler would otherwise lose the partition. */
  private async whileHeartbeating<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      heartbeat().catch((err: unknown) => {
        this.logger.debug({ err }, 'heartbeat during a handler failed; the group will rebalance after it');
      });
    }, this.settings.KAFKA_HEARTBEAT_INTERVAL_MS);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  private async process(
    location: MessageLocation,
    message: KafkaMessage,
    { signal, commitFinished }: { signal: AbortSignal; commitFinished: () => Promise<void> },
  ): Promise<Disposition> {
    const parsed = this.decode(location.topic, message);
    if (!parsed.ok) {
      const logger = this.logger.child(location);
      return this.deadLetter(
        location,
        message,
        { reason: 'invalid', error: parsed.reason, attempt: 0 },
        signal,
        logger,
      );
    }
    const event = parsed.event;
    const handler = this.handlers.get(event.event_type);
    const logger = withCorrelation(this.logger, event.metadata.correlation_id, {
      event_id: event.event_id,
      event_type: event.event_type,
      ...location,
    });
    if (handler === undefined) {
      const error = `no handler for event type "${event.event_type}"`;
      return this.deadLetter(location, message, { reason: 'invalid', error, attempt: 0 }, signal, logger);
    }
    const headers = decodeHeaders(message.headers);
    // Work done by the handler (e.g. events it publishes) continues the producer's trace.
    const traceContext = propagation.extract(ROOT_CONTEXT, headers);

    for (let attempt = 1; ; attempt += 1) {
      const handlerContext: HandlerContext = { ...location, headers, attempt, logger, signal };
      const result = await context.with(traceContext, () => this.attempt(handler, event, handlerContext));
      switch (result.kind) {
        case 'done':
          return 'commit';
        case 'invalid':
          return this.deadLetter(
            location,
            message,
            { reason: 'invalid', error: result.reason, attempt },
            signal,
            logger,
          );
        case 'retry': {
          if (attempt >= this.settings.KAFKA_CONSUMER_MAX_ATTEMPTS) {
            const failure = { reason: 'retries_exhausted' as const, error: result.reason, attempt };
            return this.deadLetter(location, message, failure, signal, logger);
          }
          const delayMs = backoffDelay(attempt, this.backoff);
          logger.warn({ attempt, delay_ms: delayMs, reason: result.reason }, 'handler failed; retrying');
          // Messages finished earlier in this batch should not wait for this one's retries to be committed.
          await commitFinished();
          if (!(await sleepUnlessAborted(delayMs, signal))) {
            logger.info({ attempt }, 'stopping during a retry wait; message left uncommitted for redelivery');
            return 'keep';
          }
        }
      }
    }
  }

  private async attempt(
    handler: AnyEventHandler<D>,
    event: AnyEventOf<D>,
    handlerContext: HandlerContext,
  ): Promise<HandlerOutcome> {
    try {
      return await handler(event, handlerContext);
    } catch (err) {
      handlerContext.logger.debug({ err, attempt: handlerContext.attempt }, 'handler threw');
      return { kind: 'retry', reason: err instanceof Error ? err.message : String(err) };
    }
  }

  private decode(topic: string, message: KafkaMessage): EventParseResult<AnyEventOf<D>> {
    if (message.value === null) return validationFailure(['(value): message has no value']);
    let json: unknown;
    try {
      json = JSON.parse(message.value.toString('utf8'));
    } catch (err) {
      return validationFailure([
        `(value): not valid JSON (${err instanceof Error ? err.message : String(err)})`,
      ]);
    }
    const parsed = this.catalog.parse(json);
    if (parsed.ok && this.catalog.eventTypeOfTopic(topic) !== parsed.event.event_type) {
      return validationFailure([
        `event_type: "${parsed.event.event_type}" does not belong on topic "${topic}"`,
      ]);
    }
    return parsed;
  }

  private async deadLetter(
    location: MessageLocation,
    message: KafkaMessage,
    failure: { reason: DeadLetterReason; error: string; attempt: number },
    signal: AbortSignal,
    logger: Logger,
  ): Promise<Disposition> {
    const letter = deadLetterMessage(message, {
      originalTopic: location.topic,
      originalPartition: location.partition,
      originalOffset: location.offset,
      attempt: failure.attempt,
      error: failure.error,
      failedAt: new Date(),
      consumerGroup: this.groupId,
      reason: failure.reason,
    });
    try {
      await this.producer.sendDeadLetter(this.deadLetterTopic, letter);
    } catch (err) {
      logger.error({ err }, 'dead-letter write failed; message left uncommitted for redelivery');
      // Pause before the redelivery so a dead-letter topic that is down is not hammered.
      await sleepUnlessAborted(this.backoff.maxMs, signal);
      return 'keep';
    }
    logger.warn(
      { dlq_reason: failure.reason, attempt: failure.attempt, error: failure.error },
      'message sent to the dead-letter topic',
    );
    return 'commit';
  }
}

/** Resolves once every task is over, including tasks started meanwhile. */
async function drain(tasks: ReadonlySet<Promise<void>>): Promise<void> {
  while (tasks.size > 0) await Promise.all(tasks);
}
