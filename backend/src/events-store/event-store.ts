import { Schema, type Collection } from 'mongoose';
import type { EventEnvelope, EventMetadata } from '../events/envelope.js';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';

/** An event as the store keeps it: its envelope plus where it was read on Kafka. */
export interface StoredEvent {
  envelope: EventEnvelope;
  topic: string;
  partition: number;
  offset: string;
}

/** One event of the store in API form: the envelope as on Kafka. */
export type EventView = EventEnvelope;

interface EventDoc {
  /** The event id: a redelivered event collides instead of being stored twice. */
  _id: string;
  event_type: string;
  event_version: number;
  /** A Date, not the envelope's string, so the TTL index and range queries work. */
  timestamp: Date;
  aggregate_id: string;
  metadata: EventMetadata;
  payload: unknown;
  topic: string;
  partition: number;
  offset: string;
  stored_at: Date;
}

interface ArchivedEventDoc extends EventDoc {
  archived_at: Date;
  deleted_by: string;
}

const schema = new Schema<EventDoc>(
  {
    _id: { type: String, required: true },
    event_type: { type: String, required: true },
    event_version: { type: Number, required: true },
    timestamp: { type: Date, required: true },
    aggregate_id: { type: String, required: true },
    metadata: { type: Schema.Types.Mixed, required: true },
    payload: { type: Schema.Types.Mixed },
    topic: { type: String, required: true },
    partition: { type: Number, required: true },
    offset: { type: String, required: true },
    stored_at: { type: Date, required: true },
  },
  { versionKey: false },
);
schema.index({ aggregate_id: 1, timestamp: 1 });
schema.index({ event_type: 1, timestamp: 1 });
schema.index({ 'metadata.user_id': 1, timestamp: 1 });
// The TTL index on timestamp is created by EventRetention: its expiry comes from the settings.

const archiveSchema = new Schema<ArchivedEventDoc>(
  { _id: { type: String, required: true } },
  { versionKey: false, strict: false },
);
archiveSchema.index({ aggregate_id: 1, timestamp: 1 });

/** Name of the TTL index (EVENT_RETENTION_DAYS); one name so a changed retention can be updated. */
export const EVENT_TTL_INDEX = 'timestamp_ttl';

const DUPLICATE_KEY = 11000;

function toDoc(event: StoredEvent, now: Date): EventDoc {
  const e = event.envelope;
  return {
    _id: e.event_id,
    event_type: e.event_type,
    event_version: e.event_version,
    timestamp: new Date(e.timestamp),
    aggregate_id: e.aggregate_id,
    metadata: e.metadata,
    payload: e.payload,
    topic: event.topic,
    partition: event.partition,
    offset: event.offset,
    stored_at: now,
  };
}

function toView(doc: EventDoc): EventView {
  return {
    event_id: doc._id,
    event_type: doc.event_type,
    event_version: doc.event_version,
    timestamp: doc.timestamp.toISOString(),
    aggregate_id: doc.aggregate_id,
    metadata: doc.metadata,
    payload: doc.payload,
  };
}

function toStored(doc: EventDoc): StoredEvent {
  return { envelope: toView(doc), topic: doc.topic, partition: doc.partition, offset: doc.offset };
}

/**
 * How many documents a failed unordered insert skipped, if every failure was a duplicate key (the
 * events are already stored: a redelivery); undefined if anything else failed.
 */
function duplicatesOnly(err: unknown): number | undefined {
  const writeErrors = (err as { writeErrors?: unknown }).writeErrors;
  if (writeErrors === undefined) {
    return (err as { code?: unknown }).code === DUPLICATE_KEY ? 1 : undefined;
  }
  const list: unknown[] = Array.isArray(writeErrors) ? writeErrors : [writeErrors];
  const all = list.length > 0 && list.every((w) => (w as { code?: unknown }).code === DUPLICATE_KEY);
  return all ? list.length : undefined;
}

export interface EventQuery {
  eventTypes?: readonly string[];
  limit: number;
}

/**
 * The event store: every catalog event once, in `events`, keyed by event id. The event-replay
 * process writes it; the API reads an execution's events from it; deletes archive first.
 */
export class EventStore {
  private readonly events: Collection<EventDoc>;
  private readonly archive: Collection<ArchivedEventDoc>;

  constructor(private readonly mongo: MongoConnection) {
    this.events = mongo.collection<EventDoc>('Event', schema, 'events');
    this.archive = mongo.collection<ArchivedEventDoc>('ArchivedEvent', archiveSchema, 'events_archive');
  }

  /**
   * Stores the events, one unordered insertMany; events already stored are skipped. Returns how many
   * were new. Throws on any other write error (the caller must not commit those offsets).
   */
  async insertMany(events: readonly StoredEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const now = new Date();
    try {
      const result = await this.events.insertMany(
        events.map((e) => toDoc(e, now)),
        { ordered: false },
      );
      return result.insertedCount;
    } catch (err) {
      const skipped = duplicatesOnly(err);
      if (skipped === undefined) throw err;
      // Unordered: every document without a write error was inserted.
      return events.length - skipped;
    }
  }

  async findById(eventId: string): Promise<StoredEvent | null> {
    const doc = await this.events.findOne({ _id: eventId });
    return doc ? toStored(doc) : null;
  }

  /** Events of one aggregate (an execution's id), oldest first. */
  async findByAggregate(aggregateId: string, query: EventQuery): Promise<EventView[]> {
    const filter =
      query.eventTypes && query.eventTypes.length > 0
        ? { aggregate_id: aggregateId, event_type: { $in: [...query.eventTypes] } }
        : { aggregate_id: aggregateId };
    const docs = await this.events.find(filter).sort({ timestamp: 1, _id: 1 }).limit(query.limit).toArray();
    return docs.map(toView);
  }

  /** Deletes events older than `cutoff` (what the TTL index does on real MongoDB); returns how many. */
  async pruneBefore(cutoff: Date): Promise<number> {
    const result = await this.events.deleteMany({ timestamp: { $lt: cutoff } });
    return result.deletedCount;
  }

  /**
   * An admin's delete: copies the event to `events_archive` (with who and when), then deletes it.
   * Returns false if there was no such event. Repeating after a crash between the two steps is
   * safe: the archive copy is an upsert.
   */
  async archiveAndDelete(eventId: string, deletedBy: string): Promise<boolean> {
    const doc = await this.events.findOne({ _id: eventId });
    if (doc === null) return false;
    const archived: ArchivedEventDoc = { ...doc, archived_at: new Date(), deleted_by: deletedBy };
    await this.archive.replaceOne({ _id: eventId }, archived, { upsert: true });
    await this.events.deleteOne({ _id: eventId });
    return true;
  }

  async findArchived(eventId: string): Promise<(StoredEvent & { deletedBy: string }) | null> {
    const doc = await this.archive.findOne({ _id: eventId });
    return doc ? { ...toStored(doc), deletedBy: doc.deleted_by } : null;
  }

  /**
   * The TTL index on `timestamp`. A changed retention updates the existing index (collMod); a
   * server without TTL support just keeps the index (the scheduled prune does the work there).
   */
  async ensureTtlIndex(retentionSeconds: number): Promise<void> {
    try {
      await this.events.createIndex(
        { timestamp: 1 },
        { name: EVENT_TTL_INDEX, expireAfterSeconds: retentionSeconds },
      );
    } catch (err) {
      const db = this.mongo.connection.db;
      if ((err as { codeName?: unknown }).codeName !== 'IndexOptionsConflict' || !db) throw err;
      await db.command({
        collMod: 'events',
        index: { name: EVENT_TTL_INDEX, expireAfterSeconds: retentionSeconds },
      });
    }
  }
}
