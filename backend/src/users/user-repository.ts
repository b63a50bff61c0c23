import { randomUUID } from 'node:crypto';
import { Schema, type Collection, type mongo } from 'mongoose';
import { AppError } from '../platform/errors/app-error.js';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';
import { usernameKey, type User, type UserRole } from './user.js';

interface UserDoc extends Omit<User, 'id' | 'tokenVersion'> {
  _id: string;
  /** `username` lowercased: the unique, case-insensitive identity of the name. */
  usernameKey: string;
  /** Absent on documents written before sessions were versioned; read as 0. */
  tokenVersion?: number;
}

const schema = new Schema<UserDoc>(
  {
    _id: { type: String, required: true },
    username: { type: String, required: true },
    usernameKey: { type: String, required: true },
    email: { type: String, required: true },
    role: { type: String, required: true, enum: ['user', 'admin'] },
    active: { type: Boolean, required: true },
    passwordHash: { type: String, required: true },
    tokenVersion: { type: Number, required: true, default: 0 },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false },
);
// Existing data (written before names were case-insensitive) needs usernameKey filled in first:
// db.users.updateMany({}, [{ $set: { usernameKey: { $toLower: '$username' } } }]), after renaming
// any accounts whose names differ only by case; see README "Authentication".
schema.index({ usernameKey: 1 }, { unique: true });
schema.index({ email: 1 }, { unique: true });

function toDomain(doc: UserDoc): User {
  const { _id, usernameKey: _key, tokenVersion, ...rest } = doc;
  return { id: _id, ...rest, tokenVersion: tokenVersion ?? 0 };
}

export type NewUser = Pick<User, 'username' | 'email' | 'role' | 'passwordHash'>;

export type UserChanges = Partial<Pick<User, 'email' | 'role' | 'active' | 'passwordHash'>> & {
  /** Also bump the token version, so every token issued before stops working. */
  revokeSessions?: boolean;
};

export interface UserQuery {
  /** Case-insensitive substring of the username or email, taken literally (not a pattern). */
  search?: string;
  role?: UserRole;
  active?: boolean;
  limit: number;
  offset: number;
}

export interface UserPage {
  users: User[];
  total: number;
}

/** Escapes every regex metacharacter so user input matches only itself. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function conflictOf(err: unknown): AppError | undefined {
  const field = duplicateField(err);
  if (field === 'username') return new AppError('conflict', 'Username already taken', { cause: err });
  if (field === 'email') return new AppError('conflict', 'Email already registered', { cause: err });
  return undefined;
}

/** Which unique index a duplicate-key error hit, from `keyPattern` or, failing that, the message. */
function duplicateField(err: unknown): 'username' | 'email' | undefined {
  const e = err as { code?: unknown; keyPattern?: Record<string, unknown>; message?: unknown };
  if (e.code !== 11000) return undefined;
  if (e.keyPattern && 'email' in e.keyPattern) return 'email';
  if (e.keyPattern && ('usernameKey' in e.keyPattern || 'username' in e.keyPattern)) return 'username';
  return typeof e.message === 'string' && e.message.includes('email') ? 'email' : 'username';
}

/** users in Mongo. Returns plain objects; username and email are unique. */
export class UserRepository {
  private readonly docs: Collection<UserDoc>;

  constructor(mongo: MongoConnection) {
    this.docs = mongo.collection<UserDoc>('User', schema, 'users');
  }

  async create(input: NewUser): Promise<User> {
    const now = new Date();
    const doc: UserDoc = {
      _id: randomUUID(),
      ...input,
      usernameKey: usernameKey(input.username),
      active: true,
      tokenVersion: 0,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.docs.insertOne(doc);
    } catch (err) {
      throw conflictOf(err) ?? err;
    }
    return toDomain(doc);
  }

  /** One page of users ordered by username, and how many match in all. */
  async list(query: UserQuery): Promise<UserPage> {
    const filter: mongo.Filter<UserDoc> = {};
    if (query.search !== undefined && query.search !== '') {
      const pattern = new RegExp(escapeRegex(query.search), 'i');
      filter.$or = [{ username: pattern }, { email: pattern }];
    }
    if (query.role !== undefined) filter.role = query.role;
    if (query.active !== undefined) filter.active = query.active;
    const [docs, total] = await Promise.all([
      this.docs.find(filter).sort({ username: 1 }).skip(query.offset).limit(query.limit).toArray(),
      this.docs.countDocuments(filter),
    ]);
    return { users: docs.map(toDomain), total };
  }

  /** The user after the changes, or null when no user has that id. */
  async update(id: string, changes: UserChanges): Promise<User | null> {
    const { revokeSessions, ...fields } = changes;
    let doc: UserDoc | null;
    try {
      doc = await this.docs.findOneAndUpdate(
        { _id: id },
        {
          $set: { ...fields, updatedAt: new Date() },
          ...(revokeSessions === true ? { $inc: { tokenVersion: 1 } } : {}),
        },
        { returnDocument: 'after' },
      );
    } catch (err) {
      throw conflictOf(err) ?? err;
    }
    return doc ? toDomain(doc) : null;
  }

  /** Returns whether a user with that id existed. */
  async delete(id: string): Promise<boolean> {
    const result = await this.docs.deleteOne({ _id: id });
    return result.deletedCount === 1;
  }

  async findById(id: string): Promise<User | null> {
    const doc = await this.docs.findOne({ _id: id });
    return doc ? toDomain(doc) : null;
  }

  /** The user of that name, ignoring case. */
  async findByUsername(username: string): Promise<User | null> {
    const doc = await this.docs.findOne({ usernameKey: usernameKey(username) });
    return doc ? toDomain(doc) : null;
  }

  /** Returns whether a user with that id existed. Deactivating revokes every session of the user. */
  async setActive(id: string, active: boolean): Promise<boolean> {
    const result = await this.docs.updateOne(
      { _id: id },
      { $set: { active, updatedAt: new Date() }, ...(active ? {} : { $inc: { tokenVersion: 1 } }) },
    );
    return result.matchedCount === 1;
  }
}
