import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LuaScript } from '../platform/redis/lua-script.js';

export interface StreamSlotsOptions {
  redis: () => Redis;
  /** SSE_MAX_STREAMS_PER_USER. */
  maxPerUser: number;
  /**
   * How long a slot outlives its last refresh: the safety net for a process that dies without
   * releasing. Held slots are refreshed every third of it.
   */
  ttlMs: number;
  keyPrefix?: string;
  now?: () => number;
}

/** A held stream slot; `release()` frees it (idempotent). */
export interface StreamSlot {
  release(): Promise<void>;
}

// A sorted set per user: member = one open stream, score = when it expires unless refreshed.
const ACQUIRE = new LuaScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`);

/**
 * Counts each user's open SSE streams in Redis, so the cap holds across API processes. A slot is
 * taken before a stream opens, refreshed while it lives and released when it closes; slots of a
 * process that died expire after `ttlMs`.
 */
export class StreamSlots {
  private readonly now: () => number;

  constructor(private readonly options: StreamSlotsOptions) {
    this.now = options.now ?? Date.now;
  }

  get maxPerUser(): number {
    return this.options.maxPerUser;
  }

  /** A slot for one more stream of `userId`, or undefined when the user already holds the maximum. */
  async acquire(userId: string): Promise<StreamSlot | undefined> {
    const key = `${this.options.keyPrefix ?? 'sse:streams:'}${userId}`;
    const member = randomUUID();
    const { ttlMs } = this.options;
    const now = this.now();
    const taken = await ACQUIRE.run(
      this.options.redis(),
      1,
      key,
      String(now),
      String(this.options.maxPerUser),
      String(now + ttlMs),
      member,
      String(ttlMs),
    );
    if (taken !== 1) return undefined;
    const refresh = setInterval(
      () => {
        const redis = this.options.redis();
        // A failed refresh only shortens the slot's life to its TTL; the stream goes on.
        void redis
          .multi()
          .zadd(key, 'XX', this.now() + ttlMs, member)
          .pexpire(key, ttlMs)
          .exec()
          .catch(() => undefined);
      },
      Math.max(1, Math.floor(ttlMs / 3)),
    );
    refresh.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(refresh);
        await this.options.redis().zrem(key, member);
      },
    };
  }
}
