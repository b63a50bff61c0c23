import { Schema, type Collection } from 'mongoose';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';

interface RunOutboxDoc {
  /** The terminal event's id (stable: `stableEventId(`${executionId}/terminal`)`). */
  _id: string;
  executionId: string;
  /** The run's last events (output chunks, then the terminal event) as one JSON array. */
  events: string;
  bytes: number;
  createdAt: Date;
  /** When the broker accepted them; the entry is pruned a lease grace later. */
  sentAt: Date | null;
}

const schema = new Schema<RunOutboxDoc>(
  {
    _id: { type: String, required: true },
    executionId: { type: String, required: true },
    events: { type: String, required: true },
    bytes: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    sentAt: { type: Date, default: null },
  },
  { versionKey: false },
);
schema.index({ sentAt: 1, createdAt: 1 });
schema.index({ executionId: 1 });

/** A finished run's events waiting for (or just past) the broker. */
export interface RunOutboxEntry {
  id: string;
  executionId: string;
  /** Envelopes as JSON parsed them; the producer validates them again before sending. */
  events: unknown[];
  createdAt: Date;
}

export type ParkResult = 'parked' | 'full';

/**
 * `run_outbox`: the events of finished runs that Kafka could not take when they ended (see
 * docs/architecture.md, "Broker outages"). Written by the worker's command handler, drained by its
 * OutboxRelay, read by the saga reconciler so it does not fail such a run as lost. Entries stay
 * after they were sent (`sentAt`) until `pruneSentBefore` removes them: meanwhile the result is
 * on its way to the result processor and the reconciler must still wait for it.
 */
export class RunOutboxRepository {
  private readonly docs: Collection<RunOutboxDoc>;

  constructor(mongo: MongoConnection) {
    this.docs = mongo.collection<RunOutboxDoc>('RunOutbox', schema, 'run_outbox');
  }

  /**
   * Keeps the events unless the outbox already holds `maxBytes` (then `full`, nothing written).
   * Idempotent by `id`: keeping the same run twice keeps the first copy. Concurrent calls may
   * pass the check together, so the bound can be exceeded by the runs finishing at that moment.
   */
  async park(
    entry: { id: string; executionId: string; events: readonly unknown[] },
    maxBytes: number,
    now = new Date(),
  ): Promise<ParkResult> {
    const events = JSON.stringify(entry.events);
    const bytes = Buffer.byteLength(events);
    if ((await this.totalBytes()) + bytes > maxBytes) return 'full';
    await this.docs.updateOne(
      { _id: entry.id },
      {
        $setOnInsert: {
          executionId: entry.executionId,
          events,
          bytes,
          createdAt: now,
          sentAt: null,
        },
      },
      { upsert: true },
    );
    return 'parked';
  }

  /** Entries not sent yet, oldest first. */
  async unsent(limit: number): Promise<RunOutboxEntry[]> {
    const docs = await this.docs.find({ sentAt: null }).sort({ createdAt: 1 }).limit(limit).toArray();
    return docs.map((doc) => ({
      id: doc._id,
      executionId: doc.executionId,
      events: JSON.parse(doc.events) as unknown[],
      createdAt: doc.createdAt,
    }));
  }

  async markSent(id: string, at = new Date()): Promise<void> {
    await this.docs.updateOne({ _id: id, sentAt: null }, { $set: { sentAt: at } });
  }

  /** Removes entries sent before `cutoff`; returns how many. */
  async pruneSentBefore(cutoff: Date): Promise<number> {
    const { deletedCount } = await this.docs.deleteMany({ sentAt: { $ne: null, $lt: cutoff } });
    return deletedCount;
  }

  /** Whether the outbox holds (sent or not) the events of this execution's run. */
  async holds(executionId: string): Promise<boolean> {
    return (await this.docs.findOne({ executionId }, { projection: { _id: 1 } })) !== null;
  }

  /** Which of these executions the outbox holds, in one query. */
  async holding(executionIds: readonly string[]): Promise<Set<string>> {
    if (executionIds.length === 0) return new Set();
    const docs = await this.docs
      .find({ executionId: { $in: [...executionIds] } }, { projection: { executionId: 1 } })
      .toArray();
    return new Set(docs.map((doc) => doc.executionId));
  }

  async totalBytes(): Promise<number> {
    const [sum] = await this.docs
      .aggregate<{ bytes: number }>([{ $group: { _id: null, bytes: { $sum: '$bytes' } } }])
      .toArray();
    return sum?.bytes ?? 0;
  }
}
