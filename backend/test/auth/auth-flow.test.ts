import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiProcess, type ApiProcess } from '../../src/http/api-process.js';
import { createKafka } from '../../src/platform/kafka/client.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { UserRepository } from '../../src/users/user-repository.js';
import { eventually, testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

interface UserBody {
  id: string;
  username: string;
  email: string;
  role: string;
  active: boolean;
  passwordHash?: unknown;
}

interface LoginBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  user: UserBody;
}

interface ErrorBody {
  detail: string;
  type: string;
  errors?: Array<{ field: string; message: string }>;
}

describe('auth flow against the real servers', () => {
  const prefix = `it.${uniqueSuffix()}.`;
  const settings = testSettings({
    INTEGR8SCODE_KAFKA_TOPIC_PREFIX: prefix,
    INTEGR8SCODE_DATABASE_NAME: `it_auth_${uniqueSuffix()}`,
  });
  const logger = testLogger();
  const mongo = new MongoConnection({ url: settings.MONGODB_URL, dbName: settings.DATABASE_NAME, logger });
  const users = new UserRepository(mongo);
  const recorded: Array<{ topic: string; value: Record<string, unknown> }> = [];
  let consumer: Consumer;
  let api: ApiProcess;
  let base: string;

  beforeAll(async () => {
    api = createApiProcess(settings, logger);
    await api.host.start();
    await mongo.start();
    base = `http://127.0.0.1:${api.http.port}/api/v1`;
    // The topics exist once the API has started (its admin component creates them).
    consumer = createKafka(settings, logger).consumer({
      groupId: `rec-${uniqueSuffix()}`,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({
      topics: [`${prefix}auth_failed`, `${prefix}user_registered`],
      fromBeginning: true,
    });
    await consumer.run({
      eachMessage: ({ topic, message }) => {
        recorded.push({
          topic,
          value: JSON.parse(message.value?.toString() ?? 'null') as Record<string, unknown>,
        });
        return Promise.resolve();
      },
    });
  });
  afterAll(async () => {
    await consumer.disconnect();
    await mongo.stop();
    await api.host.stop();
  });

  function newUser(): { username: string; email: string; password: string } {
    const username = `u_${uniqueSuffix()}`;
    return { username, email: `${username}@example.com`, password: 'correct horse battery' };
  }

  function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }

  async function register(user = newUser()): Promise<{ user: typeof user; body: UserBody }> {
    const res = await post('/auth/register', user);
    expect(res.status).toBe(201);
    return { user, body: (await res.json()) as UserBody };
  }

  async function login(user: { username: string; password: string }): Promise<LoginBody> {
    const res = await post('/auth/login', { username: user.username, password: user.password });
    expect(res.status).toBe(200);
    return (await res.json()) as LoginBody;
  }

  function me(headers: Record<string, string>): Promise<Response> {
    return fetch(`${base}/auth/me`, { headers });
  }

  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

  it('when a user registers, logs in, reads /me and logs out, then the same token is refused afterwards', async () => {
    const { user, body: registered } = await register();
    expect(registered).toMatchObject({
      username: user.username,
      email: user.email,
      role: 'user',
      active: true,
    });
    expect(registered.passwordHash).toBeUndefined();

    const session = await login(user);
    expect(session.token_type).toBe('bearer');
    expect(session.expires_in).toBe(settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60);
    expect(session.user.id).toBe(registered.id);

    const meRes = await me(bearer(session.access_token));
    expect(meRes.status).toBe(200);
    expect(((await meRes.json()) as UserBody).id).toBe(registered.id);

    const logoutRes = await post('/auth/logout', {}, bearer(session.access_token));
    expect(logoutRes.status).toBe(200);
    expect(logoutRes.headers.get('set-cookie')).toMatch(/^access_token=;.*Expires=Thu, 01 Jan 1970/);

    const after = await me(bearer(session.access_token));
    expect(after.status).toBe(401);
    expect(await after.json()).toEqual({ detail: 'Token revoked', type: 'unauthorized' });
  });

  it('when a user logs in with a form body, then the cookie it sets authenticates /me', async () => {
    const { user, body: registered } = await register();
    const res = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: user.username, password: user.password }).toString(),
    });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^access_token=[^;]+;/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).toContain(`Max-Age=${settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60}`);

    const cookie = setCookie.split(';')[0] ?? '';
    const meRes = await me({ cookie: `theme=dark; ${cookie}` });
    expect(meRes.status).toBe(200);
    expect(((await meRes.json()) as UserBody).id).toBe(registered.id);
  });

  it('when no token is sent, then /me is 401', async () => {
    const res = await me({});
    expect(res.status).toBe(401);
    expect(((await res.json()) as ErrorBody).type).toBe('unauthorized');
  });

  it('when a username is already taken, then registering it again is 409', async () => {
    const { user } = await register();
    const res = await post('/auth/register', { ...user, email: `other_${user.email}` });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ detail: 'Username already taken', type: 'conflict' });
  });

  it('when an email is already registered, then registering it under another name is 409', async () => {
    const { user } = await register();
    const res = await post('/auth/register', { ...newUser(), email: user.email });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ detail: 'Email already registered', type: 'conflict' });
  });

  it('when the login body holds a query operator instead of a username, then it is 422 naming username', async () => {
    await register();
    const res = await post('/auth/login', { username: { $gt: '' }, password: { $gt: '' } });
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorBody;
    expect(body.type).toBe('validation');
    expect(body.errors?.map((e) => e.field)).toEqual(['username', 'password']);
  });

  it('when the password is shorter than PASSWORD_MIN_LENGTH, then registering is 422 naming password', async () => {
    const res = await post('/auth/register', {
      ...newUser(),
      password: 'x'.repeat(settings.PASSWORD_MIN_LENGTH - 1),
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorBody;
    expect(body.type).toBe('validation');
    expect(body.errors?.map((e) => e.field)).toEqual(['password']);
  });

  it('when the username has characters outside [A-Za-z0-9_.-], then registering is 422 naming username', async () => {
    const res = await post('/auth/register', { ...newUser(), username: 'bad name!' });
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorBody).errors?.map((e) => e.field)).toEqual(['username']);
  });

  it('when the register body asks for the admin role, then the user is still a plain user', async () => {
    const user = newUser();
    const res = await post('/auth/register', { ...user, role: 'admin' });
    expect(res.status).toBe(201);
    expect(((await res.json()) as UserBody).role).toBe('user');
    const stored = await users.findByUsername(user.username);
    expect(stored?.role).toBe('user');
    expect((await login(user)).user.role).toBe('user');
  });

  it('when a token claims alg none, then it is 401', async () => {
    const { body: registered } = await register();
    const now = Math.floor(Date.now() / 1000);
    const part = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const forged = `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: registered.id, jti: randomUUID(), iat: now, exp: now + 600 })}.`;
    const res = await me(bearer(forged));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ detail: 'Invalid token', type: 'unauthorized' });
  });

  it('when a token is signed with another secret, then it is 401', async () => {
    const { body: registered } = await register();
    const now = Math.floor(Date.now() / 1000);
    const forged = jwt.sign(
      { sub: registered.id, jti: randomUUID(), iat: now, exp: now + 600 },
      `${settings.SECRET_KEY}-not-ours`,
      { algorithm: settings.ALGORITHM },
    );
    const res = await me(bearer(forged));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ detail: 'Invalid token', type: 'unauthorized' });
  });

  it('when a correctly signed token has expired, then it is 401 saying so', async () => {
    const { body: registered } = await register();
    const now = Math.floor(Date.now() / 1000);
    const expired = jwt.sign(
      { sub: registered.id, jti: randomUUID(), iat: now - 7200, exp: now - 60 },
      settings.SECRET_KEY,
      { algorithm: settings.ALGORITHM },
    );
    const res = await me(bearer(expired));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ detail: 'Token expired', type: 'unauthorized' });
  });

  it('when a user is deactivated after logging in, then their token is 401 and they cannot log in again', async () => {
    const { user, body: registered } = await register();
    const session = await login(user);
    expect((await me(bearer(session.access_token))).status).toBe(200);

    expect(await users.setActive(registered.id, false)).toBe(true);
    const res = await me(bearer(session.access_token));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ detail: 'Account is disabled', type: 'unauthorized' });
    const again = await post('/auth/login', { username: user.username, password: user.password });
    expect(again.status).toBe(401);
  });

  it('when the password is wrong or the user unknown, then login is 401 with one message and auth_failed is published', async () => {
    const { user } = await register();
    const unknown = `nobody_${uniqueSuffix()}`;
    const wrong = await post('/auth/login', { username: user.username, password: 'wrong password!' });
    const missing = await post('/auth/login', { username: unknown, password: 'whatever password' });
    for (const res of [wrong, missing]) {
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ detail: 'Invalid username or password', type: 'unauthorized' });
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    const failures = await eventually(
      () => {
        const found = recorded
          .filter((r) => r.topic === `${prefix}auth_failed`)
          .map((r) => r.value.payload as { username: string; reason: string })
          .filter((p) => p.username === user.username || p.username === unknown);
        return found.length >= 2 ? found : undefined;
      },
      { what: 'two auth_failed events' },
    );
    expect(failures.map((p) => p.reason).sort()).toEqual(['unknown_user', 'wrong_password']);
  });

  it('when a user registers, then user_registered carries the id and role but no password material', async () => {
    const { body: registered } = await register();
    const event = await eventually(
      () =>
        recorded.find(
          (r) => r.topic === `${prefix}user_registered` && r.value.aggregate_id === registered.id,
        ),
      { what: 'user_registered event' },
    );
    expect(event.value.payload).toEqual({
      user_id: registered.id,
      username: registered.username,
      email: registered.email,
      role: 'user',
    });
  });
});
