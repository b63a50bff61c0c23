import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { AppError } from '../platform/errors/app-error.js';
import { LuaScript } from '../platform/redis/lua-script.js';

// INCR and set the expiry in one step: a crash or a concurrent request between the two can never
// leave a counter without a TTL (which would block its client forever).
const INCREMENT = new LuaScript(`
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { hits, ttl }
`);

export interface RedisRateLimitStoreOptions {
  /** The client, read per call: the shared commands client exists only once Redis has started. */
  client: () => Redis;
  /** Key prefix, including the group: counters of different groups never mix. */
  prefix: string;
}

/**
 * Fixed-window counters in Redis for express-rate-limit, shared by every API process that uses
 * the same Redis and prefix. Failures surface as AppError('dependency_unavailable'), which the
 * limiter passes on (fail open) or the error handler answers with 503 (fail closed).
 */
export class RedisRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private windowMs = 60_000;

  constructor(private readonly options: RedisRateLimitStoreOptions) {
    this.prefix = options.prefix;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const reply = await this.call(() =>
      INCREMENT.run(this.options.client(), 1, this.prefix + key, this.windowMs),
    );
    const [hits, ttl] = reply as [number, number];
    return { totalHits: hits, resetTime: new Date(Date.now() + ttl) };
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const [hits, ttl] = await this.call(async () => {
      const client = this.options.client();
      return Promise.all([client.get(this.prefix + key), client.pttl(this.prefix + key)]);
    });
    if (hits === null) return undefined;
    return { totalHits: Number(hits), resetTime: new Date(Date.now() + Math.max(ttl, 0)) };
  }

  async decrement(key: string): Promise<void> {
    await this.call(() => this.options.client().decr(this.prefix + key));
  }

  async resetKey(key: string): Promise<void> {
    await this.call(() => this.options.client().del(this.prefix + key));
  }

  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw new AppError(
        'dependency_unavailable',
        'Rate limiting is unavailable (its store does not answer); try again shortly',
        { cause: err },
      );
    }
  }
}
