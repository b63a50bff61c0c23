import { Schema, type Collection, type mongo } from 'mongoose';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';
import {
  ACTIVE_STATUSES,
  isTerminal,
  statusesBefore,
  type ActiveStatus,
  type Execution,
  type ExecutionOutcomeRecord,
  type ExecutionStatus,
} from './execution.js';

interface ExecutionDoc extends Omit<Execution, 'id'> {
  _id: string;
}

const schema = new Schema<ExecutionDoc>(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    lang: { type: String, required: true },
    langVersion: { type: String, required: true },
    script: { type: String, required: true },
    stdin: { type: String, default: '' },
    args: { type: [String], default: [] },
    limits: { type: Schema.Types.Mixed, required: true },
    priority: { type: String, required: true },
    status: { type: String, required: true },
    requestPublished: { type: Boolean, required: true },
    outcome: { type: Schema.Types.Mixed, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    scheduledAt: { type: Date, default: null },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  { versionKey: false, minimize: false },
);
schema.index({ userId: 1, createdAt: -1 });
schema.index({ status: 1, updatedAt: 1 });
schema.index({ requestPublished: 1, createdAt: 1 });

export interface ExecutionListFilter {
  userId?: string;
  status?: ExecutionStatus;
  lang?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  limit: number;
  offset: number;
}

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  // The driver hands BSON binary back as a Binary object.
  const binary = value as { buffer?: Uint8Array } | null;
  return binary?.buffer ? Buffer.from(binary.buffer) : Buffer.alloc(0);
}

function toDomain(doc: ExecutionDoc): Execution {
  const { _id, outcome, ...rest } = doc;
  return {
    id: _id,
    ...rest,
    outcome: outcome
      ? { ...outcome, stdout: toBuffer(outcome.stdout), stderr: toBuffer(outcome.stderr) }
      : null,
  };
}

/**
 * `executions` in Mongo. Status changes go through `advance`, a conditional update that only
 * moves forward (queued → scheduled → running → a verdict) and never replaces a verdict, so
 * duplicate or late events cannot undo progress and the first terminal write wins.
 */
export class ExecutionRepository {
  private readonly docs: Collection<ExecutionDoc>;

  constructor(mongo: MongoConnection) {
    this.docs = mongo.collection<ExecutionDoc>('Execution', schema, 'executions');
  }

  async create(execution: Execution): Promise<void> {
    const { id, ...rest } = execution;
    await this.docs.insertOne({ _id: id, ...rest });
  }

  async findById(id: string): Promise<Execution | null> {
    const doc = await this.docs.findOne({ _id: id });
    return doc ? toDomain(doc) : null;
  }

  /**
   * Moves the execution to `to` if that is forward from its current status; returns the updated
   * execution, or null when it was already there or further (a duplicate or a late event).
   */
  async advance(
    id: string,
    to: ExecutionStatus,
    fields: { outcome?: ExecutionOutcomeRecord; at?: Date } = {},
  ): Promise<Execution | null> {
    const at = fields.at ?? new Date();
    const set: Record<string, unknown> = { status: to, updatedAt: at };
    if (to === 'scheduled') set.scheduledAt = at;
    if (to === 'running') set.startedAt = at;
    if (isTerminal(to)) {
      set.finishedAt = at;
      set.outcome = fields.outcome ?? null;
    }
    const doc = await this.docs.findOneAndUpdate(
      { _id: id, status: { $in: statusesBefore(to) } },
      { $set: set },
      { returnDocument: 'after' },
    );
    return doc ? toDomain(doc) : null;
  }

  async markRequestPublished(id: string): Promise<void> {
    await this.docs.updateOne({ _id: id }, { $set: { requestPublished: true } });
  }

  /** Executions whose execution_requested never reached Kafka (the API died in between). */
  async unpublishedBefore(cutoff: Date, limit = 100): Promise<Execution[]> {
    const docs = await this.docs
      .find({ requestPublished: false, status: 'queued', createdAt: { $lt: cutoff } })
      .sort({ createdAt: 1 })
      .limit(limit)
      .toArray();
    return docs.map(toDomain);
  }

  /** Active executions that have not moved since `cutoff`: candidates for the reconciler. */
  async staleActive(statuses: readonly ActiveStatus[], cutoff: Date, limit = 100): Promise<Execution[]> {
    const docs = await this.docs
      .find({
        status: { $in: statuses.filter((s) => ACTIVE_STATUSES.includes(s)) },
        updatedAt: { $lt: cutoff },
      })
      .sort({ updatedAt: 1 })
      .limit(limit)
      .toArray();
    return docs.map(toDomain);
  }

  async list(filter: ExecutionListFilter): Promise<{ items: Execution[]; total: number }> {
    const query: mongo.Filter<ExecutionDoc> = {};
    if (filter.userId) query.userId = filter.userId;
    if (filter.status) query.status = filter.status;
    if (filter.lang) query.lang = filter.lang;
    if (filter.createdAfter || filter.createdBefore) {
      query.createdAt = {
        ...(filter.createdAfter ? { $gte: filter.createdAfter } : {}),
        ...(filter.createdBefore ? { $lt: filter.createdBefore } : {}),
      };
    }
    const [docs, total] = await Promise.all([
      this.docs.find(query).sort({ createdAt: -1, _id: 1 }).skip(filter.offset).limit(filter.limit).toArray(),
      this.docs.countDocuments(query),
    ]);
    return { items: docs.map(toDomain), total };
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.docs.deleteOne({ _id: id });
    return result.deletedCount === 1;
  }
}
