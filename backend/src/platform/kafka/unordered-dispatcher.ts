/**
 * ConsumerRunner's unordered mode (`maxInFlight` set), for one consumer session.
 *
 * kafkajs fetches again only once every batch of a fetch is handled, so in ordered mode one slow
 * message holds back every partition of the consumer. In this mode eachBatch waits (heartbeating)
 * for one of `maxInFlight` slots, shared by all partitions of the runner, then starts the
 * message's handling in the background and resolves its offset at once, so kafkajs fetches on; a
 * partition's messages start in offset order but run and finish in any order. Commits follow the
 * rules in consumer-runner.ts, except that each partition's committed offset is its finished
 * prefix (the offset of its first dispatched message that has not finished): it never passes a
 * running message, and messages finished after it are delivered again after a crash.
 * - KAFKA_ENABLE_AUTO_COMMIT=true: background commits, as in ordered mode.
 * - KAFKA_ENABLE_AUTO_COMMIT=false: a message whose end moves the finished prefix awaits the commit
 *   before giving its slot back (concurrent ends share one OffsetCommit).
 * `keep` (stop during a backoff wait; failed dead-letter write) leaves the message unfinished, so
 * its partition's commits stop before it until it is delivered again; while the runner is not
 * stopping, it is handled again at once (after the dead-letter pause) instead. A rejoin starts the
 * bookkeeping over: kafkajs fetches from the committed offsets again, handlings still running from
 * before no longer move commits, and a message fetched again while its earlier delivery still runs
 * here waits for that one instead of running twice at once (it holds a slot meanwhile).
 * stop() pauses fetching, aborts the signal, waits for every handling (drain()), commits the
 * finished prefixes, then leaves the group (all within `stopTimeoutMs`).
 */
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { EventDefinitions } from '../../events/catalog.js';
import type { Settings } from '../../settings/settings.js';
import type { Logger } from '../logging/logger.js';
import { whileHeartbeating } from './heartbeat.js';
import { InFlightOffsets, PartitionOffsets, Slots } from './in-flight.js';
import type { Disposition, MessageLocation, MessageProcessor } from './message-processor.js';
import { nextOffsetAfter, partitionKey, type OffsetCommitter } from './offset-committer.js';

export type UnorderedDispatcherSettings = Pick<
  Settings,
  'KAFKA_MAX_POLL_RECORDS' | 'KAFKA_ENABLE_AUTO_COMMIT' | 'KAFKA_HEARTBEAT_INTERVAL_MS'
>;

export interface UnorderedDispatcherOptions<D extends EventDefinitions> {
  /** Messages handled at once, across all partitions of the session. */
  maxInFlight: number;
  processor: MessageProcessor<D>;
  /** The session's committer. */
  committer: OffsetCommitter;
  /** The session's stop signal. */
  signal: AbortSignal;
  settings: UnorderedDispatcherSettings;
  logger: Logger;
}

export class UnorderedDispatcher<D extends EventDefinitions> {
  private readonly processor: MessageProcessor<D>;
  private readonly committer: OffsetCommitter;
  private readonly signal: AbortSignal;
  private readonly settings: UnorderedDispatcherSettings;
  private readonly logger: Logger;
  private readonly slots: Slots;
  private readonly offsets = new InFlightOffsets();
  /** Each message's handling (process() until it is not kept), by "topic\0partition\0offset". */
  private readonly running = new Map<string, Promise<Disposition>>();
  /** Everything started in the background, including the commit after it; drain() waits for these. */
  private readonly tasks = new Set<Promise<void>>();

  constructor(options: UnorderedDispatcherOptions<D>) {
    this.processor = options.processor;
    this.committer = options.committer;
    this.signal = options.signal;
    this.settings = options.settings;
    this.logger = options.logger;
    this.slots = new Slots(options.maxInFlight);
  }

  /**
   * The eachBatch of this mode: hands each message to a background handling as soon as a slot is
   * free and resolves it at once, so kafkajs fetches on while handlers run.
   */
  async dispatchBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { signal } = this;
    const heartbeat = () => payload.heartbeat();
    this.committer.useCommit((offsets) => payload.commitOffsetsIfNecessary(offsets));
    // Taken once: a rejoin while this call runs detaches it, and kafkajs fetches these messages again.
    const offsets = this.offsets.partition(batch.topic, batch.partition);
    const canDispatch = () => payload.isRunning() && !payload.isStale() && !signal.aborted && offsets.current;
    for (const message of batch.messages.slice(0, this.settings.KAFKA_MAX_POLL_RECORDS)) {
      if (!canDispatch()) break;
      // Heartbeat only while actually waiting: a free slot is taken without a timer.
      const acquired =
        this.slots.tryAcquire() ||
        (await whileHeartbeating(
          heartbeat,
          { intervalMs: this.settings.KAFKA_HEARTBEAT_INTERVAL_MS, logger: this.logger },
          () => this.slots.acquire(signal),
        ));
      if (!acquired) break;
      if (!canDispatch()) {
        this.slots.release();
        break;
      }
      offsets.dispatched(message.offset, nextOffsetAfter(batch, message));
      payload.resolveOffset(message.offset);
      const location = { topic: batch.topic, partition: batch.partition, offset: message.offset };
      this.handleInBackground(offsets, location, message);
    }
  }

  /** On every (re)join (GROUP_JOIN): kafkajs fetches from the committed offsets again. */
  rejoined(): void {
    this.offsets.reset();
  }

  /** Resolves once every background handling is over, including handlings started meanwhile. */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all(this.tasks);
  }

  /**
   * Handles one message while it holds a slot: process() until its disposition is `commit`, then
   * hands the partition's finished prefix, if it moved, to the committer.
   */
  private handleInBackground(
    offsets: PartitionOffsets,
    location: MessageLocation,
    message: KafkaMessage,
  ): void {
    const { signal, committer } = this;
    const key = `${partitionKey(location.topic, location.partition)}\u0000${location.offset}`;
    const earlier = this.running.get(key);
    const commitFinished = () => committer.flush();
    const handling = (async (): Promise<Disposition> => {
      // Fetched again after a rejoin while the previous delivery still runs here: its result counts.
      if (earlier !== undefined && (await earlier.catch(() => 'keep')) === 'commit') return 'commit';
      for (;;) {
        // process() does not throw in normal operation (it maps handler errors and failed commits or
        // dead-letter writes to dispositions); anything else is a bug, logged below, not retried here.
        const disposition = await this.processor.process(location, message, { signal, commitFinished });
        // `keep` while running: no restart or rebalance would deliver it again soon, so retry here.
        // After a rejoin the partition's next delivery (here or on another member) takes over.
        if (disposition === 'commit' || signal.aborted || !offsets.current) return disposition;
        this.logger.info(location, 'message kept; handling it again');
      }
    })();
    this.running.set(key, handling);
    const task = handling
      .then(
        async (disposition) => {
          if (disposition === 'keep') return; // stays unfinished: the committed offset stays before it
          const committable = offsets.finished(location.offset);
          if (committable === undefined) return;
          committer.track(location.topic, location.partition, committable);
          if (!this.settings.KAFKA_ENABLE_AUTO_COMMIT) await commitFinished();
        },
        (err: unknown) => {
          this.logger.error(
            { err, ...location },
            'handling a message threw unexpectedly; its partition commits no further until it is delivered again',
          );
        },
      )
      .catch((err: unknown) => {
        this.logger.error(
          { err, ...location },
          'offset commit failed; it is retried with the next one, else the messages are delivered again',
        );
      })
      .finally(() => {
        if (this.running.get(key) === handling) this.running.delete(key);
        this.tasks.delete(task);
        this.slots.release();
      });
    this.tasks.add(task);
  }
}
