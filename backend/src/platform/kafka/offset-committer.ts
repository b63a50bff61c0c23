import type { Batch, KafkaMessage, Offsets } from 'kafkajs';
import type { Logger } from '../logging/logger.js';
import { hasKafkaErrorType } from './kafka-errors.js';

/** Sends one OffsetCommit request for the given next-to-read offsets. */
export type CommitOffsets = (offsets: Offsets) => Promise<void>;

export interface OffsetCommitterOptions {
  /**
   * Commit in the background, at most once per this many ms, coalescing everything handled
   * meanwhile (KAFKA_AUTO_COMMIT_INTERVAL_MS). Undefined: only flush() commits.
   */
  backgroundIntervalMs: number | undefined;
  logger: Logger;
}

interface PendingOffset {
  topic: string;
  partition: number;
  /** Next offset to read: the handled offset + 1. */
  offset: string;
}

/**
 * Errors meaning this member's generation is over: its partitions may already belong to someone
 * else, so the commit is dropped rather than retried and the next owner gets a redelivery.
 */
const STALE_GENERATION_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'FENCED_INSTANCE_ID',
]);

function isStaleGenerationError(err: unknown): boolean {
  return hasKafkaErrorType(err, STALE_GENERATION_ERRORS);
}

/** Identifies a partition in maps keyed by partition. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * The offset to commit once `message` of `batch` is handled. Like kafkajs' resolveOffset: past
 * the batch's last message it also skips trailing control records (transaction markers).
 */
export function nextOffsetAfter(
  batch: Pick<Batch, 'messages' | 'lastOffset'>,
  message: KafkaMessage,
): string {
  const handled = message === batch.messages.at(-1) ? batch.lastOffset() : message.offset;
  return String(BigInt(handled) + 1n);
}

/**
 * The offsets of one consumer session that were handled but not yet committed, and the commits
 * themselves: at most one OffsetCommit in flight, each carrying the latest handled offset of
 * every partition that moved since the previous one.
 */
export class OffsetCommitter {
  private readonly backgroundIntervalMs: number | undefined;
  private readonly logger: Logger;
  private commitOffsets: CommitOffsets | undefined;
  private pending = new Map<string, PendingOffset>();
  /** When `pending` last went from empty to not empty. */
  private pendingSince = 0;
  /** Partitions of the current assignment ("topic\0partition"); undefined before the first join. */
  private assigned: Set<string> | undefined;
  private inFlight: Promise<void> | undefined;
  private lastCommitStartedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  /** Counts track() calls; flush() waits until the commits cover the count it saw. */
  private trackedSeq = 0;
  /** Every track() up to this count was committed or dropped. */
  private settledSeq = 0;
  private closed = false;

  constructor(options: OffsetCommitterOptions) {
    this.backgroundIntervalMs = options.backgroundIntervalMs;
    this.logger = options.logger;
  }

  /** Sets how commits are sent (the latest eachBatch payload's commit function). */
  useCommit(commitOffsets: CommitOffsets): void {
    this.commitOffsets = commitOffsets;
  }

  /** Records that everything before `nextOffset` on this partition is handled. */
  track(topic: string, partition: number, nextOffset: string): void {
    if (this.closed) return;
    const key = partitionKey(topic, partition);
    if (this.assigned !== undefined && !this.assigned.has(key)) {
      this.logger.debug({ topic, partition }, 'offset of a partition no longer assigned; not committed');
      return;
    }
    if (this.pending.size === 0) this.pendingSince = Date.now();
    this.pending.set(key, { topic, partition, offset: nextOffset });
    this.trackedSeq += 1;
    this.scheduleBackgroundCommit();
  }

  /** A (re)join: offsets of partitions this member lost must not be committed later. */
  assign(assignment: Readonly<Record<string, readonly number[]>>): void {
    this.assigned = new Set(
      Object.entries(assignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => partitionKey(topic, partition)),
      ),
    );
    for (const [key, pending] of this.pending) {
      if (!this.assigned.has(key)) {
        this.logger.debug(
          { topic: pending.topic, partition: pending.partition },
          'partition revoked; its uncommitted offset is dropped',
        );
        this.pending.delete(key);
      }
    }
  }

  /**
   * Commits everything tracked before this call, now (waiting for a commit in flight first).
   * Throws if a commit fails for another reason than a stale generation; the offsets stay pending.
   */
  async flush(): Promise<void> {
    const target = this.trackedSeq;
    while (!this.closed && this.settledSeq < target) {
      if (this.inFlight !== undefined) {
        await this.inFlight;
      } else if (this.pending.size === 0 || this.commitOffsets === undefined) {
        return; // the rest was dropped with revoked partitions
      } else {
        await this.commitPending();
      }
    }
  }

  /** Ends the session: no more commits; what is still pending is delivered again later. */
  close(): void {
    this.closed = true;
    this.clearTimer();
    this.pending.clear();
  }

  private scheduleBackgroundCommit(): void {
    const intervalMs = this.backgroundIntervalMs;
    if (intervalMs === undefined || this.closed || this.timer !== undefined) return;
    if (this.inFlight !== undefined || this.pending.size === 0) return; // the commit in flight reschedules
    const dueAt = Math.max(this.lastCommitStartedAt, this.pendingSince) + intervalMs;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.commitPending().catch((err: unknown) => {
          this.logger.warn({ err }, 'background offset commit failed; retrying after the interval');
        });
      },
      Math.max(0, dueAt - Date.now()),
    );
  }

  private async commitPending(): Promise<void> {
    const commitOffsets = this.commitOffsets;
    // A commit in flight reschedules when it ends; two at once could land out of order.
    if (
      commitOffsets === undefined ||
      this.inFlight !== undefined ||
      this.pending.size === 0 ||
      this.closed
    ) {
      return;
    }
    this.clearTimer();
    const batch = this.pending;
    const seq = this.trackedSeq;
    this.pending = new Map();
    this.lastCommitStartedAt = Date.now();
    const commit = this.send(commitOffsets, batch, seq).finally(() => {
      this.inFlight = undefined;
      this.scheduleBackgroundCommit();
    });
    this.inFlight = commit.catch(() => undefined);
    return commit;
  }

  private async send(
    commitOffsets: CommitOffsets,
    batch: Map<string, PendingOffset>,
    seq: number,
  ): Promise<void> {
    try {
      await commitOffsets({ topics: byTopic(batch.values()) });
      this.settledSeq = Math.max(this.settledSeq, seq);
    } catch (err) {
      if (isStaleGenerationError(err) || this.closed) {
        this.logger.debug(
          { err },
          'offset commit refused after a rebalance or stop; dropped (redelivered to the next owner)',
        );
        this.settledSeq = Math.max(this.settledSeq, seq);
        return;
      }
      // Put the offsets back unless the partition has moved on since.
      for (const [key, pending] of batch) {
        if (!this.pending.has(key) && (this.assigned?.has(key) ?? true)) {
          if (this.pending.size === 0) this.pendingSince = Date.now();
          this.pending.set(key, pending);
        }
      }
      throw err;
    }
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function byTopic(offsets: Iterable<PendingOffset>): Offsets['topics'] {
  const topics = new Map<string, Offsets['topics'][number]>();
  for (const { topic, partition, offset } of offsets) {
    let entry = topics.get(topic);
    if (entry === undefined) {
      entry = { topic, partitions: [] };
      topics.set(topic, entry);
    }
    entry.partitions.push({ partition, offset });
  }
  return [...topics.values()];
}
