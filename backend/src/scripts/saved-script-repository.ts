import { Schema, type Collection, type mongo } from 'mongoose';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';
import { escapeRegex } from '../users/user-repository.js';
import type { SavedScript, SavedScriptFields } from './saved-script.js';

interface SavedScriptDoc extends Omit<SavedScript, 'id'> {
  _id: string;
}

const schema = new Schema<SavedScriptDoc>(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    name: { type: String, required: true },
    lang: { type: String, required: true },
    langVersion: { type: String, required: true },
    script: { type: String, required: true },
    description: { type: String, default: '' },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, minimize: false },
);
// The owner's list, newest first; and the owner's scripts by name.
schema.index({ userId: 1, updatedAt: -1 });
schema.index({ userId: 1, name: 1 });

export interface SavedScriptListFilter {
  userId: string;
  /** Case-insensitive substring of the name, matched literally. */
  nameContains?: string | undefined;
  limit: number;
  offset: number;
}

function toDomain(doc: SavedScriptDoc): SavedScript {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}

/** `saved_scripts` in Mongo; returns plain objects. Writes that change a script name its owner. */
export class SavedScriptRepository {
  private readonly docs: Collection<SavedScriptDoc>;

  constructor(mongo: MongoConnection) {
    this.docs = mongo.collection<SavedScriptDoc>('SavedScript', schema, 'saved_scripts');
  }

  async create(script: SavedScript): Promise<void> {
    const { id, ...rest } = script;
    await this.docs.insertOne({ _id: id, ...rest });
  }

  async findById(id: string): Promise<SavedScript | null> {
    const doc = await this.docs.findOne({ _id: id });
    return doc ? toDomain(doc) : null;
  }

  /** Replaces the owner's script's fields; null when that owner has no script with this id. */
  async replace(
    id: string,
    userId: string,
    fields: SavedScriptFields,
    at: Date,
  ): Promise<SavedScript | null> {
    const doc = await this.docs.findOneAndUpdate(
      { _id: id, userId },
      { $set: { ...fields, updatedAt: at } },
      { returnDocument: 'after' },
    );
    return doc ? toDomain(doc) : null;
  }

  async delete(id: string, userId: string): Promise<boolean> {
    const result = await this.docs.deleteOne({ _id: id, userId });
    return result.deletedCount === 1;
  }

  /** One page of the owner's scripts, most recently saved first, and how many match in all. */
  async list(filter: SavedScriptListFilter): Promise<{ items: SavedScript[]; total: number }> {
    const query: mongo.Filter<SavedScriptDoc> = { userId: filter.userId };
    if (filter.nameContains) query.name = new RegExp(escapeRegex(filter.nameContains), 'i');
    const [docs, total] = await Promise.all([
      this.docs.find(query).sort({ updatedAt: -1, _id: 1 }).skip(filter.offset).limit(filter.limit).toArray(),
      this.docs.countDocuments(query),
    ]);
    return { items: docs.map(toDomain), total };
  }
}
