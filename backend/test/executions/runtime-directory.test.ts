import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LimitEnforcement, Runtime } from '../../src/executor/executor-backend.js';
import { RuntimeDirectory } from '../../src/executions/runtime-directory.js';
import { RedisConnections } from '../../src/platform/redis/redis-connections.js';
import { testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

const runtime = (lang: string, version: string): Runtime => ({
  lang,
  version,
  fullVersion: version,
  fileExtension: 'x',
  command: [],
  exampleScript: '',
});
const enforcement = { network: 'netns' } as unknown as LimitEnforcement;

describe('RuntimeDirectory against redis-server', () => {
  const settings = testSettings();
  const redis = new RedisConnections({
    host: settings.REDIS_HOST,
    port: settings.REDIS_PORT,
    db: settings.REDIS_DB,
    password: settings.REDIS_PASSWORD,
    maxConnections: 4,
    logger: testLogger(),
  });
  beforeAll(() => redis.start());
  afterAll(() => redis.stop());

  it('when two workers advertise and one withdraws, then the other keeps the runtimes available', async () => {
    const key = `it:${uniqueSuffix()}:adverts`;
    const a = new RuntimeDirectory(() => redis.commands, { key, instanceId: 'a', cacheMs: 0 });
    const b = new RuntimeDirectory(() => redis.commands, { key, instanceId: 'b', cacheMs: 0 });
    const reader = new RuntimeDirectory(() => redis.commands, { key, cacheMs: 0 });
    await a.advertise({ backend: 'local', runtimes: [runtime('python', '3.11')], enforcement });
    await b.advertise({
      backend: 'local',
      runtimes: [runtime('python', '3.11'), runtime('node', '20')],
      enforcement,
    });
    expect((await reader.current())?.runtimes.map((r) => r.lang).sort()).toEqual(['node', 'python']);
    await b.withdraw();
    expect((await reader.current())?.runtimes.map((r) => r.lang)).toEqual(['python']);
    await a.withdraw();
    expect(await reader.current()).toBeNull();
  });

  it('when an advert is older than the TTL, then it is ignored and pruned on the next advertise', async () => {
    const key = `it:${uniqueSuffix()}:adverts`;
    await redis.commands.hset(
      key,
      'dead',
      JSON.stringify({
        backend: 'local',
        runtimes: [runtime('ruby', '3.3')],
        enforcement,
        refreshedAt: Date.now() - 60_000,
      }),
    );
    const reader = new RuntimeDirectory(() => redis.commands, { key, ttlSeconds: 30, cacheMs: 0 });
    expect(await reader.current()).toBeNull();
    const live = new RuntimeDirectory(() => redis.commands, { key, instanceId: 'live', ttlSeconds: 30 });
    await live.advertise({ backend: 'local', runtimes: [runtime('python', '3.11')], enforcement });
    expect(await redis.commands.hkeys(key)).toEqual(['live']);
  });
});
