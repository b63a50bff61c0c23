import { Schema, type Collection } from 'mongoose';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';
import type { Saga, SagaCompensation, SagaState, SagaStep } from './saga.js';

interface SagaDoc extends Omit<Saga, 'id'> {
  _id: string;
}

const schema = new Schema<SagaDoc>(
  {
    _id: { type: String, required: true },
    state: { type: String, required: true },
    steps: { type: Schema.Types.Mixed, default: () => [] },
    compensations: { type: Schema.Types.Mixed, default: () => [] },
    error: { type: String, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, minimize: false },
);
schema.index({ state: 1, updatedAt: 1 });

function toDomain(doc: SagaDoc): Saga {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/**
 * `sagas` in Mongo, one per execution (id = execution id). State changes are conditional on the
 * current state, so concurrent actors (scheduler, cancel, reconciler) cannot both win.
 */
export class SagaRepository {
  private readonly docs: Collection<SagaDoc>;

  constructor(mongo: MongoConnection) {
    this.docs = mongo.collection<SagaDoc>('Saga', schema, 'sagas');
  }

  /**
   * Creates the saga unless it exists, in one round trip; returns the saga as stored and whether
   * this call created it. `first` may be several steps recorded together at creation.
   */
  async createIfAbsent(
    id: string,
    state: SagaState,
    first: SagaStep | readonly SagaStep[],
    error: string | null = null,
  ): Promise<{ saga: Saga; created: boolean }> {
    const steps: SagaStep[] = 'name' in first ? [first] : [...first];
    const at = steps[0]?.at ?? new Date();
    const upsert = () =>
      this.docs.findOneAndUpdate(
        { _id: id },
        { $setOnInsert: { state, steps, compensations: [], error, createdAt: at, updatedAt: at } },
        { upsert: true, returnDocument: 'after', includeResultMetadata: true },
      );
    let result: Awaited<ReturnType<typeof upsert>>;
    try {
      result = await upsert();
    } catch (err) {
      // Two concurrent upserts of one id: the loser sees a duplicate key, and the saga exists.
      if (!isDuplicateKey(err)) throw err;
      const saga = await this.findById(id);
      if (saga === null)
        throw new Error(`saga ${id} vanished right after a concurrent upsert`, { cause: err });
      return { saga, created: false };
    }
    const doc = result.value;
    if (!doc) throw new Error(`saga ${id}: the upsert returned no document`);
    // MongoDB says updatedExisting: false on insert; mongo-java-server leaves lastErrorObject out.
    return { saga: toDomain(doc), created: result.lastErrorObject?.updatedExisting !== true };
  }

  async findById(id: string): Promise<Saga | null> {
    const doc = await this.docs.findOne({ _id: id });
    return doc ? toDomain(doc) : null;
  }

  /**
   * Moves the saga to `to` if it is in one of `from`, appending the step (and compensation);
   * returns the updated saga, or null when it was elsewhere (someone else won) or is absent.
   */
  async transition(
    id: string,
    from: readonly SagaState[],
    to: SagaState,
    done: SagaStep,
    extra: { error?: string | null; compensation?: SagaCompensation } = {},
  ): Promise<Saga | null> {
    const set: Record<string, unknown> = { state: to, updatedAt: done.at };
    if (extra.error !== undefined) set.error = extra.error;
    const push: Record<string, unknown> = { steps: done };
    if (extra.compensation) push.compensations = extra.compensation;
    const doc = await this.docs.findOneAndUpdate(
      { _id: id, state: { $in: [...from] } },
      { $set: set, $push: push },
      { returnDocument: 'after' },
    );
    return doc ? toDomain(doc) : null;
  }

  /** Appends a step without changing the state (a side effect that was carried out). */
  async recordStep(id: string, done: SagaStep): Promise<void> {
    await this.docs.updateOne({ _id: id }, { $push: { steps: done }, $set: { updatedAt: done.at } });
  }
}
