import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';
import { type Component, LifecycleGate } from '../lifecycle/component.js';

export interface RedisConnectionsOptions {
  host: string;
  port: number;
  db: number;
  password: string;
  /** REDIS_MAX_CONNECTIONS: ioredis opens one socket per client, so this caps the clients. */
  maxConnections: number;
  logger: Logger;
  connectTimeoutMs?: number;
}

/**
 * The Redis clients of one process. `commands` is shared for ordinary commands; `dedicated()`
 * hands out extra clients for pub/sub subscribers and blocking reads, which need a socket of their
 * own. Every client reconnects with capped backoff and logs its errors instead of crashing.
 */
export class RedisConnections implements Component {
  readonly name = 'redis';
  private readonly gate = new LifecycleGate();
  private readonly clients: Redis[] = [];
  private commandsClient: Redis | undefined;

  constructor(private readonly options: RedisConnectionsOptions) {}

  get commands(): Redis {
    if (!this.commandsClient) throw new Error('redis connections are not started');
    return this.commandsClient;
  }

  start(): Promise<void> {
    return this.gate.start(async () => {
      this.commandsClient = await this.dedicated('commands');
      this.options.logger.info(
        { host: this.options.host, port: this.options.port, db: this.options.db },
        'redis connected',
      );
    });
  }

  /** A new connected client counted against the connection cap. */
  async dedicated(purpose: string): Promise<Redis> {
    if (this.clients.length >= this.options.maxConnections) {
      throw new Error(
        `REDIS_MAX_CONNECTIONS (${this.options.maxConnections}) reached; cannot open a connection for ${purpose}`,
      );
    }
    const logger = this.options.logger.child({ redis_client: purpose });
    const client = new Redis({
      host: this.options.host,
      port: this.options.port,
      db: this.options.db,
      password: this.options.password === '' ? undefined : this.options.password,
      connectionName: purpose,
      lazyConnect: true,
      connectTimeout: this.options.connectTimeoutMs ?? 5_000,
      // Fail commands fast while disconnected rather than queueing them forever.
      maxRetriesPerRequest: 2,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
      reconnectOnError: (err) => err.message.startsWith('READONLY'),
    });
    let lastError: Error | undefined;
    client.on('error', (err: Error) => {
      lastError = err;
      logger.warn({ err: err.message }, 'redis client error');
    });
    client.on('reconnecting', (ms: number) => logger.info({ in_ms: ms }, 'redis reconnecting'));
    this.clients.push(client);
    try {
      await client.connect();
    } catch (err) {
      this.clients.splice(this.clients.indexOf(client), 1);
      client.disconnect();
      throw new Error(
        `cannot connect to redis at ${this.options.host}:${this.options.port}: ${(lastError ?? (err as Error)).message}`,
        { cause: err },
      );
    }
    return client;
  }

  /** Closes a dedicated client and frees its place under the cap. */
  async release(client: Redis): Promise<void> {
    const index = this.clients.indexOf(client);
    if (index >= 0) this.clients.splice(index, 1);
    await client.quit().catch(() => client.disconnect());
  }

  get openConnections(): number {
    return this.clients.length;
  }

  async ping(): Promise<void> {
    const reply: string = await this.commands.ping();
    if (reply !== 'PONG') throw new Error(`unexpected PING reply ${reply}`);
  }

  stop(): Promise<void> {
    return this.gate.stop(async () => {
      const clients = this.clients.splice(0);
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      this.commandsClient = undefined;
    });
  }
}
