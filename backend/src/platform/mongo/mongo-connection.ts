import mongoose, { type Collection, type Connection, type Model, type Schema } from 'mongoose';
import type { Logger } from '../logging/logger.js';
import { type Component, LifecycleGate } from '../lifecycle/component.js';

export interface MongoConnectionOptions {
  url: string;
  dbName: string;
  logger: Logger;
  /** How long the first connect and each operation wait for a reachable server. */
  serverSelectionTimeoutMs?: number;
  maxPoolSize?: number;
}

/**
 * One mongoose connection per process. Models are declared by repositories through `model()` or
 * `collection()`; their indexes (declared in the schemas) are created at start, so a fresh
 * database is usable.
 */
export class MongoConnection implements Component {
  readonly name = 'mongo';
  readonly connection: Connection;
  private readonly gate = new LifecycleGate();
  private readonly indexBuilders: Array<() => Promise<unknown>> = [];

  constructor(private readonly options: MongoConnectionOptions) {
    // Mongoose otherwise records `new Error().stack` on every query (only to report a query run
    // twice); with source maps on, that formatting was a visible share of each query's CPU.
    mongoose.set('skipOriginalStackTraces', true);
    this.connection = mongoose.createConnection();
    // Without these, queries on a down server hang in mongoose's buffer instead of failing.
    this.connection.set('bufferCommands', false);
    this.connection.on('disconnected', () => options.logger.warn('mongo disconnected'));
    this.connection.on('reconnected', () => options.logger.info('mongo reconnected'));
    this.connection.on('error', (err: unknown) => options.logger.error({ err }, 'mongo connection error'));
  }

  model<T>(name: string, schema: Schema<T>, collection?: string): Model<T> {
    const existing = this.connection.models[name] as Model<T> | undefined;
    if (existing) return existing;
    const created = this.connection.model<T>(name, schema, collection);
    this.indexBuilders.push(() => created.createIndexes());
    return created;
  }

  /**
   * Declares the model (for its indexes) and returns the driver's collection behind it. The
   * repositories on every execution's path query through it: mongoose's query and document layers
   * cost about twice the client CPU of the driver call (measured against mongo-java-server: insert
   * 1.39 vs 0.49 ms, find by id 0.84 vs 0.46 ms, update 0.62 vs 0.31 ms), ~14 times per execution.
   * Documents are read and written as they are stored, so the repository maps them itself.
   */
  collection<T extends object>(name: string, schema: Schema<T>, collection: string): Collection<T> {
    this.model(name, schema, collection);
    return this.connection.collection<T>(collection);
  }

  start(): Promise<void> {
    return this.gate.start(async () => {
      await this.connection.openUri(this.options.url, {
        dbName: this.options.dbName,
        serverSelectionTimeoutMS: this.options.serverSelectionTimeoutMs ?? 10_000,
        maxPoolSize: this.options.maxPoolSize ?? 20,
        autoIndex: false,
        autoCreate: false,
      });
      await this.ensureIndexes();
      this.options.logger.info(
        { db: this.options.dbName, models: this.indexBuilders.length },
        'mongo connected',
      );
    });
  }

  /** Creates every declared index; safe to repeat (createIndex is idempotent). */
  async ensureIndexes(): Promise<void> {
    for (const build of this.indexBuilders) await build();
  }

  async ping(): Promise<void> {
    const db = this.connection.db;
    if (!db) throw new Error('mongo is not connected');
    await db.admin().command({ ping: 1 });
  }

  stop(): Promise<void> {
    return this.gate.stop(() => this.connection.close());
  }
}
