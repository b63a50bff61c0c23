import { randomUUID } from 'node:crypto';
import { Schema } from 'mongoose';
import { AppError } from '../platform/errors/app-error.js';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';
import type { User } from './user.js';

interface UserDoc extends Omit<User, 'id'> {
  _id: string;
}

const schema = new Schema<UserDoc>(
  {
    _id: { type: String, required: true },
    username: { type: String, required: true },
    email: { type: String, required: true },
    role: { type: String, required: true, enum: ['user', 'admin'] },
    active: { type: Boolean, required: true },
    passwordHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false },
);
schema.index({ username: 1 }, { unique: true });
schema.index({ email: 1 }, { unique: true });

function toDomain(doc: UserDoc): User {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}

export type NewUser = Pick<User, 'username' | 'email' | 'role' | 'passwordHash'>;

/** Which unique index a duplicate-key error hit, from `keyPattern` or, failing that, the message. */
function duplicateField(err: unknown): 'username' | 'email' | undefined {
  const e = err as { code?: unknown; keyPattern?: Record<string, unknown>; message?: unknown };
  if (e.code !== 11000) return undefined;
  if (e.keyPattern && 'email' in e.keyPattern) return 'email';
  if (e.keyPattern && 'username' in e.keyPattern) return 'username';
  return typeof e.message === 'string' && e.message.includes('email') ? 'email' : 'username';
}

/** users in Mongo. Returns plain objects; username and email are unique. */
export class UserRepository {
  private readonly model;

  constructor(mongo: MongoConnection) {
    this.model = mongo.model<UserDoc>('User', schema, 'users');
  }

  async create(input: NewUser): Promise<User> {
    const now = new Date();
    const doc: UserDoc = { _id: randomUUID(), ...input, active: true, createdAt: now, updatedAt: now };
    try {
      await this.model.create(doc);
    } catch (err) {
      const field = duplicateField(err);
      if (field === 'username') throw new AppError('conflict', 'Username already taken', { cause: err });
      if (field === 'email') throw new AppError('conflict', 'Email already registered', { cause: err });
      throw err;
    }
    return toDomain(doc);
  }

  async findById(id: string): Promise<User | null> {
    const doc = await this.model.findById(id).lean<UserDoc>();
    return doc ? toDomain(doc) : null;
  }

  async findByUsername(username: string): Promise<User | null> {
    const doc = await this.model.findOne({ username }).lean<UserDoc>();
    return doc ? toDomain(doc) : null;
  }

  /** Returns whether a user with that id existed. */
  async setActive(id: string, active: boolean): Promise<boolean> {
    const result = await this.model.updateOne({ _id: id }, { $set: { active, updatedAt: new Date() } });
    return result.matchedCount === 1;
  }
}
