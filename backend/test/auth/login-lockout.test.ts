import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { createKafka } from '../../src/platform/kafka/client.js';
import { RedisConnections } from '../../src/platform/redis/redis-connections.js';
import { LoginLockout } from '../../src/users/login-lockout.js';
import { eventually, testLogger } from '../test-logger.js';
import { uniqueSuffix } from '../test-settings.js';
import { ApiHarness, bearer, type ErrorBody } from './api-harness.js';

const MAX = 3;

describe('login lockout in Redis', () => {
  const h = new ApiHarness({
    INTEGR8SCODE_LOGIN_MAX_ATTEMPTS: String(MAX),
    INTEGR8SCODE_LOGIN_LOCKOUT_MINUTES: '10',
  });
  const redis = new RedisConnections({
    host: h.settings.REDIS_HOST,
    port: h.settings.REDIS_PORT,
    db: h.settings.REDIS_DB,
    password: h.settings.REDIS_PASSWORD,
    maxConnections: 2,
    logger: testLogger(),
  });

  const failures: Array<{ username: string; reason: string }> = [];
  let consumer: Consumer;

  beforeAll(async () => {
    await h.start();
    await redis.start();
    consumer = createKafka(h.settings, testLogger()).consumer({
      groupId: `rec-${uniqueSuffix()}`,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({
      topics: [`${h.settings.KAFKA_TOPIC_PREFIX}auth_failed`],
      fromBeginning: true,
    });
    await consumer.run({
      eachMessage: ({ message }) => {
        const event = JSON.parse(message.value?.toString() ?? 'null') as {
          payload: { username: string; reason: string };
        };
        failures.push(event.payload);
        return Promise.resolve();
      },
    });
  });
  afterAll(async () => {
    await consumer.disconnect();
    await redis.stop();
    await h.stop();
  });

  const attempt = (username: string, password: string): Promise<Response> =>
    h.request('POST', '/auth/login', { body: { username, password } });

  async function failTimes(username: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) expect((await attempt(username, 'wrong password!')).status).toBe(401);
  }

  it('when a username fails LOGIN_MAX_ATTEMPTS times, then the next login is 423 with locked_until, even with the right password', async () => {
    const { credentials } = await h.register();
    const before = Date.now();
    await failTimes(credentials.username, MAX);
    const res = await attempt(credentials.username, credentials.password);
    expect(res.status).toBe(423);
    const body = (await res.json()) as ErrorBody;
    expect(body.type).toBe('locked');
    const until = Date.parse(body.locked_until ?? '');
    expect(until).toBeGreaterThan(before + 9 * 60_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 10 * 60_000 + 1_000);
    expect(body.detail).toBe(
      `Account locked after ${MAX} failed attempts; try again after ${body.locked_until}`,
    );
    expect(res.headers.getSetCookie()).toEqual([]);

    const reasons = await eventually(
      () => {
        const mine = failures.filter((f) => f.username === credentials.username).map((f) => f.reason);
        return mine.includes('locked') ? mine : undefined;
      },
      { what: 'auth_failed with reason locked' },
    );
    expect(reasons.filter((r) => r === 'wrong_password')).toHaveLength(MAX);
  });

  it('when a user logs in successfully, then the failures before are forgotten', async () => {
    const { credentials } = await h.register();
    await failTimes(credentials.username, MAX - 1);
    await h.login(credentials);
    await failTimes(credentials.username, MAX - 1);
    await h.login(credentials);
  });

  it('when an admin unlocks a locked user, then that user can log in again', async () => {
    const { credentials, user } = await h.register();
    await failTimes(credentials.username, MAX);
    expect((await attempt(credentials.username, credentials.password)).status).toBe(423);

    const admin = await h.login(await h.createUser('admin'));
    const unlock = await h.request('POST', `/admin/users/${user.id}/unlock`, {
      headers: bearer(admin.access_token),
    });
    expect(unlock.status).toBe(200);
    await h.login(credentials);
  });

  it('when an unknown username keeps failing, then it is locked like a real one', async () => {
    const name = h.newCredentials('ghost').username;
    await failTimes(name, MAX);
    expect((await attempt(name, 'whatever password')).status).toBe(423);
  });

  it('when the window ends, then the lock ends with it', async () => {
    const lockout = new LoginLockout({ redis: () => redis.commands, maxAttempts: 2, windowSeconds: 1 });
    const name = h.newCredentials('window').username;
    await lockout.recordFailure(name);
    const second = await lockout.recordFailure(name);
    expect(second.attempts).toBe(2);
    expect(second.lockedUntil).toBeInstanceOf(Date);
    expect(await lockout.lockedUntil(name)).toBeInstanceOf(Date);
    await eventually(async () => ((await lockout.lockedUntil(name)) === undefined ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 100,
      what: 'the lock to end',
    });
  });
});
