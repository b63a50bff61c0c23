import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlatformCatalog } from '../../src/events/definitions.js';
import type { EventEnvelope } from '../../src/events/envelope.js';
import { createEventReplayProcess } from '../../src/events-store/event-replay-process.js';
import { EventRetention } from '../../src/events-store/event-retention.js';
import { EventStore, type StoredEvent } from '../../src/events-store/event-store.js';
import { createKafka } from '../../src/platform/kafka/client.js';
import { EventProducer } from '../../src/platform/kafka/producer.js';
import { useThrowawayMongo } from '../mongo/throwaway-mongo.js';
import { eventually, testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const metadata = { service_name: 'test', service_version: '0', user_id: 'u-1', correlation_id: 'c-1' };

function storedAt(timestamp: Date, aggregateId = randomUUID()): StoredEvent {
  const envelope: EventEnvelope = {
    event_id: randomUUID(),
    event_type: 'execution_queued',
    event_version: 1,
    timestamp: timestamp.toISOString(),
    aggregate_id: aggregateId,
    metadata,
    payload: { execution_id: aggregateId, priority: 'normal' },
  };
  return { envelope, topic: 't.execution_queued', partition: 0, offset: '7' };
}

describe('the event-replay process filling the event store (real Kafka and Mongo wire server)', () => {
  const suffix = uniqueSuffix();
  const settings = testSettings({
    INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `it.${suffix}.`,
    INTEGR8SCODE_KAFKA_CONSUMER_GROUP_ID: `event-replay-${suffix}`,
    INTEGR8SCODE_DATABASE_NAME: `it_${suffix}`,
  });
  const logger = testLogger();
  const replay = createEventReplayProcess(settings, logger);
  const catalog = createPlatformCatalog(settings.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka(settings, logger);
  const producer = new EventProducer({ kafka, catalog, logger });

  beforeAll(async () => {
    await replay.host.start();
    await producer.start();
  }, 60_000);
  afterAll(async () => {
    await producer.stop();
    await replay.host.stop();
  }, 60_000);

  it('when an event is published twice, then it is stored once with its topic, partition and offset, and both offsets are committed', async () => {
    const id = randomUUID();
    const event = catalog.build(
      'execution_queued',
      id,
      { execution_id: id, priority: 'high' },
      { ...metadata, correlation_id: id },
    );
    await producer.publish(event);
    await producer.publish(event);

    const topic = catalog.topicFor('execution_queued');
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Both copies handled: the group's committed offset is past the second one.
      await eventually(
        async () => {
          const [committed] = await admin.fetchOffsets({
            groupId: `event-replay-${suffix}`,
            topics: [topic],
          });
          const total = (committed?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
          return total >= 2 ? true : undefined;
        },
        { what: 'both copies committed', timeoutMs: 30_000 },
      );
    } finally {
      await admin.disconnect();
    }
    const stored = await replay.store.findById(event.event_id);
    expect(stored).toMatchObject({
      topic,
      offset: '0',
      envelope: { event_type: 'execution_queued', aggregate_id: id },
    });
    expect(stored?.partition).toBeGreaterThanOrEqual(0);
    expect(stored?.envelope).toEqual(event);
    expect(await replay.store.findByAggregate(id, { limit: 10 })).toHaveLength(1);
  });
});

describe('the event store repository (Mongo wire server)', () => {
  const mongo = useThrowawayMongo();
  let store: EventStore;
  beforeAll(async () => {
    store = new EventStore(mongo);
    await mongo.ensureIndexes();
  });

  it('when a batch repeats stored events, then only the new ones are inserted and nothing fails', async () => {
    const a = storedAt(new Date());
    const b = storedAt(new Date());
    expect(await store.insertMany([a])).toBe(1);
    expect(await store.insertMany([a, b, b])).toBe(1);
    expect(await store.findById(b.envelope.event_id)).toEqual(b);
  });

  it('when the prune runs, then events older than EVENT_RETENTION_DAYS go and newer ones stay', async () => {
    const now = new Date();
    const aggregate = randomUUID();
    const old = storedAt(new Date(now.getTime() - 3 * DAY_MS), aggregate);
    const fresh = storedAt(new Date(now.getTime() - DAY_MS / 2), aggregate);
    await store.insertMany([old, fresh]);
    const retention = new EventRetention({ store, retentionDays: 1, logger: testLogger() });
    await retention.start();
    try {
      expect(await store.findById(old.envelope.event_id)).toBeNull();
      expect(await store.findById(fresh.envelope.event_id)).toEqual(fresh);
      // A later pass: "fresh" is past the retention two days on.
      expect(await retention.prune(new Date(now.getTime() + 2 * DAY_MS))).toBeGreaterThanOrEqual(1);
      expect(await store.findByAggregate(aggregate, { limit: 10 })).toEqual([]);
    } finally {
      await retention.stop();
    }
  });

  it('when an admin deletes an event, then it is copied to events_archive with who deleted it, then removed', async () => {
    const event = storedAt(new Date());
    await store.insertMany([event]);
    expect(await store.archiveAndDelete(event.envelope.event_id, 'admin-1')).toBe(true);
    expect(await store.findById(event.envelope.event_id)).toBeNull();
    expect(await store.findArchived(event.envelope.event_id)).toEqual({ ...event, deletedBy: 'admin-1' });
    expect(await store.archiveAndDelete(event.envelope.event_id, 'admin-1')).toBe(false);
  });

  it('when events are queried by execution, then they come oldest first, filtered by type and limited', async () => {
    const aggregate = randomUUID();
    const t0 = Date.now() - 10_000;
    const events = [2, 0, 1].map((i) => storedAt(new Date(t0 + i * 1000), aggregate));
    const started = { ...storedAt(new Date(t0 + 5000), aggregate) };
    started.envelope = { ...started.envelope, event_type: 'execution_started' };
    await store.insertMany([...events, started]);
    const all = await store.findByAggregate(aggregate, { limit: 10 });
    expect(all.map((e) => e.timestamp)).toEqual(
      [0, 1, 2, 5].map((i) => new Date(t0 + i * 1000).toISOString()),
    );
    expect(await store.findByAggregate(aggregate, { eventTypes: ['execution_started'], limit: 10 })).toEqual([
      started.envelope,
    ]);
    expect(await store.findByAggregate(aggregate, { limit: 2 })).toHaveLength(2);
  });
});
