import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../test-logger.js';
import { KafkaTest } from './harness.js';

/**
 * The consumer runner relies on this kafkajs 2.2.4 behaviour: with eachBatchAutoResolve off, an
 * eachBatch call that returns before resolving every message makes the next fetch start at the
 * first unresolved offset (consumerGroup.fetch uses offsetManager.nextOffset, the last resolved + 1).
 */
describe('kafkajs eachBatch', () => {
  let test: KafkaTest;
  afterEach(async () => test.cleanup());

  it('when eachBatch returns early with unresolved messages, then kafkajs fetches them again instead of skipping them', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    await producer.publishMany(Array.from({ length: 7 }, (_, i) => test.orderPlaced(`order-${i}`)));

    const calls: string[][] = [];
    const consumer = test.kafka.consumer({ groupId: test.groupId, maxWaitTimeInMs: 100 });
    test.defer(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic: test.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        calls.push(payload.batch.messages.map((m) => m.offset));
        for (const message of payload.batch.messages.slice(0, 2)) payload.resolveOffset(message.offset);
        return Promise.resolve();
      },
    });

    // Offset 6 is in the first batch already; wait for the call that starts there.
    await eventually(() => (calls.some((offsets) => offsets[0] === '6') ? true : undefined), {
      what: 'a batch starting at offset 6',
    });
    expect(calls[0]).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(calls.map((offsets) => offsets[0])).toEqual(['0', '2', '4', '6']);
  });
});
