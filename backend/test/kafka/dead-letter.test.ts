import { afterEach, describe, expect, it } from 'vitest';
import type { DeadLetterSink } from '../../src/platform/kafka/dead-letter.js';
import { outcome } from '../../src/platform/kafka/handler.js';
import { KafkaTest, waitForLength } from './harness.js';

describe('ConsumerRunner dead-lettering', () => {
  let test: KafkaTest;
  afterEach(async () => test.cleanup());

  it('when a handler always fails, then after the last attempt exactly one dead letter is written with the failure headers and the original is committed', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    const deadLetters = await test.record(test.dlqTopic);
    const attempts: number[] = [];
    await test.startRunner({
      producer,
      handlers: {
        order_placed: async (_event, context) => {
          attempts.push(context.attempt);
          return Promise.resolve(outcome.retry(`payment service unavailable (attempt ${context.attempt})`));
        },
      },
    });
    // Pretty-printed, unlike anything the EventProducer sends: the dead letter must keep these exact bytes.
    const original = JSON.stringify(test.orderPlaced('doomed'), null, 2);
    await test.sendRaw(test.topic, [
      { key: 'doomed', value: original, headers: { event_type: 'order_placed' } },
    ]);

    await test.waitForCommittedOffset(1);
    expect(await test.endOffset(test.dlqTopic)).toBe(1);
    await waitForLength(deadLetters, 1, 'dead letters');
    const [letter] = deadLetters;
    expect(attempts).toEqual([1, 2, 3]);
    expect(letter?.key).toBe('doomed');
    expect(letter?.value?.toString()).toBe(original);
    expect(letter?.headers).toMatchObject({
      event_type: 'order_placed',
      original_topic: test.topic,
      original_partition: '0',
      original_offset: '0',
      attempt: '3',
      error: 'payment service unavailable (attempt 3)',
      consumer_group: test.groupId,
      dlq_reason: 'retries_exhausted',
    });
    expect(Date.now() - Date.parse(letter?.headers.failed_at ?? '')).toBeLessThan(60_000);
  });

  it('when a message is not JSON, breaks its payload schema or is refused by its handler, then it is dead-lettered at once as invalid', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    const deadLetters = await test.record(test.dlqTopic);
    const handled: string[] = [];
    await test.startRunner({
      producer,
      handlers: {
        order_placed: async (event) => {
          handled.push(event.payload.order_id);
          return Promise.resolve(
            event.payload.quantity === 13 ? outcome.invalid('quantity 13 is never accepted') : outcome.done(),
          );
        },
      },
    });
    const badPayload = { ...test.orderPlaced('bad'), payload: { order_id: 'bad', quantity: 'three' } };

    await test.sendRaw(test.topic, [
      { key: 'junk', value: 'this is {not json' },
      { key: 'bad', value: JSON.stringify(badPayload) },
    ]);
    await producer.publishMany([test.orderPlaced('unlucky', 13), test.orderPlaced('good')]);

    await test.waitForCommittedOffset(4);
    await waitForLength(deadLetters, 3, 'dead letters');
    expect(handled).toEqual(['unlucky', 'good']);
    expect(
      deadLetters.map((letter) => [letter.key, letter.headers.dlq_reason, letter.headers.attempt]),
    ).toEqual([
      ['junk', 'invalid', '0'],
      ['bad', 'invalid', '0'],
      ['unlucky', 'invalid', '1'],
    ]);
    expect(deadLetters[0]?.headers.error).toMatch(/not valid JSON/);
    expect(deadLetters[1]?.headers.error).toMatch(/^payload\.quantity: /);
    expect(deadLetters[2]?.headers.error).toBe('quantity 13 is never accepted');
    expect(await test.endOffset(test.dlqTopic)).toBe(3);
  });

  it('when writing the dead letter fails, then the message is not committed and is delivered again until the write succeeds', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    let failuresLeft = 1;
    const flakyDeadLetters: DeadLetterSink = {
      sendDeadLetter: async (topic, message) => {
        if (failuresLeft-- > 0) throw new Error('dead-letter topic unavailable');
        return producer.sendDeadLetter(topic, message);
      },
    };
    const committedWhenHandled: number[] = [];
    await test.startRunner({
      producer: flakyDeadLetters,
      handlers: {
        order_placed: async () => {
          committedWhenHandled.push(await test.committedOffset());
          return outcome.invalid('never valid');
        },
      },
    });

    await producer.publish(test.orderPlaced('stubborn'));

    await test.waitForCommittedOffset(1);
    expect(committedWhenHandled).toEqual([-1, -1]);
    expect(await test.endOffset(test.dlqTopic)).toBe(1);
  });
});
