import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlqEvents } from '../../src/dlq/dlq-events.js';
import { DlqIntake } from '../../src/dlq/dlq-intake.js';
import { DlqMessageRepository } from '../../src/dlq/dlq-message-repository.js';
import { DlqRetryScheduler } from '../../src/dlq/dlq-retry-scheduler.js';
import { retryRulesFrom } from '../../src/dlq/retry-policy.js';
import { createPlatformCatalog, type PlatformEvent } from '../../src/events/definitions.js';
import { createKafka } from '../../src/platform/kafka/client.js';
import { deadLetterTopic, ensureTopics } from '../../src/platform/kafka/topics.js';
import { useThrowawayMongo } from '../mongo/throwaway-mongo.js';
import { eventually, testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

describe('DLQ intake against real Kafka and the Mongo wire server', () => {
  const suffix = uniqueSuffix();
  const settings = testSettings({
    INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `it.${suffix}.`,
    INTEGR8SCODE_KAFKA_CONSUMER_GROUP_ID: `dlq-${suffix}`,
  });
  const logger = testLogger();
  const kafka = createKafka(settings, logger);
  const repository = new DlqMessageRepository(useThrowawayMongo());
  const topic = deadLetterTopic(settings);
  const rules = retryRulesFrom(settings);
  // The intake's events, kept in memory here; the retry tests read them from Kafka.
  const published: PlatformEvent[] = [];
  const events = new DlqEvents({
    catalog: createPlatformCatalog(settings.KAFKA_TOPIC_PREFIX),
    publish: (e) => Promise.resolve(void published.push(e)),
    service: { name: 'it', version: '0' },
  });
  let producer: Producer;
  const intake = (): DlqIntake => new DlqIntake({ kafka, repository, events, rules, settings, logger });

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [topic], { partitions: 1, replicationFactor: 1 });
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
  });

  it('when a record lands on the dead-letter topic, then it is stored once, also across a restart', async () => {
    const first = intake();
    await first.start();
    await producer.send({
      topic,
      messages: [
        {
          key: 'exec-1',
          value: '{"event_id":"e-1","event_type":"execution_requested"',
          headers: {
            original_topic: 'execution_requested',
            original_partition: '0',
            original_offset: '5',
            attempt: '0',
            error: 'Malformed JSON',
            failed_at: new Date().toISOString(),
            consumer_group: 'saga',
            dlq_reason: 'invalid',
            correlation_id: 'exec-1',
          },
        },
      ],
    });
    const stored = await eventually(async () => (await repository.list({ status: 'pending' }))[0], {
      what: 'the stored DLQ message',
    });
    expect(stored).toMatchObject({
      id: `${topic}:0:0`,
      originalTopic: 'execution_requested',
      reason: 'invalid',
      error: 'Malformed JSON',
      key: 'exec-1',
      consumerGroup: 'saga',
      headers: { correlation_id: 'exec-1' },
      // Invalid: a retry would fail validation again, so it waits for an admin.
      status: 'pending',
      nextRetryAt: null,
    });
    await first.stop();

    // A new intake in the same group starts after the committed offset: nothing is stored again,
    // and a second record is picked up.
    const second = intake();
    await second.start();
    await producer.send({
      topic,
      messages: [{ value: 'second', headers: { dlq_reason: 'retries_exhausted' } }],
    });
    await eventually(async () => ((await repository.list()).length === 2 ? true : undefined), {
      what: 'the second DLQ message',
    });
    await second.stop();
    const all = await repository.list();
    expect(all.map((m) => m.id).sort()).toEqual([`${topic}:0:0`, `${topic}:0:1`]);
    // At least once: a redelivery after the stop may announce a message again, never a third one.
    const announced = published.flatMap((e) =>
      e.event_type === 'dlq_message_received' ? [e.payload.dlq_id] : [],
    );
    expect(new Set(announced)).toEqual(new Set([`${topic}:0:0`, `${topic}:0:1`]));
  });

  it('when a record already had the last DLQ retry, then it is archived with its expiry and a discarded event', async () => {
    const started = intake();
    await started.start();
    await producer.send({
      topic,
      messages: [
        {
          key: 'pod-1',
          value: '{"event_id":"e-3","event_type":"pod_created"}',
          headers: {
            original_topic: `it.${suffix}.pod_created`,
            dlq_reason: 'retries_exhausted',
            error: 'still broken',
            dlq_attempt: String(settings.DLQ_RETRY_MAX_ATTEMPTS),
          },
        },
      ],
    });
    const archived = await eventually(async () => (await repository.list({ status: 'discarded' }))[0], {
      what: 'the archived DLQ message',
    });
    await started.stop();
    expect(archived.retryCount).toBe(settings.DLQ_RETRY_MAX_ATTEMPTS);
    expect(archived.discardedAt).not.toBeNull();
    expect(archived.expiresAt!.getTime() - archived.discardedAt!.getTime()).toBe(
      settings.DLQ_RETENTION_DAYS * 86_400_000,
    );
    const discarded = published.find((e) => e.event_type === 'dlq_message_discarded');
    expect(discarded?.payload).toMatchObject({ dlq_id: archived.id, by: 'policy', retry_count: 2 });
  });

  it('when pruning runs, then archived messages past expiry go and pending ones stay however old', async () => {
    const template = (await repository.list())[0]!;
    const longAgo = new Date(Date.now() - (settings.DLQ_RETENTION_DAYS + 30) * 86_400_000);
    await repository.insertIfAbsent({
      ...template,
      id: `old-pending-${suffix}`,
      status: 'pending',
      receivedAt: longAgo,
    });
    await repository.insertIfAbsent({
      ...template,
      id: `expired-${suffix}`,
      status: 'discarded',
      receivedAt: longAgo,
      discardedAt: longAgo,
      expiresAt: new Date(Date.now() - 1_000),
    });
    const scheduler = new DlqRetryScheduler({
      repository,
      republish: () => Promise.reject(new Error('not used')),
      events,
      rules,
      settings,
      logger,
    });
    expect(await scheduler.prune()).toBe(1);
    expect(await repository.findById(`expired-${suffix}`)).toBeNull();
    expect(await repository.findById(`old-pending-${suffix}`)).not.toBeNull();
  });
});
