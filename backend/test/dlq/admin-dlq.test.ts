import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DlqMessage } from '../../src/dlq/dlq-message.js';
import { DlqMessageRepository } from '../../src/dlq/dlq-message-repository.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { ApiHarness, bearer, type ErrorBody, type LoginBody } from '../auth/api-harness.js';
import { testLogger } from '../test-logger.js';
import { uniqueSuffix } from '../test-settings.js';

interface PublicDlqMessage {
  id: string;
  status: string;
  original_topic: string;
  event_type: string | null;
  attempts: number;
  next_retry_at: string | null;
  discarded_at: string | null;
  expires_at: string | null;
}
interface ListBody {
  messages: PublicDlqMessage[];
  total: number;
  limit: number;
  offset: number;
}

describe('admin DLQ API through HTTP against the real servers', () => {
  const h = new ApiHarness();
  const suffix = uniqueSuffix();
  const mongo = new MongoConnection({
    url: h.settings.MONGODB_URL,
    dbName: h.settings.DATABASE_NAME,
    logger: testLogger(),
  });
  const repository = new DlqMessageRepository(mongo);
  let admin: LoginBody;
  let user: LoginBody;
  const topicA = `orders-${suffix}`;
  const topicB = `pods-${suffix}`;

  const message = (n: number, overrides: Partial<DlqMessage>): DlqMessage => ({
    id: `dead_letter_queue:0:${suffix}-${n}`,
    originalTopic: topicA,
    originalPartition: 0,
    originalOffset: String(n),
    consumerGroup: 'g',
    eventId: `e-${n}`,
    eventType: 'order_placed',
    key: `k-${n}`,
    value: '{}',
    headers: {},
    error: 'warehouse unavailable',
    reason: 'retries_exhausted',
    attempt: 3,
    failedAt: new Date(Date.UTC(2026, 11, 1, 0, 0, n)),
    receivedAt: new Date(),
    status: 'pending',
    retryCount: 0,
    nextRetryAt: null,
    retriedAt: null,
    discardedAt: null,
    expiresAt: null,
    ...overrides,
  });
  const ids = {
    pendingA: message(1, {}).id,
    scheduledA: message(2, {}).id,
    retriedA: message(3, {}).id,
    pendingB: message(4, {}).id,
    discardedB: message(5, {}).id,
  };

  beforeAll(async () => {
    await h.start();
    await mongo.start();
    admin = await h.login(await h.createUser('admin'));
    user = await h.login(await h.createUser('user'));
    const later = new Date(Date.now() + 3_600_000);
    await repository.insertIfAbsent(message(1, {}));
    await repository.insertIfAbsent(message(2, { status: 'scheduled', nextRetryAt: later }));
    await repository.insertIfAbsent(
      message(3, { status: 'retried', retriedAt: new Date(), expiresAt: later }),
    );
    await repository.insertIfAbsent(
      message(4, { originalTopic: topicB, eventType: 'pod_created', error: 'no node' }),
    );
    await repository.insertIfAbsent(
      message(5, { originalTopic: topicB, eventType: 'pod_created', status: 'discarded', error: 'no node' }),
    );
  }, 60_000);
  afterAll(async () => {
    await mongo.connection.dropDatabase();
    await mongo.stop();
    await h.stop();
  });

  const asAdmin = (method: string, path: string, body?: unknown): Promise<Response> =>
    h.request(method, path, { body, headers: bearer(admin.access_token) });

  it('when an admin lists with filters and paging, then only matching messages come, newest failure first', async () => {
    const all = (await (await asAdmin('GET', '/admin/dlq/messages')).json()) as ListBody;
    expect(all.total).toBe(5);
    expect(all.messages.map((m) => m.id)).toEqual([
      ids.discardedB,
      ids.pendingB,
      ids.retriedA,
      ids.scheduledA,
      ids.pendingA,
    ]);

    const pendingOfA = (await (
      await asAdmin('GET', `/admin/dlq/messages?status=pending&topic=${topicA}`)
    ).json()) as ListBody;
    expect(pendingOfA.messages.map((m) => m.id)).toEqual([ids.pendingA]);

    const pods = (await (
      await asAdmin('GET', '/admin/dlq/messages?event_type=pod_created&limit=1&offset=1')
    ).json()) as ListBody;
    expect(pods).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(pods.messages.map((m) => m.id)).toEqual([ids.pendingB]);

    const wrong = await asAdmin('GET', '/admin/dlq/messages?status=lost');
    expect(wrong.status).toBe(422);
  });

  it('when an admin gets one message or the stats, then fields and counts by status, topic and error come back', async () => {
    const one = await asAdmin('GET', `/admin/dlq/messages/${encodeURIComponent(ids.scheduledA)}`);
    expect(one.status).toBe(200);
    expect((await one.json()) as PublicDlqMessage).toMatchObject({
      id: ids.scheduledA,
      status: 'scheduled',
      original_topic: topicA,
      attempts: 0,
    });
    const missing = await asAdmin('GET', '/admin/dlq/messages/nope');
    expect(missing.status).toBe(404);

    const stats = (await (await asAdmin('GET', '/admin/dlq/stats')).json()) as {
      total: number;
      by_status: Record<string, number>;
      by_topic: { topic: string; count: number }[];
      by_error: { error: string; count: number }[];
    };
    expect(stats.total).toBe(5);
    expect(stats.by_status).toEqual({ pending: 2, scheduled: 1, retried: 1, discarded: 1 });
    expect(stats.by_topic).toEqual(
      expect.arrayContaining([
        { topic: topicA, count: 3 },
        { topic: topicB, count: 2 },
      ]),
    );
    expect(stats.by_error).toEqual(
      expect.arrayContaining([
        { error: 'warehouse unavailable', count: 3 },
        { error: 'no node', count: 2 },
      ]),
    );
  });

  it('when an admin retries or discards one message, then it is due now or archived, and a finished one is refused with 409', async () => {
    const before = Date.now();
    const retry = await asAdmin('POST', `/admin/dlq/messages/${encodeURIComponent(ids.pendingB)}/retry`);
    expect(retry.status).toBe(202);
    const retried = (await retry.json()) as PublicDlqMessage;
    expect(retried.status).toBe('scheduled');
    expect(Date.parse(retried.next_retry_at!)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(retried.next_retry_at!)).toBeLessThanOrEqual(Date.now());

    const discard = await asAdmin('POST', `/admin/dlq/messages/${encodeURIComponent(ids.pendingB)}/discard`);
    expect(discard.status).toBe(200);
    const discarded = (await discard.json()) as PublicDlqMessage;
    expect(discarded.status).toBe('discarded');
    expect(Date.parse(discarded.expires_at!) - Date.parse(discarded.discarded_at!)).toBe(
      h.settings.DLQ_RETENTION_DAYS * 86_400_000,
    );
    expect((await repository.findById(ids.pendingB))?.status).toBe('discarded');

    const again = await asAdmin('POST', `/admin/dlq/messages/${encodeURIComponent(ids.retriedA)}/retry`);
    expect(again.status).toBe(409);
    expect(((await again.json()) as ErrorBody).detail).toContain('retried');
    const twice = await asAdmin('POST', `/admin/dlq/messages/${encodeURIComponent(ids.pendingB)}/discard`);
    expect(twice.status).toBe(409);
  });

  it('when an admin retries a topic, then all its pending and scheduled messages are due now and nothing else changes', async () => {
    const res = await asAdmin('POST', '/admin/dlq/retry', { topic: topicA });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ topic: topicA, scheduled: 2 });
    const now = Date.now();
    for (const id of [ids.pendingA, ids.scheduledA]) {
      const m = (await repository.findById(id))!;
      expect(m.status).toBe('scheduled');
      expect(m.nextRetryAt!.getTime()).toBeLessThanOrEqual(now);
    }
    expect((await repository.findById(ids.retriedA))?.status).toBe('retried');
    expect((await repository.findById(ids.discardedB))?.status).toBe('discarded');
    expect((await asAdmin('POST', '/admin/dlq/retry', {})).status).toBe(422);
  });

  it('when a plain user or nobody calls the DLQ API, then 403 and 401', async () => {
    const asUser = (method: string, path: string, body?: unknown) =>
      h.request(method, path, { body, headers: bearer(user.access_token) });
    for (const [method, path] of [
      ['GET', '/admin/dlq/messages'],
      ['GET', '/admin/dlq/stats'],
      ['GET', `/admin/dlq/messages/${encodeURIComponent(ids.pendingA)}`],
      ['POST', `/admin/dlq/messages/${encodeURIComponent(ids.pendingA)}/retry`],
      ['POST', `/admin/dlq/messages/${encodeURIComponent(ids.pendingA)}/discard`],
    ] as const) {
      expect((await asUser(method, path)).status, `${method} ${path}`).toBe(403);
    }
    expect((await asUser('POST', '/admin/dlq/retry', { topic: topicA })).status).toBe(403);
    expect((await h.request('GET', '/admin/dlq/stats')).status).toBe(401);
  });
});
