import { describe, expect, it } from 'vitest';
import { DlqMessageRepository } from '../../src/dlq/dlq-message-repository.js';
import type { DlqMessage } from '../../src/dlq/dlq-message.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { testLogger } from '../test-logger.js';
import { uniqueSuffix } from '../test-settings.js';
import { useThrowawayMongo } from './throwaway-mongo.js';

function message(overrides: Partial<DlqMessage> = {}): DlqMessage {
  return {
    id: `dlq:0:${uniqueSuffix()}`,
    originalTopic: 'execution_requested',
    originalPartition: 0,
    originalOffset: '42',
    consumerGroup: 'g',
    eventId: null,
    eventType: 'execution_requested',
    key: 'k',
    value: '{"broken":',
    headers: { event_type: 'execution_requested' },
    error: 'Unexpected end of JSON input',
    reason: 'invalid',
    attempt: 1,
    failedAt: new Date('2026-01-01T00:00:00Z'),
    receivedAt: new Date(),
    status: 'pending',
    retryCount: 0,
    nextRetryAt: null,
    retriedAt: null,
    discardedAt: null,
    expiresAt: null,
    ...overrides,
  };
}

describe('Mongo adapter against the Mongo wire server', () => {
  const mongo = useThrowawayMongo();
  const repo = new DlqMessageRepository(mongo);

  it('when started, then the indexes declared in the schemas exist', async () => {
    const indexes = await mongo.connection.collection('dlq_messages').indexes();
    const keys = indexes.map((i) => JSON.stringify(i.key));
    expect(keys).toEqual(
      expect.arrayContaining([
        JSON.stringify({ status: 1, failedAt: 1 }),
        JSON.stringify({ eventType: 1, failedAt: -1 }),
        JSON.stringify({ originalTopic: 1, failedAt: -1 }),
      ]),
    );
  });

  it('when a message is stored and read back, then a plain object with the same fields returns', async () => {
    const m = message();
    expect(await repo.insertIfAbsent(m)).toBe(true);
    const found = await repo.findById(m.id);
    expect(found).toEqual(m);
    expect(Object.getPrototypeOf(found)).toBe(Object.prototype);
  });

  it('when the same message is inserted twice, then it is stored once and the first copy is kept', async () => {
    const m = message();
    expect(await repo.insertIfAbsent(m)).toBe(true);
    expect(await repo.insertIfAbsent({ ...m, error: 'second copy' })).toBe(false);
    expect((await repo.findById(m.id))?.error).toBe(m.error);
  });

  it('when listing by status and pruning past expiry, then only matching records are affected', async () => {
    const old = message({ status: 'discarded', expiresAt: new Date('2020-01-01T00:00:00Z') });
    const fresh = message({ status: 'discarded', expiresAt: new Date(Date.now() + 86_400_000) });
    await repo.insertIfAbsent(old);
    await repo.insertIfAbsent(fresh);
    const discarded = await repo.list({ status: 'discarded' });
    expect(discarded.map((d) => d.id).sort()).toEqual([old.id, fresh.id].sort());
    expect(await repo.pruneExpired(new Date('2021-01-01T00:00:00Z'))).toBe(1);
    expect(await repo.findById(old.id)).toBeNull();
    expect(await repo.findById(fresh.id)).not.toBeNull();
  });

  it('when pinged, then the server answers', async () => {
    await expect(mongo.ping()).resolves.toBeUndefined();
  });

  it('when the server is unreachable, then start fails with a clear error instead of hanging', async () => {
    const down = new MongoConnection({
      url: 'mongodb://127.0.0.1:1/x',
      dbName: 'x',
      logger: testLogger(),
      serverSelectionTimeoutMs: 500,
    });
    await expect(down.start()).rejects.toThrow(/ECONNREFUSED|Server selection timed out/);
    await down.stop();
  });
});
