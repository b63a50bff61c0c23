import { randomUUID } from 'node:crypto';
import { Schema, type Collection } from 'mongoose';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';
import type { SettingChange, SettingsEvent, SettingsState, UserSettings } from './user-settings.js';

/** One change; `_id` is `user:version`, so a version can be taken once (the concurrency guard). */
interface EventDoc {
  _id: string;
  user_id: string;
  version: number;
  at: Date;
  changes: SettingChange[];
  restored_from: number | null;
  /** The id the event is published under, fixed at write so a republish is the same event. */
  event_id: string;
  published: boolean;
}

/** The folded settings at a version: read starts here instead of at the first event. */
interface SnapshotDoc {
  _id: string;
  user_id: string;
  version: number;
  at: Date;
  settings: UserSettings;
}

const eventSchema = new Schema<EventDoc>(
  {
    _id: { type: String, required: true },
    user_id: { type: String, required: true },
    version: { type: Number, required: true },
    at: { type: Date, required: true },
    changes: { type: Schema.Types.Mixed, required: true },
    restored_from: { type: Number, default: null },
    event_id: { type: String, required: true },
    published: { type: Boolean, required: true },
  },
  { versionKey: false },
);
eventSchema.index({ user_id: 1, version: -1 }, { unique: true });
eventSchema.index({ user_id: 1, published: 1, version: 1 });

const snapshotSchema = new Schema<SnapshotDoc>(
  {
    _id: { type: String, required: true },
    user_id: { type: String, required: true },
    version: { type: Number, required: true },
    at: { type: Date, required: true },
    settings: { type: Schema.Types.Mixed, required: true },
  },
  { versionKey: false },
);
snapshotSchema.index({ user_id: 1, version: -1 }, { unique: true });

/** A stored change with the id it is (or will be) published under. */
export interface StoredSettingsEvent extends SettingsEvent {
  eventId: string;
}

/** The folded settings at a version, and when that version was written. */
export interface SettingsSnapshot extends SettingsState {
  at: Date;
}

export interface SettingsHistoryPage {
  events: StoredSettingsEvent[];
  total: number;
}

function toDomain(doc: EventDoc): StoredSettingsEvent {
  return {
    userId: doc.user_id,
    version: doc.version,
    at: doc.at,
    changes: doc.changes,
    restoredFrom: doc.restored_from ?? null,
    eventId: doc.event_id,
  };
}

function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: unknown }).code === 11000;
}

/**
 * The append-only history of users' settings (`settings_events`) and its snapshots
 * (`settings_snapshots`). Nothing here updates or deletes a change; a restore is a new change.
 */
export class SettingsHistoryRepository {
  private readonly events: Collection<EventDoc>;
  private readonly snapshots: Collection<SnapshotDoc>;

  constructor(mongo: MongoConnection) {
    this.events = mongo.collection<EventDoc>('SettingsEvent', eventSchema, 'settings_events');
    this.snapshots = mongo.collection<SnapshotDoc>('SettingsSnapshot', snapshotSchema, 'settings_snapshots');
  }

  /**
   * Records the change unless its version is already taken (a concurrent change won): returns the
   * stored event, or null on that conflict.
   */
  async append(event: SettingsEvent): Promise<StoredSettingsEvent | null> {
    const doc: EventDoc = {
      _id: `${event.userId}:${event.version}`,
      user_id: event.userId,
      version: event.version,
      at: event.at,
      changes: event.changes,
      restored_from: event.restoredFrom,
      event_id: randomUUID(),
      published: false,
    };
    try {
      await this.events.insertOne(doc);
    } catch (err) {
      if (isDuplicateKey(err)) return null;
      throw err;
    }
    return toDomain(doc);
  }

  /** The latest snapshot at or before `atOrBefore` (any when absent). */
  async snapshot(userId: string, atOrBefore?: number): Promise<SettingsSnapshot | null> {
    const filter =
      atOrBefore === undefined ? { user_id: userId } : { user_id: userId, version: { $lte: atOrBefore } };
    const [doc] = await this.snapshots.find(filter).sort({ version: -1 }).limit(1).toArray();
    return doc ? { version: doc.version, settings: doc.settings, at: doc.at } : null;
  }

  /** Writes a snapshot; repeating one is harmless (same version, same settings). */
  async saveSnapshot(userId: string, state: SettingsSnapshot): Promise<void> {
    await this.snapshots.updateOne(
      { _id: `${userId}:${state.version}` },
      { $setOnInsert: { user_id: userId, version: state.version, at: state.at, settings: state.settings } },
      { upsert: true },
    );
  }

  /** The changes after version `after` up to `upTo` (inclusive, or all), oldest first. */
  async eventsBetween(userId: string, after: number, upTo?: number): Promise<StoredSettingsEvent[]> {
    const version = upTo === undefined ? { $gt: after } : { $gt: after, $lte: upTo };
    const docs = await this.events.find({ user_id: userId, version }).sort({ version: 1 }).toArray();
    return docs.map(toDomain);
  }

  /** The highest recorded version (0 when the user never changed anything). */
  async latestVersion(userId: string): Promise<number> {
    const [doc] = await this.events.find({ user_id: userId }).sort({ version: -1 }).limit(1).toArray();
    return doc?.version ?? 0;
  }

  /** One page of a user's changes, newest first, and how many there are. */
  async history(userId: string, page: { limit: number; offset: number }): Promise<SettingsHistoryPage> {
    const [docs, total] = await Promise.all([
      this.events
        .find({ user_id: userId })
        .sort({ version: -1 })
        .skip(page.offset)
        .limit(page.limit)
        .toArray(),
      this.events.countDocuments({ user_id: userId }),
    ]);
    return { events: docs.map(toDomain), total };
  }

  /** The user's changes not yet published to Kafka, oldest first. */
  async unpublished(userId: string): Promise<StoredSettingsEvent[]> {
    const docs = await this.events
      .find({ user_id: userId, published: false })
      .sort({ version: 1 })
      .limit(100)
      .toArray();
    return docs.map(toDomain);
  }

  async markPublished(userId: string, version: number): Promise<void> {
    await this.events.updateOne({ _id: `${userId}:${version}` }, { $set: { published: true } });
  }
}
