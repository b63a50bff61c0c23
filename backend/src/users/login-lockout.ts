import type { Redis } from 'ioredis';

export interface LoginLockoutOptions {
  redis: () => Redis;
  /** Failed logins for one username, within the window, after which the name is locked. */
  maxAttempts: number;
  windowSeconds: number;
  now?: () => number;
}

export interface LockState {
  attempts: number;
  /** Set while the username is locked: when the window (and the lock) ends. */
  lockedUntil?: Date;
}

/**
 * Failed-login counters in Redis (`auth:login-failures:<username>`), one fixed window per
 * username that starts at its first failure; once `maxAttempts` is reached the name stays locked
 * until the key expires. Redis keeps it consistent across API processes.
 */
export class LoginLockout {
  private readonly now: () => number;

  constructor(private readonly options: LoginLockoutOptions) {
    this.now = options.now ?? Date.now;
  }

  get maxAttempts(): number {
    return this.options.maxAttempts;
  }

  /** The lock end when `username` is locked now, else undefined. */
  async lockedUntil(username: string): Promise<Date | undefined> {
    const redis = this.options.redis();
    const [count, ttl] = await Promise.all([redis.get(key(username)), redis.pttl(key(username))]);
    if (count === null || Number(count) < this.options.maxAttempts || ttl <= 0) return undefined;
    return new Date(this.now() + ttl);
  }

  /** Counts one failed login; the window starts with the first failure. */
  async recordFailure(username: string): Promise<LockState> {
    const k = key(username);
    const replies = await this.options
      .redis()
      .multi()
      .set(k, '0', 'PX', this.options.windowSeconds * 1000, 'NX')
      .incr(k)
      .pttl(k)
      .exec();
    const attempts = Number(replies?.[1]?.[1] ?? 0);
    const ttl = Number(replies?.[2]?.[1] ?? -1);
    if (attempts < this.options.maxAttempts || ttl <= 0) return { attempts };
    return { attempts, lockedUntil: new Date(this.now() + ttl) };
  }

  /** Forgets the failures of `username` (successful login, admin unlock). */
  async reset(username: string): Promise<void> {
    await this.options.redis().del(key(username));
  }
}

function key(username: string): string {
  return `auth:login-failures:${username}`;
}
