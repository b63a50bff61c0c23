import { afterEach, describe, expect, it } from 'vitest';
import { RedisConnections } from '../../src/platform/redis/redis-connections.js';
import { eventually, testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

const settings = testSettings();
const opened: RedisConnections[] = [];

function connections(
  overrides: Partial<{ password: string; maxConnections: number }> = {},
): RedisConnections {
  const c = new RedisConnections({
    host: settings.REDIS_HOST,
    port: settings.REDIS_PORT,
    db: settings.REDIS_DB,
    password: settings.REDIS_PASSWORD,
    maxConnections: settings.REDIS_MAX_CONNECTIONS,
    logger: testLogger(),
    connectTimeoutMs: 1_000,
    ...overrides,
  });
  opened.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.stop()));
});

describe('Redis adapter against redis-server', () => {
  it('when started with the password, then commands work', async () => {
    const redis = connections();
    await redis.start();
    const key = `it:${uniqueSuffix()}`;
    await redis.commands.set(key, 'v', 'EX', 60);
    expect(await redis.commands.get(key)).toBe('v');
    await expect(redis.ping()).resolves.toBeUndefined();
  });

  it('when the password is wrong, then start fails naming the server and the cause', async () => {
    const redis = connections({ password: 'not-the-password' });
    await expect(redis.start()).rejects.toThrow(
      new RegExp(
        `cannot connect to redis at ${settings.REDIS_HOST}:${settings.REDIS_PORT}: .*(WRONGPASS|invalid)`,
      ),
    );
  });

  it('when the server drops the connection, then the client reconnects and commands work again', async () => {
    const redis = connections();
    await redis.start();
    const admin = await redis.dedicated('admin');
    const id = await redis.commands.client('ID');
    await admin.client('KILL', 'ID', String(id));
    const key = `it:${uniqueSuffix()}`;
    await eventually(async () => ((await redis.commands.set(key, '1')) === 'OK' ? true : undefined), {
      what: 'a command after reconnect',
    });
    expect(await redis.commands.client('ID')).not.toBe(id);
  });

  it('when pub/sub needs its own connection, then a dedicated client receives what the shared one publishes', async () => {
    const redis = connections();
    await redis.start();
    const subscriber = await redis.dedicated('subscriber');
    const channel = `it:${uniqueSuffix()}`;
    const received: string[] = [];
    subscriber.on('message', (_ch: string, msg: string) => received.push(msg));
    await subscriber.subscribe(channel);
    await redis.commands.publish(channel, 'hello');
    await eventually(() => (received.length > 0 ? received : undefined), { what: 'the published message' });
    expect(received).toEqual(['hello']);
  });

  it('when REDIS_MAX_CONNECTIONS is reached, then another connection is refused until one is released', async () => {
    const redis = connections({ maxConnections: 2 });
    await redis.start();
    const second = await redis.dedicated('second');
    await expect(redis.dedicated('third')).rejects.toThrow('REDIS_MAX_CONNECTIONS (2) reached');
    await redis.release(second);
    await expect(redis.dedicated('third')).resolves.toBeDefined();
    expect(redis.openConnections).toBe(2);
  });

  it('when stopped twice, then the second stop is a no-op', async () => {
    const redis = connections();
    await redis.start();
    await redis.stop();
    await expect(redis.stop()).resolves.toBeUndefined();
    expect(redis.openConnections).toBe(0);
  });
});
