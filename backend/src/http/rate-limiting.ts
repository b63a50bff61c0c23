import type { Logger } from '../platform/logging/logger.js';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';
import type { RedisConnections } from '../platform/redis/redis-connections.js';
import { CachedOverrides } from '../rate-limit/override-cache.js';
import { RateLimitOverrideRepository } from '../rate-limit/override-repository.js';
import { rulesFromSettings } from '../rate-limit/policy.js';
import type { Settings } from '../settings/settings.js';
import type { AuthService } from '../users/auth-service.js';
import type { User } from '../users/user.js';
import type { AppOptions } from './app.js';
import { identify } from './authenticate.js';

export interface RateLimitingDeps {
  settings: Settings;
  mongo: MongoConnection;
  redis: RedisConnections;
  auth: AuthService;
  users: { findById(id: string): Promise<User | null> };
  logger: Logger;
}

/** The rate-limit parts of the app: the limiter (unless disabled), its admin routes, trusted proxies. */
export function rateLimiting({
  settings,
  mongo,
  redis,
  auth,
  users,
  logger,
}: RateLimitingDeps): Pick<AppOptions, 'rateLimit' | 'adminRateLimits' | 'trustedProxies'> {
  const rules = rulesFromSettings(settings);
  const overrides = new CachedOverrides({ store: new RateLimitOverrideRepository(mongo) });
  const client = () => redis.commands;
  const keyPrefix = settings.RATE_LIMIT_KEY_PREFIX;
  return {
    rateLimit: settings.RATE_LIMIT_ENABLED
      ? {
          rules,
          overrides,
          redis: client,
          keyPrefix,
          onRedisFailure: settings.RATE_LIMIT_REDIS_FAILURE,
          identify: identify(auth),
          logger,
        }
      : undefined,
    adminRateLimits: { auth, users, overrides, rules, redis: client, keyPrefix },
    trustedProxies: parseTrustedProxies(settings.TRUSTED_PROXIES),
  };
}

export function parseTrustedProxies(value: string): string[] {
  return value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}
