import { afterEach, describe, expect, it } from 'vitest';
import { DlqIntake } from '../../src/dlq/dlq-intake.js';
import { DlqMessageRepository } from '../../src/dlq/dlq-message-repository.js';
import { outcome } from '../../src/platform/kafka/handler.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { KafkaTest } from '../kafka/harness.js';
import { eventually } from '../test-logger.js';
import { uniqueSuffix } from '../test-settings.js';

describe('from a failing handler to a stored DLQ message', () => {
  let world: KafkaTest | undefined;
  let mongo: MongoConnection | undefined;
  let intake: DlqIntake | undefined;

  afterEach(async () => {
    await intake?.stop();
    await mongo?.connection.dropDatabase();
    await mongo?.stop();
    await world?.cleanup();
  });

  it('when a handler keeps failing, then the message is retried, dead-lettered and stored with why', async () => {
    world = new KafkaTest({ INTEGR8SCODE_KAFKA_CONSUMER_GROUP_ID: `dlq-${uniqueSuffix()}` });
    const producer = await world.setUp();
    mongo = new MongoConnection({
      url: world.settings.MONGODB_URL,
      dbName: `it_${uniqueSuffix()}`,
      logger: world.logger,
    });
    const repository = new DlqMessageRepository(mongo);
    await mongo.start();
    intake = new DlqIntake({
      kafka: world.kafka,
      repository,
      settings: world.settings,
      logger: world.logger,
    });
    await intake.start();

    let attempts = 0;
    await world.startRunner({
      producer,
      handlers: {
        order_placed: () => {
          attempts++;
          return Promise.resolve(outcome.retry('warehouse unavailable'));
        },
      },
    });
    const event = world.catalog.build(
      'order_placed',
      'order-9',
      { order_id: 'order-9', quantity: 2 },
      {
        service_name: 'it',
        service_version: '0',
        correlation_id: 'corr-9',
      },
    );
    await producer.publish(event);

    const stored = await eventually(async () => (await repository.list())[0], {
      what: 'the DLQ message in Mongo',
      timeoutMs: 30_000,
    });
    expect(attempts).toBe(world.settings.KAFKA_CONSUMER_MAX_ATTEMPTS);
    expect(stored).toMatchObject({
      originalTopic: world.topic,
      eventId: event.event_id,
      eventType: 'order_placed',
      key: 'order-9',
      reason: 'retries_exhausted',
      attempt: world.settings.KAFKA_CONSUMER_MAX_ATTEMPTS,
      consumerGroup: world.groupId,
      status: 'pending',
    });
    expect(stored.error).toContain('warehouse unavailable');
  });
});
