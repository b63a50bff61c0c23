import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlqIntake } from '../../src/dlq/dlq-intake.js';
import { DlqMessageRepository } from '../../src/dlq/dlq-message-repository.js';
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
  let producer: Producer;
  const intake = (): DlqIntake =>
    new DlqIntake({ kafka, repository, settings, logger, housekeepingIntervalMs: 3_600_000 });

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
  });

  it('when housekeeping runs, then old messages are pruned and the pending count is reported', async () => {
    const old = new Date(Date.now() - (settings.DLQ_RETENTION_DAYS + 1) * 86_400_000);
    await repository.insertIfAbsent({
      ...(await repository.list())[0]!,
      id: `old-${suffix}`,
      receivedAt: old,
    });
    const result = await intake().housekeeping();
    expect(result.pruned).toBe(1);
    expect(result.pending).toBe(2);
    expect(await repository.findById(`old-${suffix}`)).toBeNull();
  });
});
