/**
 * Bookkeeping of ConsumerRunner's unordered mode: a limit on the messages handled at once, and per
 * partition the offset up to which every dispatched message is finished (what may be committed).
 */
import { partitionKey } from './offset-committer.js';

interface Dispatched {
  offset: string;
  /** Offset to commit once this message and all before it are finished. */
  nextOffset: string;
  finished: boolean;
}

/** The messages of one partition dispatched in one group generation, in offset order. */
export class PartitionOffsets {
  /** Dispatched messages from the first unfinished one on; finished ones before it are gone. */
  private readonly queue: Dispatched[] = [];
  private readonly byOffset = new Map<string, Dispatched>();
  private detached = false;

  /** False once a rejoin started over: this generation's finishes no longer move commits. */
  get current(): boolean {
    return !this.detached;
  }

  /** Records a message handed to a handler; messages must come in offset order (as kafkajs fetches them). */
  dispatched(offset: string, nextOffset: string): void {
    const entry = { offset, nextOffset, finished: false };
    this.queue.push(entry);
    this.byOffset.set(offset, entry);
  }

  /**
   * Records that the message's handling is over. Returns the offset that may now be committed
   * if the finished prefix moved, else undefined (an earlier message is still unfinished).
   */
  finished(offset: string): string | undefined {
    const entry = this.byOffset.get(offset);
    if (this.detached || entry === undefined) return undefined;
    entry.finished = true;
    let committable: string | undefined;
    while (this.queue[0]?.finished === true) {
      const head = this.queue.shift()!;
      this.byOffset.delete(head.offset);
      committable = head.nextOffset;
    }
    return committable;
  }

  detach(): void {
    this.detached = true;
    this.queue.length = 0;
    this.byOffset.clear();
  }
}

/** The partitions' offsets of the current group generation. */
export class InFlightOffsets {
  private partitions = new Map<string, PartitionOffsets>();

  partition(topic: string, partition: number): PartitionOffsets {
    const key = partitionKey(topic, partition);
    let offsets = this.partitions.get(key);
    if (offsets === undefined) {
      offsets = new PartitionOffsets();
      this.partitions.set(key, offsets);
    }
    return offsets;
  }

  /**
   * A (re)join: kafkajs fetches every partition again from its committed offset, which never
   * passes an unfinished message, so tracking starts over from there.
   */
  reset(): void {
    for (const offsets of this.partitions.values()) offsets.detach();
    this.partitions = new Map();
  }
}

/**
 * At most `size` holders at once (a positive integer: ConsumerRunner validates its maxInFlight);
 * waiters are served in arrival order.
 */
export class Slots {
  private used = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly size: number) {}

  /** Takes a slot if one is free and nobody waits for one; true if it did. */
  tryAcquire(): boolean {
    if (this.used >= this.size || this.waiters.length > 0) return false;
    this.used += 1;
    return true;
  }

  /** Resolves true once a slot is held, or false if `signal` aborts first (no slot then). */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.tryAcquire()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(grant);
        if (index >= 0) this.waiters.splice(index, 1);
        resolve(false);
      };
      // release() hands its slot over: `used` stays the same.
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      this.waiters.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.used -= 1;
  }
}
