import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from 'kafkajs';
import { createKafka } from '../../src/platform/kafka/client.js';
import { RedisConnections } from '../../src/platform/redis/redis-connections.js';
import { BACKOFF_AFTER_FACTOR, LoginLockout } from '../../src/users/login-lockout.js';
import { eventually, testLogger } from '../test-logger.js';
import { uniqueSuffix } from '../test-settings.js';
import { ApiHarness, bearer, type ErrorBody } from './api-harness.js';

const MAX = 3;

describe('login lockout in Redis, per username and client', () => {
  // Clients are told apart by X-Forwarded-For, which the API believes from the trusted loopback.
  const h = new ApiHarness({
    INTEGR8SCODE_LOGIN_MAX_ATTEMPTS: String(MAX),
    INTEGR8SCODE_LOGIN_LOCKOUT_MINUTES: '10',
    INTEGR8SCODE_TRUSTED_PROXIES: '127.0.0.1',
  });
  const redis = new RedisConnections({
    host: h.settings.REDIS_HOST,
    port: h.settings.REDIS_PORT,
    db: h.settings.REDIS_DB,
    password: h.settings.REDIS_PASSWORD,
    maxConnections: 2,
    logger: testLogger(),
  });

  const failures: Array<{ username: string; reason: string; ip?: string }> = [];
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
          payload: { username: string; reason: string; ip?: string };
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

  /** A client at its own address; TEST-NET addresses, unique per call. */
  let clients = 0;
  const newClient = (): string => `198.51.100.${(clients++ % 250) + 1}`;

  const attempt = (username: string, password: string, ip: string): Promise<Response> =>
    h.request('POST', '/auth/login', { body: { username, password }, headers: { 'x-forwarded-for': ip } });

  async function failTimes(username: string, n: number, ip: string): Promise<void> {
    for (let i = 0; i < n; i++) expect((await attempt(username, 'wrong password!', ip)).status).toBe(401);
  }

  it('when a client fails LOGIN_MAX_ATTEMPTS times, then its next login is 423 with locked_until, even with the right password', async () => {
    const { credentials } = await h.register();
    const attacker = newClient();
    const before = Date.now();
    await failTimes(credentials.username, MAX, attacker);
    const res = await attempt(credentials.username, credentials.password, attacker);
    expect(res.status).toBe(423);
    const body = (await res.json()) as ErrorBody;
    expect(body.type).toBe('locked');
    const until = Date.parse(body.locked_until ?? '');
    expect(until).toBeGreaterThan(before + 9 * 60_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 10 * 60_000 + 1_000);
    expect(body.detail).toBe(
      `Login locked for this client after ${MAX} failed attempts; try again after ${body.locked_until}`,
    );
    expect(res.headers.getSetCookie()).toEqual([]);

    const mine = await eventually(
      () => {
        const found = failures.filter((f) => f.username === credentials.username);
        return found.some((f) => f.reason === 'locked') ? found : undefined;
      },
      { what: 'auth_failed with reason locked' },
    );
    expect(mine.filter((f) => f.reason === 'wrong_password')).toHaveLength(MAX);
    expect(mine.every((f) => f.ip === attacker)).toBe(true);
  });

  it('when an attacker locks a username from one address, then its owner still logs in from another', async () => {
    const { credentials } = await h.register(h.newCredentials('victim'));
    const attacker = newClient();
    await failTimes(credentials.username, MAX, attacker);
    // More tries while locked are refused unchecked and do not count anywhere.
    for (let i = 0; i < 3; i++)
      expect((await attempt(credentials.username, 'guess!', attacker)).status).toBe(423);

    const owner = await attempt(credentials.username, credentials.password, newClient());
    expect(owner.status).toBe(200);
    // The owner's login does not unlock the attacker.
    expect((await attempt(credentials.username, credentials.password, attacker)).status).toBe(423);
  });

  it('when a user logs in successfully, then the failures of that client before are forgotten', async () => {
    const { credentials } = await h.register();
    const ip = newClient();
    await failTimes(credentials.username, MAX - 1, ip);
    expect((await attempt(credentials.username, credentials.password, ip)).status).toBe(200);
    await failTimes(credentials.username, MAX - 1, ip);
    expect((await attempt(credentials.username, credentials.password, ip)).status).toBe(200);
  });

  it('when an admin unlocks a user, then the locked clients can log in again', async () => {
    const { credentials, user } = await h.register();
    const ip = newClient();
    await failTimes(credentials.username, MAX, ip);
    expect((await attempt(credentials.username, credentials.password, ip)).status).toBe(423);

    const admin = await h.login(await h.createUser('admin'));
    const unlock = await h.request('POST', `/admin/users/${user.id}/unlock`, {
      headers: bearer(admin.access_token),
    });
    expect(unlock.status).toBe(200);
    expect((await attempt(credentials.username, credentials.password, ip)).status).toBe(200);
  });

  it('when an unknown username keeps failing, then it is locked like a real one', async () => {
    const name = h.newCredentials('ghost').username;
    const ip = newClient();
    await failTimes(name, MAX, ip);
    expect((await attempt(name, 'whatever password', ip)).status).toBe(423);
  });

  it('when the name is typed in another case, then the failures count for the same account', async () => {
    const { credentials } = await h.register();
    const ip = newClient();
    await failTimes(credentials.username.toUpperCase(), MAX, ip);
    expect((await attempt(credentials.username, credentials.password, ip)).status).toBe(423);
  });

  it('when many clients fail for one username, then every client backs off (429 with Retry-After) and the owner gets in once it passes', async () => {
    const { credentials } = await h.register();
    // BACKOFF_AFTER_FACTOR clients' worth of failures: the name-wide back-off starts.
    for (let i = 0; i < BACKOFF_AFTER_FACTOR; i++) await failTimes(credentials.username, MAX, newClient());
    const owner = newClient();
    const refused = await attempt(credentials.username, credentials.password, owner);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(await refused.json()).toEqual({
      detail: `Too many failed logins for this username; retry in ${retryAfter} s`,
      type: 'rate_limited',
      retry_after: retryAfter,
    });
    // Refused attempts are not checked and not counted: the owner gets in after the delay.
    const status = await eventually(
      async () => {
        const res = await attempt(credentials.username, credentials.password, owner);
        return res.status === 200 ? res.status : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, what: 'the back-off to pass' },
    );
    expect(status).toBe(200);
  });

  it('when the window ends, then the lock ends with it', async () => {
    const lockout = new LoginLockout({ redis: () => redis.commands, maxAttempts: 2, windowSeconds: 1 });
    const name = h.newCredentials('window').username;
    await lockout.recordFailure(name, '203.0.113.9');
    const second = await lockout.recordFailure(name, '203.0.113.9');
    expect(second.attempts).toBe(2);
    expect(second.lockedUntil).toBeInstanceOf(Date);
    expect(await lockout.refusal(name, '203.0.113.9')).toMatchObject({ kind: 'locked' });
    expect(await lockout.refusal(name, '203.0.113.10')).toBeUndefined();
    await eventually(
      async () => ((await lockout.refusal(name, '203.0.113.9')) === undefined ? true : undefined),
      {
        timeoutMs: 5_000,
        intervalMs: 100,
        what: 'the lock to end',
      },
    );
  });
});
