import { afterEach, describe, expect, it } from 'vitest';
import { outcome } from '../../src/platform/kafka/handler.js';
import { eventually } from '../test-logger.js';
import { KafkaTest, waitForLength } from './harness.js';

describe('ConsumerRunner start and stop', () => {
  let test: KafkaTest;
  afterEach(async () => test.cleanup());

  it('when stop cuts a retry wait short, then that message is delivered again after a restart and the committed one is not', async () => {
    // A minute of backoff: stop() can only be quick if it aborts the wait.
    test = new KafkaTest({
      INTEGR8SCODE_KAFKA_CONSUMER_RETRY_BASE_MS: '60000',
      INTEGR8SCODE_KAFKA_CONSUMER_RETRY_MAX_MS: '60000',
    });
    const producer = await test.setUp();
    const firstRun: string[] = [];
    const runner = await test.startRunner({
      producer,
      handlers: {
        order_placed: async (event) => {
          firstRun.push(event.payload.order_id);
          return Promise.resolve(
            event.payload.order_id === 'waiting' ? outcome.retry('not yet') : outcome.done(),
          );
        },
      },
    });
    await producer.publishMany([test.orderPlaced('finished'), test.orderPlaced('waiting')]);
    await waitForLength(firstRun, 2, 'handled events');
    await test.waitForCommittedOffset(1);

    const stopStarted = Date.now();
    await runner.stop();
    expect(Date.now() - stopStarted).toBeLessThan(5_000);
    expect(await test.committedOffset()).toBe(1);

    const secondRun: Array<[string, number]> = [];
    await test.startRunner({
      producer,
      handlers: {
        order_placed: async (event, context) => {
          secondRun.push([event.payload.order_id, context.attempt]);
          return Promise.resolve(outcome.done());
        },
      },
    });
    await test.waitForCommittedOffset(2);
    expect(firstRun).toEqual(['finished', 'waiting']);
    expect(secondRun).toEqual([['waiting', 1]]);
  });

  it('when stop is called while a handler runs, then the handler sees the abort signal, finishes, and its message is committed', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let signal: AbortSignal | undefined;
    let finished = false;
    const runner = await test.startRunner({
      producer,
      handlers: {
        order_placed: async (_event, context) => {
          signal = context.signal;
          await released;
          finished = true;
          return outcome.done();
        },
      },
    });
    await producer.publish(test.orderPlaced('slow'));
    const runningSignal = await eventually(() => signal, { what: 'the handler to start' });

    const stopping = runner.stop();
    await eventually(() => (runningSignal.aborted ? true : undefined), { what: 'the abort signal' });
    expect(finished).toBe(false);
    release();
    await stopping;

    expect(finished).toBe(true);
    expect(await test.committedOffset()).toBe(1);
  });

  it('when start and stop are called repeatedly, then one consumer runs at a time and the runner can start again', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    const handled: string[] = [];
    const runner = await test.startRunner({
      producer,
      handlers: {
        order_placed: async (event) => {
          handled.push(event.payload.order_id);
          return Promise.resolve(outcome.done());
        },
      },
    });

    await Promise.all([runner.start(), runner.start()]);
    await producer.publish(test.orderPlaced('one'));
    await test.waitForCommittedOffset(1);
    await Promise.all([runner.stop(), runner.stop()]);
    await runner.stop();

    await runner.start();
    await producer.publish(test.orderPlaced('two'));
    await test.waitForCommittedOffset(2);
    expect(handled).toEqual(['one', 'two']);
  });
});
