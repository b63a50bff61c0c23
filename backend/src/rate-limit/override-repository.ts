import { Schema } from 'mongoose';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';
import type { RateLimitGroup } from './groups.js';
import type { RateLimitOverride } from './policy.js';

interface OverrideDoc {
  user_id: string;
  bypass: boolean;
  multiplier: number;
  limits: Partial<Record<RateLimitGroup, number>>;
  updated_at: Date;
  updated_by: string;
}

const schema = new Schema<OverrideDoc>(
  {
    user_id: { type: String, required: true },
    bypass: { type: Boolean, required: true },
    multiplier: { type: Number, required: true },
    limits: { type: Schema.Types.Mixed, default: {} },
    updated_at: { type: Date, required: true },
    updated_by: { type: String, required: true },
  },
  { versionKey: false, minimize: false },
);
schema.index({ user_id: 1 }, { unique: true });

function toDomain(doc: OverrideDoc): RateLimitOverride {
  return {
    userId: doc.user_id,
    bypass: doc.bypass,
    multiplier: doc.multiplier,
    limits: { ...doc.limits },
    updatedAt: doc.updated_at,
    updatedBy: doc.updated_by,
  };
}

/** rate_limit_overrides in Mongo: at most one per user, kept until an admin removes it. */
export class RateLimitOverrideRepository {
  private readonly model;

  constructor(mongo: MongoConnection) {
    this.model = mongo.model<OverrideDoc>('RateLimitOverride', schema, 'rate_limit_overrides');
  }

  async find(userId: string): Promise<RateLimitOverride | null> {
    const doc = await this.model.findOne({ user_id: userId }).lean<OverrideDoc>();
    return doc ? toDomain(doc) : null;
  }

  /** Replaces the user's override (or creates it). */
  async put(override: RateLimitOverride): Promise<RateLimitOverride> {
    const doc: OverrideDoc = {
      user_id: override.userId,
      bypass: override.bypass,
      multiplier: override.multiplier,
      limits: override.limits,
      updated_at: override.updatedAt,
      updated_by: override.updatedBy,
    };
    await this.model.updateOne({ user_id: override.userId }, { $set: doc }, { upsert: true });
    return toDomain(doc);
  }

  /** Returns whether an override existed. */
  async remove(userId: string): Promise<boolean> {
    const result = await this.model.deleteOne({ user_id: userId });
    return result.deletedCount === 1;
  }
}
