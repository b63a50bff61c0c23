import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import type { RedisFailurePolicy } from '../../src/rate-limit/middleware.js';
import { CachedOverrides } from '../../src/rate-limit/override-cache.js';
import { RateLimitOverrideRepository } from '../../src/rate-limit/override-repository.js';
import { rulesFromSettings } from '../../src/rate-limit/policy.js';
import { testLogger } from '../test-logger.js';
import { uniqueSuffix } from '../test-settings.js';
import { rateLimitSettings } from './helpers.js';

describe('rate limiting when Redis is unreachable', () => {
  const settings = rateLimitSettings();
  const logger = testLogger();
  const mongo = new MongoConnection({ url: settings.MONGODB_URL, dbName: settings.DATABASE_NAME, logger });
  // A real client pointed at a port where nothing listens, failing commands at once.
  const dead = new Redis({
    host: '127.0.0.1',
    port: 1,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  dead.on('error', () => undefined);
  const servers: Server[] = [];

  beforeAll(() => mongo.start());
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    dead.disconnect();
    await mongo.stop();
  });

  async function serve(policy: RedisFailurePolicy): Promise<string> {
    const app = createApp({
      logger,
      healthChecks: [],
      rateLimit: {
        rules: rulesFromSettings(settings),
        overrides: new CachedOverrides({ store: new RateLimitOverrideRepository(mongo) }),
        redis: () => dead,
        keyPrefix: `it-rl-${uniqueSuffix()}:`,
        onRedisFailure: policy,
        logger,
      },
    });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    servers.push(server);
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return `http://127.0.0.1:${address.port}/api/v1`;
  }

  it('when the policy is open, then requests pass (beyond the limit too) without limit headers', async () => {
    const base = await serve('open');
    for (let i = 0; i < 7; i++) {
      const res = await fetch(`${base}/rate-limit-probe`);
      expect(res.status).toBe(404);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });

  it('when the policy is closed, then requests get 503 dependency_unavailable; health stays reachable', async () => {
    const base = await serve('closed');
    const res = await fetch(`${base}/rate-limit-probe`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      detail: 'Rate limiting is unavailable (its store does not answer); try again shortly',
      type: 'dependency_unavailable',
    });
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
  });
});
