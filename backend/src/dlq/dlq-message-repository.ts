import { Schema } from 'mongoose';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';
import type { DlqMessage, DlqStatus } from './dlq-message.js';

interface DlqMessageDoc extends Omit<DlqMessage, 'id'> {
  _id: string;
}

const schema = new Schema<DlqMessageDoc>(
  {
    _id: { type: String, required: true },
    originalTopic: { type: String, required: true },
    originalPartition: { type: Number, default: null },
    originalOffset: { type: String, default: null },
    consumerGroup: { type: String, default: null },
    eventId: { type: String, default: null },
    eventType: { type: String, default: null },
    key: { type: String, default: null },
    value: { type: String, required: true },
    error: { type: String, required: true },
    reason: { type: String, required: true },
    attempt: { type: Number, required: true },
    failedAt: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
    status: { type: String, required: true },
    retryCount: { type: Number, required: true },
    nextRetryAt: { type: Date, default: null },
  },
  { versionKey: false },
);
schema.index({ status: 1, failedAt: 1 });
schema.index({ eventType: 1, failedAt: -1 });
schema.index({ originalTopic: 1, failedAt: -1 });

function toDomain(doc: DlqMessageDoc): DlqMessage {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}

/** dlq_messages in Mongo. Returns plain objects; inserts are idempotent by DLQ coordinates. */
export class DlqMessageRepository {
  private readonly model;

  constructor(mongo: MongoConnection) {
    this.model = mongo.model<DlqMessageDoc>('DlqMessage', schema, 'dlq_messages');
  }

  /** Stores the message unless a message with its id exists. Returns whether it was new. */
  async insertIfAbsent(message: DlqMessage): Promise<boolean> {
    const { id, ...rest } = message;
    const result = await this.model.updateOne({ _id: id }, { $setOnInsert: rest }, { upsert: true });
    return result.upsertedCount === 1;
  }

  async findById(id: string): Promise<DlqMessage | null> {
    const doc = await this.model.findById(id).lean<DlqMessageDoc>();
    return doc ? toDomain(doc) : null;
  }

  async list(filter: { status?: DlqStatus; limit?: number; skip?: number } = {}): Promise<DlqMessage[]> {
    const query = filter.status ? { status: filter.status } : {};
    const docs = await this.model
      .find(query)
      .sort({ failedAt: -1, _id: 1 })
      .skip(filter.skip ?? 0)
      .limit(filter.limit ?? 100)
      .lean<DlqMessageDoc[]>();
    return docs.map(toDomain);
  }

  async countByStatus(status: DlqStatus): Promise<number> {
    return this.model.countDocuments({ status });
  }

  /** Deletes messages received before `cutoff`; returns how many. */
  async pruneReceivedBefore(cutoff: Date): Promise<number> {
    const result = await this.model.deleteMany({ receivedAt: { $lt: cutoff } });
    return result.deletedCount;
  }
}
