import { Schema, type Model } from 'mongoose';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';
import type { DlqMessage, DlqStatus } from './dlq-message.js';
import type { AlertLevel } from './queue-alert.js';

interface DlqMessageDoc extends Omit<DlqMessage, 'id'> {
  _id: string;
  /** When a processor claimed it for a retry (status retrying). */
  claimedAt?: Date | null;
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
    headers: { type: Schema.Types.Mixed, default: {} },
    error: { type: String, required: true },
    reason: { type: String, required: true },
    attempt: { type: Number, required: true },
    failedAt: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
    status: { type: String, required: true },
    retryCount: { type: Number, required: true },
    nextRetryAt: { type: Date, default: null },
    retriedAt: { type: Date, default: null },
    discardedAt: { type: Date, default: null },
    expiresAt: { type: Date, default: null },
    claimedAt: { type: Date, default: null },
  },
  { versionKey: false, minimize: false },
);
schema.index({ status: 1, failedAt: 1 });
schema.index({ status: 1, nextRetryAt: 1 });
schema.index({ eventType: 1, failedAt: -1 });
schema.index({ originalTopic: 1, failedAt: -1 });
// Real MongoDB drops retried/discarded messages at expiresAt; pending/scheduled have none, so they
// stay. The test server ignores TTL, hence also pruneExpired().
schema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

interface AlertStateDoc {
  _id: string;
  level: AlertLevel;
  changedAt: Date;
}
const alertSchema = new Schema<AlertStateDoc>(
  {
    _id: { type: String, required: true },
    level: { type: String, required: true },
    changedAt: { type: Date, required: true },
  },
  { versionKey: false },
);
const QUEUE_SIZE_ALERT = 'queue_size';

/** Not yet retried or discarded: what the queue-size thresholds count. */
const UNRESOLVED: DlqStatus[] = ['pending', 'scheduled', 'retrying'];
/** What an admin may retry now (discarded: re-drive from the archive after a fix). */
const RETRYABLE: DlqStatus[] = ['pending', 'scheduled', 'discarded'];
const DISCARDABLE: DlqStatus[] = ['pending', 'scheduled'];

function toDomain(doc: DlqMessageDoc): DlqMessage {
  const { _id, claimedAt: _claimedAt, ...rest } = doc;
  return {
    id: _id,
    ...rest,
    headers: rest.headers ?? {},
    retriedAt: rest.retriedAt ?? null,
    discardedAt: rest.discardedAt ?? null,
    expiresAt: rest.expiresAt ?? null,
  };
}

export interface DlqListFilter {
  status?: DlqStatus;
  topic?: string;
  eventType?: string;
  limit?: number;
  offset?: number;
}

export interface DlqStats {
  byStatus: Record<string, number>;
  byTopic: { topic: string; count: number }[];
  byError: { error: string; count: number }[];
  total: number;
}

/** dlq_messages in Mongo. Returns plain objects; every status change is a conditional update. */
export class DlqMessageRepository {
  private readonly model: Model<DlqMessageDoc>;
  private readonly alerts: Model<AlertStateDoc>;

  constructor(mongo: MongoConnection) {
    this.model = mongo.model<DlqMessageDoc>('DlqMessage', schema, 'dlq_messages');
    this.alerts = mongo.model<AlertStateDoc>('DlqAlertState', alertSchema, 'dlq_alert_state');
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

  async list(filter: DlqListFilter = {}): Promise<DlqMessage[]> {
    return (await this.page(filter)).messages;
  }

  /** Newest failure first. */
  async page(filter: DlqListFilter = {}): Promise<{ messages: DlqMessage[]; total: number }> {
    const query: Record<string, unknown> = {};
    if (filter.status) query.status = filter.status;
    if (filter.topic) query.originalTopic = filter.topic;
    if (filter.eventType) query.eventType = filter.eventType;
    const [docs, total] = await Promise.all([
      this.model
        .find(query)
        .sort({ failedAt: -1, _id: 1 })
        .skip(filter.offset ?? 0)
        .limit(filter.limit ?? 100)
        .lean<DlqMessageDoc[]>(),
      this.model.countDocuments(query),
    ]);
    return { messages: docs.map(toDomain), total };
  }

  async stats(topN = 20): Promise<DlqStats> {
    const group = async (field: string) =>
      this.model.aggregate<{ _id: string | null; count: number }>([
        { $group: { _id: `$${field}`, count: { $sum: 1 } } },
        { $sort: { count: -1 } },
        { $limit: topN },
      ]);
    const [statuses, topics, errors, total] = await Promise.all([
      group('status'),
      group('originalTopic'),
      group('error'),
      this.model.countDocuments({}),
    ]);
    return {
      byStatus: Object.fromEntries(statuses.map((s) => [String(s._id), s.count])),
      byTopic: topics.map((t) => ({ topic: String(t._id), count: t.count })),
      byError: errors.map((e) => ({ error: String(e._id), count: e.count })),
      total,
    };
  }

  async countByStatus(status: DlqStatus): Promise<number> {
    return this.model.countDocuments({ status });
  }

  async countUnresolved(): Promise<number> {
    return this.model.countDocuments({ status: { $in: UNRESOLVED } });
  }

  /** Applies the arrival plan to a message still pending (the intake after insert). */
  async planArrived(
    id: string,
    set: { status: DlqStatus; nextRetryAt?: Date; discardedAt?: Date; expiresAt?: Date },
  ): Promise<void> {
    await this.model.updateOne({ _id: id, status: 'pending' }, { $set: set });
  }

  /**
   * Claims the scheduled message due first: scheduled → retrying in one conditional update, so of
   * two processors only one gets it.
   */
  async claimDue(now: Date): Promise<DlqMessage | null> {
    const doc = await this.model
      .findOneAndUpdate(
        { status: 'scheduled', nextRetryAt: { $lte: now } },
        { $set: { status: 'retrying', claimedAt: now } },
        { sort: { nextRetryAt: 1 }, returnDocument: 'after' },
      )
      .lean<DlqMessageDoc>();
    return doc ? toDomain(doc) : null;
  }

  /** Claims left by a processor that died mid-retry go back to scheduled (the retry may repeat). */
  async releaseStaleClaims(claimedBefore: Date): Promise<number> {
    const result = await this.model.updateMany(
      { status: 'retrying', claimedAt: { $lt: claimedBefore } },
      { $set: { status: 'scheduled', claimedAt: null } },
    );
    return result.modifiedCount;
  }

  async markRetried(id: string, retriedAt: Date, expiresAt: Date): Promise<boolean> {
    const result = await this.model.updateOne(
      { _id: id, status: 'retrying' },
      { $set: { status: 'retried', retriedAt, expiresAt, claimedAt: null } },
    );
    return result.modifiedCount === 1;
  }

  /** A failed republish: back to scheduled at `nextRetryAt`. */
  async releaseClaim(id: string, nextRetryAt: Date): Promise<void> {
    await this.model.updateOne(
      { _id: id, status: 'retrying' },
      { $set: { status: 'scheduled', nextRetryAt, claimedAt: null } },
    );
  }

  /** Admin retry-now: due at once for the processor. Null when it is not in a retryable status. */
  async scheduleNow(id: string, now: Date): Promise<DlqMessage | null> {
    const doc = await this.model
      .findOneAndUpdate(
        { _id: id, status: { $in: RETRYABLE } },
        { $set: { status: 'scheduled', nextRetryAt: now, discardedAt: null, expiresAt: null } },
        { returnDocument: 'after' },
      )
      .lean<DlqMessageDoc>();
    return doc ? toDomain(doc) : null;
  }

  /** Every pending or scheduled message of a topic becomes due now; returns how many. */
  async scheduleTopicNow(topic: string, now: Date): Promise<number> {
    const result = await this.model.updateMany(
      { originalTopic: topic, status: { $in: DISCARDABLE } },
      { $set: { status: 'scheduled', nextRetryAt: now } },
    );
    return result.modifiedCount;
  }

  /** Into the archive. Null when it is not pending or scheduled. */
  async discard(id: string, discardedAt: Date, expiresAt: Date): Promise<DlqMessage | null> {
    const doc = await this.model
      .findOneAndUpdate(
        { _id: id, status: { $in: DISCARDABLE } },
        { $set: { status: 'discarded', discardedAt, expiresAt, nextRetryAt: null } },
        { returnDocument: 'after' },
      )
      .lean<DlqMessageDoc>();
    return doc ? toDomain(doc) : null;
  }

  /** Deletes retried and discarded messages past their expiry; returns how many. */
  async pruneExpired(now: Date): Promise<number> {
    const result = await this.model.deleteMany({
      status: { $in: ['retried', 'discarded'] },
      expiresAt: { $lt: now },
    });
    return result.deletedCount;
  }

  async alertLevel(): Promise<AlertLevel> {
    const doc = await this.alerts.findById(QUEUE_SIZE_ALERT).lean<AlertStateDoc>();
    return doc?.level ?? 'normal';
  }

  /** from → to, only if it is still `from`: of several processors one sees each crossing. */
  async swapAlertLevel(from: AlertLevel, to: AlertLevel, at: Date): Promise<boolean> {
    await this.alerts.updateOne(
      { _id: QUEUE_SIZE_ALERT },
      { $setOnInsert: { level: 'normal', changedAt: at } },
      { upsert: true },
    );
    const result = await this.alerts.updateOne(
      { _id: QUEUE_SIZE_ALERT, level: from },
      { $set: { level: to, changedAt: at } },
    );
    return result.modifiedCount === 1;
  }
}
