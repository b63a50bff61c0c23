import type { EventStore, StoredEvent } from './event-store.js';

interface Pending {
  event: StoredEvent;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for the event store: events handed in while an insert is running wait and go
 * together in the next insertMany (up to `maxBatch`), so one write carries as many events as
 * arrived meanwhile, with no added delay when they come one at a time. Each `store()` settles only
 * when its own insert did, so the consumer commits an offset only after its event is in Mongo.
 */
export class EventBatchWriter {
  private queue: Pending[] = [];
  private flushing = false;

  constructor(private readonly options: { store: Pick<EventStore, 'insertMany'>; maxBatch: number }) {}

  store(event: StoredEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Inserts until the queue is empty; never rejects (each batch settles its own callers). */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.options.maxBatch);
        try {
          await this.options.store.insertMany(batch.map((p) => p.event));
          for (const p of batch) p.resolve();
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
