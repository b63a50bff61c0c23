import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiProcess } from '../../src/http/api-process.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { testLogger } from '../test-logger.js';
import {
  admin,
  bearer,
  newUser,
  probe,
  rateLimitSettings,
  startApi,
  statuses,
  type TestUser,
} from './helpers.js';

interface View {
  user_id: string;
  override: null | {
    user_id: string;
    bypass: boolean;
    multiplier: number;
    limits: Record<string, number>;
    updated_by: string;
  };
  effective: Record<string, { bypass: boolean; limit?: number }>;
}

describe('per-user rate limit overrides', () => {
  // default 5/minute, execute 3/minute
  const settings = rateLimitSettings({ INTEGR8SCODE_RATE_LIMIT_EXECUTE: '3/minute' });
  const mongo = new MongoConnection({
    url: settings.MONGODB_URL,
    dbName: settings.DATABASE_NAME,
    logger: testLogger(),
  });
  let a: { api: ApiProcess; base: string };
  let b: { api: ApiProcess; base: string };
  let root: TestUser;

  beforeAll(async () => {
    a = await startApi(settings);
    b = await startApi(settings);
    await mongo.start();
    root = await newUser(a.base, mongo);
  });
  afterAll(async () => {
    await mongo.stop();
    await Promise.all([a.api.host.stop(), b.api.host.stop()]);
  });

  // An empty body is admitted by the limiter and refused by validation (422); a limited one is 429.
  const execute = (base: string, user: TestUser) =>
    fetch(`${base}/execute`, {
      method: 'POST',
      headers: { ...bearer(user), 'content-type': 'application/json' },
      body: '{}',
    });

  it('when an admin sets bypass, then the user is never limited and the next request already sees it', async () => {
    const user = await newUser(a.base);
    expect(await statuses(6, () => probe(a.base, bearer(user)))).toEqual([404, 404, 404, 404, 404, 429]);
    const put = await admin(a.base, root, 'PUT', user.id, { bypass: true });
    expect(put.status).toBe(200);
    expect(((await put.json()) as View).effective.default).toEqual({ bypass: true });
    const codes = await statuses(12, () => probe(a.base, bearer(user)));
    expect(codes.every((c) => c === 404)).toBe(true);
  });

  it('when an admin sets multiplier 3, then the user gets triple the budget', async () => {
    const user = await newUser(a.base);
    expect((await admin(a.base, root, 'PUT', user.id, { multiplier: 3 })).status).toBe(200);
    const codes = await statuses(16, () => probe(a.base, bearer(user)));
    expect(codes.filter((c) => c === 404)).toHaveLength(15);
    expect(codes[15]).toBe(429);
  });

  it('when an admin sets a group limit, then only that group changes', async () => {
    const user = await newUser(a.base);
    expect((await admin(a.base, root, 'PUT', user.id, { limits: { execute: 1 } })).status).toBe(200);
    expect(await statuses(2, () => execute(a.base, user))).toEqual([422, 429]);
    expect(await statuses(6, () => probe(a.base, bearer(user)))).toEqual([404, 404, 404, 404, 404, 429]);
  });

  it('when an override is set on one process, then another process reads it back from Mongo and applies it', async () => {
    const user = await newUser(a.base);
    expect(
      (await admin(a.base, root, 'PUT', user.id, { bypass: false, multiplier: 2, limits: { sse: 9 } }))
        .status,
    ).toBe(200);
    const got = await admin(b.base, root, 'GET', user.id);
    expect(got.status).toBe(200);
    const view = (await got.json()) as View;
    expect(view.override).toMatchObject({
      user_id: user.id,
      bypass: false,
      multiplier: 2,
      limits: { sse: 9 },
      updated_by: root.id,
    });
    expect(view.effective.default).toMatchObject({ bypass: false, limit: 10 });
    expect(view.effective.sse).toMatchObject({ bypass: false, limit: 9 });
    expect(view.effective.execute).toMatchObject({ bypass: false, limit: 6 });
    const codes = await statuses(11, () => probe(b.base, bearer(user)));
    expect(codes.slice(0, 10).every((c) => c === 404)).toBe(true);
    expect(codes[10]).toBe(429);
  });

  it('when an admin deletes the override, then the defaults apply again', async () => {
    const user = await newUser(a.base);
    expect((await admin(a.base, root, 'PUT', user.id, { bypass: true })).status).toBe(200);
    const del = await admin(a.base, root, 'DELETE', user.id);
    expect(del.status).toBe(200);
    expect(((await del.json()) as View).override).toBeNull();
    expect(await statuses(6, () => probe(a.base, bearer(user)))).toEqual([404, 404, 404, 404, 404, 429]);
    expect((await admin(a.base, root, 'DELETE', user.id)).status).toBe(404);
  });

  it('when an admin resets a limited user, then the counters are cleared on every process', async () => {
    const user = await newUser(a.base);
    expect(await statuses(6, () => probe(a.base, bearer(user)))).toEqual([404, 404, 404, 404, 404, 429]);
    const reset = await admin(a.base, root, 'POST', `${user.id}/reset`);
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual({ user_id: user.id, cleared: 1 });
    const res = await probe(b.base, bearer(user));
    expect(res.status).toBe(404);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('4');
  });

  it('when a regular user calls the admin endpoints, then each is 403', async () => {
    const user = await newUser(a.base);
    for (const [method, path] of [
      ['GET', user.id],
      ['PUT', user.id],
      ['DELETE', user.id],
      ['POST', `${user.id}/reset`],
    ] as const) {
      const res = await admin(a.base, user, method, path, method === 'PUT' ? { bypass: true } : undefined);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { type: string }).type).toBe('forbidden');
    }
    expect(await statuses(6, () => probe(a.base, bearer(user)))).toEqual([404, 404, 404, 404, 404, 429]);
  });

  it('when the body is invalid or the user unknown, then PUT is 422 or 404', async () => {
    const user = await newUser(a.base);
    for (const body of [
      { multiplier: 0 },
      { multiplier: -1 },
      { limits: { nope: 3 } },
      { limits: { execute: 0 } },
      { bypass: 'yes' },
    ]) {
      expect((await admin(a.base, root, 'PUT', user.id, body)).status).toBe(422);
    }
    expect((await admin(a.base, root, 'PUT', 'no-such-user', { bypass: true })).status).toBe(404);
    expect((await admin(a.base, root, 'GET', 'no-such-user')).status).toBe(404);
  });
});
