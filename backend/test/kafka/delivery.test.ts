import { afterEach, describe, expect, it } from 'vitest';
import { outcome } from '../../src/platform/kafka/handler.js';
import { KafkaTest, waitForLength } from './harness.js';

describe('ConsumerRunner delivery and commits', () => {
  let test: KafkaTest;
  afterEach(async () => test.cleanup());

  it('when an event is handled, then its offset is committed and a new consumer in the group does not get it again', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    const firstRun: string[] = [];
    const runner = await test.startRunner({
      producer,
      handlers: {
        order_placed: async (event) => {
          firstRun.push(event.payload.order_id);
          return Promise.resolve(outcome.done());
        },
      },
    });

    await producer.publish(test.orderPlaced('first'));
    await waitForLength(firstRun, 1, 'handled events');
    await test.waitForCommittedOffset(1);
    await runner.stop();

    const secondRun = await test.deliveredAfterRestart({ producer });

    expect(firstRun).toEqual(['first']);
    expect(secondRun).toEqual(['marker']);
    await test.waitForCommittedOffset(2);
  });

  it('when auto-commit is on, then handled offsets are committed in the background', async () => {
    test = new KafkaTest({ INTEGR8SCODE_KAFKA_ENABLE_AUTO_COMMIT: 'true' });
    const producer = await test.setUp();
    const handled: string[] = [];
    await test.startRunner({
      producer,
      handlers: {
        order_placed: async (event) => {
          handled.push(event.payload.order_id);
          return Promise.resolve(outcome.done());
        },
      },
    });

    await producer.publishMany([test.orderPlaced('a'), test.orderPlaced('b'), test.orderPlaced('c')]);

    await test.waitForCommittedOffset(3);
    expect(handled).toEqual(['a', 'b', 'c']);
  });

  it('when a handler fails twice and then succeeds, then it is called a third time, the message is committed and nothing is dead-lettered', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    const attempts: number[] = [];
    await test.startRunner({
      producer,
      handlers: {
        order_placed: async (_event, context) => {
          attempts.push(context.attempt);
          if (context.attempt === 1) throw new Error('database unavailable');
          if (context.attempt === 2) return Promise.resolve(outcome.retry('still warming up'));
          return Promise.resolve(outcome.done());
        },
      },
    });

    await producer.publish(test.orderPlaced('flaky'));

    await test.waitForCommittedOffset(1);
    expect(attempts).toEqual([1, 2, 3]);
    expect(await test.endOffset(test.dlqTopic)).toBe(0);
  });

  it('when KAFKA_MAX_POLL_RECORDS is smaller than the backlog, then every message is handled once, in order, committing after each slice', async () => {
    test = new KafkaTest({ INTEGR8SCODE_KAFKA_MAX_POLL_RECORDS: '3' });
    const producer = await test.setUp();
    const orderIds = Array.from({ length: 10 }, (_, i) => `order-${i}`);
    await producer.publishMany(orderIds.map((id) => test.orderPlaced(id)));
    const handled: string[] = [];
    const committedWhenHandled: number[] = [];

    await test.startRunner({
      producer,
      handlers: {
        order_placed: async (event) => {
          committedWhenHandled.push(await test.committedOffset());
          handled.push(event.payload.order_id);
          return outcome.done();
        },
      },
    });

    await test.waitForCommittedOffset(10);
    expect(handled).toEqual(orderIds);
    // The whole backlog arrives in one fetch; slices of 3 are handled, each committed before the next.
    expect(committedWhenHandled).toEqual([-1, -1, -1, 3, 3, 3, 6, 6, 6, 9]);
  });
});
