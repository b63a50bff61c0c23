import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitRequestHandler } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { AppError } from '../platform/errors/app-error.js';
import type { Logger } from '../platform/logging/logger.js';
import { groupOf, RATE_LIMIT_GROUPS, type RateLimitGroup } from './groups.js';
import type { CachedOverrides } from './override-cache.js';
import { effectiveLimit, type GroupRules } from './policy.js';
import { unitOf } from './rate.js';
import { RedisRateLimitStore } from './redis-store.js';

export type RedisFailurePolicy = 'open' | 'closed';

export interface RateLimitOptions {
  rules: GroupRules;
  overrides: Pick<CachedOverrides, 'find'>;
  /** The Redis client, read per request (the shared client exists once Redis has started). */
  redis: () => Redis;
  keyPrefix: string;
  onRedisFailure: RedisFailurePolicy;
  /**
   * Attaches `req.authSession` when the request carries a valid token (`identify(auth)`), so that
   * authenticated callers are counted per user. Absent: every caller is counted per IP.
   */
  identify?: RequestHandler;
  logger: Logger;
}

interface Decision {
  group: RateLimitGroup;
  limit: number;
}

/** The counter key of a caller within a group: the user id when known, else the client IP. */
export function clientKey(req: Request): string {
  const userId = req.authSession?.user.id;
  if (userId !== undefined) return `user:${userId}`;
  return `ip:${req.ip === undefined ? 'unknown' : ipKeyGenerator(req.ip)}`;
}

/** The Redis key of a user's counter in a group, for resetting it. */
export function userCounterKey(keyPrefix: string, group: RateLimitGroup, userId: string): string {
  return `${keyPrefix}${group}:user:${userId}`;
}

/**
 * Limits requests per group (see `groupOf`) and caller, counting in Redis so every API
 * process shares one budget. Health endpoints pass untouched; an override can lift or scale a
 * user's limits. Over the limit: 429 with Retry-After; Redis down: per `onRedisFailure`.
 */
export function rateLimiter(options: RateLimitOptions): RequestHandler {
  const decisions = new WeakMap<Request, Decision>();
  const log = options.logger.child({ component: 'rate-limit' });
  const limiters = Object.fromEntries(
    RATE_LIMIT_GROUPS.map((group) => [group, groupLimiter(group)]),
  ) as Record<RateLimitGroup, RateLimitRequestHandler>;

  function groupLimiter(group: RateLimitGroup): RateLimitRequestHandler {
    const { windowMs } = options.rules[group];
    return rateLimit({
      windowMs,
      limit: (req) => decisions.get(req)?.limit ?? options.rules[group].limit,
      identifier: group,
      standardHeaders: 'draft-8',
      legacyHeaders: true,
      keyGenerator: (req) => clientKey(req),
      store: new RedisRateLimitStore({ client: options.redis, prefix: `${options.keyPrefix}${group}:` }),
      passOnStoreError: options.onRedisFailure === 'open',
      logger: {
        warn: (err, message) => log.warn({ err }, message ?? 'rate limiter warning'),
        error: (err, message) => log.error({ err }, message ?? 'rate limiter error'),
      },
      // Ignoring X-Forwarded-For unless TRUSTED_PROXIES names the sender is deliberate here.
      validate: { xForwardedForHeader: false, forwardedHeader: false },
      handler: (req: Request, res: Response, next) => {
        const limit = decisions.get(req)?.limit ?? options.rules[group].limit;
        // The limiter has set Retry-After (seconds to the window's end) just before calling this.
        const retryIn = Number(res.getHeader('Retry-After') ?? Math.ceil(windowMs / 1000));
        next(
          new AppError(
            'rate_limited',
            `Rate limit exceeded: ${limit} requests per ${unitOf(windowMs)} for ${group}; retry in ${retryIn} s`,
          ),
        );
      },
    });
  }

  async function decide(req: Request, res: Response): Promise<RateLimitRequestHandler | undefined> {
    const group = groupOf(req.method, req.path);
    if (group === undefined) return undefined;
    const userId = req.authSession?.user.id;
    const override = userId === undefined ? null : await options.overrides.find(userId);
    const effective = effectiveLimit(options.rules, group, override);
    if (effective.bypass) {
      res.setHeader('X-RateLimit-Bypass', 'true');
      return undefined;
    }
    decisions.set(req, { group, limit: effective.limit });
    return limiters[group];
  }

  const identify = options.identify;
  return async (req, res, next) => {
    if (identify !== undefined && groupOf(req.method, req.path) !== undefined) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: unknown): void => {
          if (err === undefined) resolve();
          else reject(err instanceof Error ? err : new Error('identify failed', { cause: err }));
        };
        void Promise.resolve(identify(req, res, done)).catch(done);
      });
    }
    const limiter = await decide(req, res);
    if (limiter === undefined) {
      next();
      return;
    }
    await limiter(req, res, next);
  };
}
