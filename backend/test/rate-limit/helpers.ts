import { expect } from 'vitest';
import { createApiProcess, type ApiProcess } from '../../src/http/api-process.js';
import type { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import type { Settings } from '../../src/settings/settings.js';
import { testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

/** Settings with their own counter prefix and database, so no other test shares a budget. */
export function rateLimitSettings(env: Record<string, string> = {}): Settings {
  return testSettings({
    INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `it.${uniqueSuffix()}.`,
    INTEGR8SCODE_DATABASE_NAME: `it_rl_${uniqueSuffix()}`,
    INTEGR8SCODE_RATE_LIMIT_KEY_PREFIX: `it-rl-${uniqueSuffix()}:`,
    INTEGR8SCODE_RATE_LIMITS: '5/minute',
    INTEGR8SCODE_RATE_LIMIT_AUTH: '10000/minute',
    INTEGR8SCODE_RATE_LIMIT_ADMIN: '10000/minute',
    ...env,
  });
}

export async function startApi(settings: Settings): Promise<{ api: ApiProcess; base: string }> {
  const api = createApiProcess(settings, testLogger());
  await api.host.start();
  return { api, base: `http://127.0.0.1:${api.http.port}/api/v1` };
}

export interface TestUser {
  id: string;
  token: string;
}

const json = { 'content-type': 'application/json' };

/** Registers and logs in a fresh user; with `admin`, promotes it in Mongo first (no API for that yet). */
export async function newUser(base: string, mongo?: MongoConnection): Promise<TestUser> {
  const username = `rl_${uniqueSuffix()}`;
  const password = 'correct horse battery';
  const reg = await fetch(`${base}/auth/register`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ username, email: `${username}@example.com`, password }),
  });
  expect(reg.status).toBe(201);
  const { id } = (await reg.json()) as { id: string };
  if (mongo) {
    const result = await mongo.connection
      .collection('users')
      .updateOne({ _id: id as never }, { $set: { role: 'admin' } });
    expect(result.matchedCount).toBe(1);
  }
  const login = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ username, password }),
  });
  expect(login.status).toBe(200);
  const { access_token } = (await login.json()) as { access_token: string };
  return { id, token: access_token };
}

export const bearer = (user: TestUser): Record<string, string> => ({ authorization: `Bearer ${user.token}` });

/**
 * A request in the `default` group. No route serves it yet, so an admitted request is a 404 from
 * the router (it got past the limiter) and a refused one is the limiter's 429.
 */
export function probe(base: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/rate-limit-probe`, { headers });
}

export async function statuses(n: number, send: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await send();
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

export function admin(
  base: string,
  user: TestUser,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${base}/admin/rate-limits/${path}`, {
    method,
    headers: { ...bearer(user), ...json },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
