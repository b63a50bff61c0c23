import type { Redis } from 'ioredis';
import { LuaScript } from '../platform/redis/lua-script.js';
import { usernameKey } from './user.js';

export interface LoginLockoutOptions {
  redis: () => Redis;
  /** Failed logins for one username from one client, within the window, after which that client is locked. */
  maxAttempts: number;
  windowSeconds: number;
  now?: () => number;
}

/** Why a login is refused before its password is checked. */
export type LoginRefusal =
  /** This client failed `maxAttempts` times for the name: locked out of it until the window ends. */
  | { kind: 'locked'; until: Date }
  /** Many clients failed for the name: anyone must wait a little between attempts. */
  | { kind: 'backoff'; retryAfterMs: number };

/** Failures of all clients for one name after which the name-wide back-off starts. */
export const BACKOFF_AFTER_FACTOR = 2;
const BACKOFF_BASE_MS = 2_000;
const BACKOFF_MAX_MS = 60_000;

// One hash per username: `total`, `last` (ms of the latest failure) and one counter per client.
// The window (and every lock in it) starts at the name's first failure.
const RECORD_FAILURE = new LuaScript(`
local created = redis.call('EXISTS', KEYS[1]) == 0
local total = redis.call('HINCRBY', KEYS[1], 'total', 1)
local mine = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HSET', KEYS[1], 'last', ARGV[2])
if created then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {total, mine, redis.call('PTTL', KEYS[1])}
`);

/**
 * Brute-force protection without handing anyone a way to lock a victim out. Failed logins are
 * counted in Redis per username (`auth:login-failures:<name>`, the name lowercased) and, within
 * that, per client IP. A client that fails `maxAttempts` times is locked out of that name until the
 * window ends; other clients are not. Once the name has `BACKOFF_AFTER_FACTOR × maxAttempts`
 * failures from all clients together (a distributed guess), every client waits between attempts,
 * 2 s doubling per further failure up to 60 s, so guessing stays slow but the owner is never
 * locked out for the whole window. Redis keeps it consistent across API processes.
 */
export class LoginLockout {
  private readonly now: () => number;

  constructor(private readonly options: LoginLockoutOptions) {
    this.now = options.now ?? Date.now;
  }

  get maxAttempts(): number {
    return this.options.maxAttempts;
  }

  private get backoffAfter(): number {
    return this.options.maxAttempts * BACKOFF_AFTER_FACTOR;
  }

  /** Why `client` may not try `username` now, or undefined when it may. */
  async refusal(username: string, client: string): Promise<LoginRefusal | undefined> {
    const redis = this.options.redis();
    const k = key(username);
    const [[total, last, mine], ttl] = await Promise.all([
      redis.hmget(k, 'total', 'last', clientField(client)),
      redis.pttl(k),
    ]);
    if (ttl <= 0) return undefined;
    if (Number(mine ?? 0) >= this.options.maxAttempts) {
      return { kind: 'locked', until: new Date(this.now() + ttl) };
    }
    const failures = Number(total ?? 0);
    if (failures < this.backoffAfter) return undefined;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - this.backoffAfter));
    const retryAfterMs = Number(last ?? 0) + delay - this.now();
    return retryAfterMs > 0 ? { kind: 'backoff', retryAfterMs } : undefined;
  }

  /** Counts one failed login of `client`; returns this client's count and, once locked, the lock end. */
  async recordFailure(username: string, client: string): Promise<{ attempts: number; lockedUntil?: Date }> {
    const reply = (await RECORD_FAILURE.run(
      this.options.redis(),
      1,
      key(username),
      clientField(client),
      String(this.now()),
      String(this.options.windowSeconds * 1000),
    )) as [number, number, number];
    const [, attempts, ttl] = reply;
    if (attempts < this.options.maxAttempts || ttl <= 0) return { attempts };
    return { attempts, lockedUntil: new Date(this.now() + ttl) };
  }

  /**
   * After a successful login: forgets this client's failures and the name-wide back-off (the
   * owner proved the password); other clients stay locked until the window ends.
   */
  async succeeded(username: string, client: string): Promise<void> {
    await this.options.redis().hdel(key(username), clientField(client), 'total', 'last');
  }

  /** Forgets every failure of `username` from every client (admin unlock). */
  async reset(username: string): Promise<void> {
    await this.options.redis().del(key(username));
  }
}

function key(username: string): string {
  return `auth:login-failures:${usernameKey(username)}`;
}

function clientField(client: string): string {
  return `client:${client}`;
}
