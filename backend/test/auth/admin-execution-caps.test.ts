import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisFromSettings } from '../../src/platform/clients.js';
import { defaultQueueKeyPrefix, ExecutionQueue } from '../../src/queue/execution-queue.js';
import { testLogger } from '../test-logger.js';
import { ApiHarness, bearer, type ErrorBody, type LoginBody } from './api-harness.js';

interface CapBody {
  user_id: string;
  default: number;
  override: number | null;
  effective: number;
}

describe('admin per-user execution caps against the real servers', () => {
  const h = new ApiHarness({ INTEGR8SCODE_EXECUTION_MAX_CONCURRENT_PER_USER: '3' });
  const redis = redisFromSettings(h.settings, testLogger());
  let admin: LoginBody;
  let user: LoginBody;

  beforeAll(async () => {
    await h.start();
    await redis.start();
    admin = await h.login(await h.createUser('admin'));
    user = await h.login(await h.createUser('user'));
  });
  afterAll(async () => {
    await redis.stop();
    await h.stop();
  });

  const asAdmin = (method: string, path: string, body?: unknown): Promise<Response> =>
    h.request(method, path, { body, headers: bearer(admin.access_token) });

  it("when an admin sets a user's cap, then it is what the saga orchestrator's queue reads, and removing it restores the default", async () => {
    const path = `/admin/users/${user.user.id}/execution-cap`;
    const before = await asAdmin('GET', path);
    expect(before.status).toBe(200);
    expect(await before.json()).toEqual({ user_id: user.user.id, default: 3, override: null, effective: 3 });

    const set = await asAdmin('PUT', path, { max_concurrent: 7 });
    expect(set.status).toBe(200);
    expect((await set.json()) as CapBody).toEqual({
      user_id: user.user.id,
      default: 3,
      override: 7,
      effective: 7,
    });
    const queue = new ExecutionQueue(redis.commands, defaultQueueKeyPrefix(h.settings));
    expect(await queue.userCap(user.user.id)).toBe(7);

    const removed = await asAdmin('DELETE', path);
    expect(((await removed.json()) as CapBody).effective).toBe(3);
    expect(await queue.userCap(user.user.id)).toBeNull();
  });

  it('when the body or the user is wrong, or the caller is not an admin, then 422, 404 and 403', async () => {
    const path = `/admin/users/${user.user.id}/execution-cap`;
    const zero = await asAdmin('PUT', path, { max_concurrent: 0 });
    expect(zero.status).toBe(422);
    expect(JSON.stringify(await zero.json())).toContain('max_concurrent');
    expect((await asAdmin('PUT', path, { max_concurrent: 2, extra: true })).status).toBe(422);
    const missing = await asAdmin('GET', '/admin/users/no-such-user/execution-cap');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as ErrorBody).type).toBe('not_found');
    const self = await h.request('PUT', path, {
      body: { max_concurrent: 50 },
      headers: bearer(user.access_token),
    });
    expect(self.status).toBe(403);
  });
});
