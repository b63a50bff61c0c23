import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeadLetterSink } from '../../src/platform/kafka/dead-letter.js';
import { outcome } from '../../src/platform/kafka/handler.js';
import { eventually } from '../test-logger.js';
import { KafkaTest, recordingCommits, waitForLength } from './harness.js';

// The test topics have one partition (config.test.toml), so every message here shares it.
describe('ConsumerRunner unordered mode (maxInFlight)', () => {
  let test: KafkaTest;
  afterEach(async () => test.cleanup());

  it('when more messages than maxInFlight wait on one partition, then maxInFlight handlers run at once and never more', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    const orderIds = Array.from({ length: 12 }, (_, i) => `order-${i}`);
    await producer.publishMany(orderIds.map((id) => test.orderPlaced(id)));
    let running = 0;
    let peak = 0;
    const started: string[] = [];
    const handled: string[] = [];
    // Handlers hold their slot until released, so the first ones are certain to overlap.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));

    await test.startRunner({
      producer,
      maxInFlight: 3,
      handlers: {
        order_placed: async (event) => {
          running += 1;
          peak = Math.max(peak, running);
          started.push(event.payload.order_id);
          await released;
          running -= 1;
          handled.push(event.payload.order_id);
          return outcome.done();
        },
      },
    });

    await eventually(() => (running >= 3 ? true : undefined), { what: '3 handlers running' });
    expect(running).toBe(3);
    expect(started).toHaveLength(3);
    expect(handled).toEqual([]);
    release();

    await test.waitForCommittedOffset(orderIds.length);
    expect(peak).toBe(3);
    expect([...handled].sort()).toEqual([...orderIds].sort());
  });

  describe.each([
    ['awaited commits', {}],
    ['background commits', { INTEGR8SCODE_KAFKA_ENABLE_AUTO_COMMIT: 'true' }],
  ])('with %s', (_mode, env: Record<string, string>) => {
    it('when a later message finishes before an earlier one, then the committed offset does not pass the earlier one until it finishes', async () => {
      test = new KafkaTest(env);
      const producer = await test.setUp();
      const { kafka, commits } = recordingCommits(test.kafka);
      const cancelledTopic = test.catalog.topicFor('order_cancelled');
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      let slowStarted = false;
      const handled: string[] = [];
      // Offsets 0, 1, 2 of one partition.
      await producer.publishMany([
        test.orderPlaced('fast'),
        test.orderPlaced('slow'),
        test.orderPlaced('later'),
      ]);

      await test.startRunner({
        kafka,
        producer,
        maxInFlight: 3,
        handlers: {
          order_placed: async (event) => {
            if (event.payload.order_id === 'slow') {
              slowStarted = true;
              await released;
            }
            handled.push(event.payload.order_id);
            return outcome.done();
          },
          order_cancelled: async () => Promise.resolve(outcome.done()),
        },
      });
      await eventually(() => (slowStarted && handled.length === 2 ? true : undefined), {
        what: '"fast" and "later" handled while "slow" runs',
      });
      await test.waitForCommittedOffset(1);
      // A message handled after "later": its commit carries everything tracked before it.
      await producer.publish(
        test.catalog.build(
          'order_cancelled',
          'probe',
          { order_id: 'probe' },
          { service_name: 'kafka-test', service_version: '0', correlation_id: 'probe' },
        ),
      );
      await test.waitForCommittedOffset(1, cancelledTopic);

      expect(handled).toEqual(['fast', 'later']);
      expect(await test.committedOffset()).toBe(1);
      const committedOnTopic = commits.flatMap((c) =>
        c.topics.filter((t) => t.topic === test.topic).flatMap((t) => t.partitions.map((p) => p.offset)),
      );
      expect(committedOnTopic).toEqual(['1']);

      release();
      await test.waitForCommittedOffset(3);
      expect(handled).toEqual(['fast', 'later', 'slow']);
    });
  });

  it('when stop() is called with handlers in flight, then it aborts their signal, waits for them, commits what finished, and a restart delivers only the unfinished message', async () => {
    // A minute of interval: only stop() commits during this test.
    test = new KafkaTest({
      INTEGR8SCODE_KAFKA_ENABLE_AUTO_COMMIT: 'true',
      INTEGR8SCODE_KAFKA_AUTO_COMMIT_INTERVAL_MS: '60000',
    });
    const producer = await test.setUp();
    await producer.publishMany(
      ['a', 'b', 'finishes-on-abort', 'fails-on-abort'].map((id) => test.orderPlaced(id)),
    );
    const started: string[] = [];
    const finished: string[] = [];
    const endedAfterAbort: string[] = [];
    const runner = await test.startRunner({
      producer,
      maxInFlight: 4,
      handlers: {
        order_placed: async (event, ctx) => {
          const id = event.payload.order_id;
          started.push(id);
          if (id.endsWith('-on-abort')) {
            await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
            // Cleaning up takes a while; stop() must wait for it.
            await sleep(300);
            endedAfterAbort.push(id);
            if (id === 'fails-on-abort') throw new Error('interrupted');
          }
          finished.push(id);
          return outcome.done();
        },
      },
    });
    await waitForLength(started, 4, 'started handlers');
    await waitForLength(finished, 2, 'finished handlers');
    expect(await test.committedOffset()).toBe(-1);

    await runner.stop();

    expect([...endedAfterAbort].sort()).toEqual(['fails-on-abort', 'finishes-on-abort']);
    expect(finished).toEqual(['a', 'b', 'finishes-on-abort']);
    expect(await test.committedOffset()).toBe(3);
    const secondRun = await test.deliveredAfterRestart({ producer });
    expect(secondRun).toEqual(['fails-on-abort', 'marker']);
  });

  it('when the dead-letter write fails while the runner runs, then the message is handled again in process and its offset is committed only after the write succeeds', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    let failuresLeft = 1;
    let deadLettered = false;
    const flakyDeadLetters: DeadLetterSink = {
      sendDeadLetter: async (topic, message) => {
        if (failuresLeft-- > 0) throw new Error('dead-letter topic unavailable');
        await producer.sendDeadLetter(topic, message);
        deadLettered = true;
      },
    };
    const calls: string[] = [];
    const committedBeforeDeadLetter: number[] = [];
    await producer.publishMany([test.orderPlaced('bad'), test.orderPlaced('good')]);

    await test.startRunner({
      producer: flakyDeadLetters,
      maxInFlight: 2,
      handlers: {
        order_placed: async (event) => {
          calls.push(event.payload.order_id);
          if (event.payload.order_id === 'good') return outcome.done();
          committedBeforeDeadLetter.push(await test.committedOffset());
          return outcome.invalid('never valid');
        },
      },
    });

    await test.waitForCommittedOffset(2);
    expect(deadLettered).toBe(true);
    // "good" finished long before; nothing passed "bad" until its dead letter was written.
    expect(committedBeforeDeadLetter).toEqual([-1, -1]);
    expect([...calls].sort()).toEqual(['bad', 'bad', 'good']);
    expect(await test.endOffset(test.dlqTopic)).toBe(1);
  });

  it('when a second unordered consumer joins while handlers run, then after the rebalance every message is handled and every partition committed to its end', async () => {
    test = new KafkaTest({ INTEGR8SCODE_KAFKA_TOPIC_PARTITIONS: '2' });
    const producer = await test.setUp();
    const handled = new Set<string>();
    const handledBySecond = new Set<string>();
    const handlers = (into: Set<string>) => ({
      order_placed: async (event: { payload: { order_id: string } }) => {
        await sleep(100);
        into.add(event.payload.order_id);
        handled.add(event.payload.order_id);
        return outcome.done();
      },
    });
    await test.startRunner({ producer, maxInFlight: 4, handlers: handlers(new Set()) });
    const orderIds = Array.from({ length: 60 }, (_, i) => `order-${i}`);
    await producer.publishMany(orderIds.map((id) => test.orderPlaced(id)));
    await eventually(() => (handled.size >= 8 ? true : undefined), { what: 'some messages handled' });

    await test.startRunner({ producer, maxInFlight: 4, handlers: handlers(handledBySecond) });
    await eventually(async () => ((await test.stableGroupSize()) === 2 ? true : undefined), {
      what: 'a stable group of two',
    });
    const more = Array.from({ length: 20 }, (_, i) => `more-${i}`);
    await producer.publishMany(more.map((id) => test.orderPlaced(id)));

    const ends = await test.waitCommittedToEnd();
    expect([...ends.values()].every((end) => end > 0)).toBe(true);
    expect([...orderIds, ...more].filter((id) => !handled.has(id))).toEqual([]);
    expect(handledBySecond.size).toBeGreaterThan(0);
  });
});
