import { afterEach, describe, expect, it } from 'vitest';
import { outcome } from '../../src/platform/kafka/handler.js';
import { eventually } from '../test-logger.js';
import { KafkaTest, recordingCommits, waitForLength } from './harness.js';

function autoCommit(intervalMs: number, env: Record<string, string> = {}): Record<string, string> {
  return {
    INTEGR8SCODE_KAFKA_ENABLE_AUTO_COMMIT: 'true',
    INTEGR8SCODE_KAFKA_AUTO_COMMIT_INTERVAL_MS: String(intervalMs),
    ...env,
  };
}

describe('ConsumerRunner background commits (KAFKA_ENABLE_AUTO_COMMIT)', () => {
  let test: KafkaTest;
  afterEach(async () => test.cleanup());

  it('when a message is handled and nothing follows, then its offset is committed about one interval later, in one commit', async () => {
    const intervalMs = 300;
    test = new KafkaTest(autoCommit(intervalMs));
    const producer = await test.setUp();
    const { kafka, commits } = recordingCommits(test.kafka);
    let handledAt: number | undefined;
    await test.startRunner({
      kafka,
      producer,
      handlers: {
        order_placed: async () => {
          handledAt = Date.now();
          return Promise.resolve(outcome.done());
        },
      },
    });

    await producer.publish(test.orderPlaced('alone'));

    await test.waitForCommittedOffset(1);
    await waitForLength(commits, 1, 'recorded commits');
    const [commit] = commits;
    expect(commits).toHaveLength(1);
    expect(commit?.topics).toEqual([{ topic: test.topic, partitions: [{ partition: 0, offset: '1' }] }]);
    expect(commit!.at - handledAt!).toBeLessThan(intervalMs + 1_000);
  });

  it('when many messages arrive one by one, then at most one commit per interval goes out, far fewer than messages', async () => {
    const intervalMs = 500;
    test = new KafkaTest(autoCommit(intervalMs));
    const producer = await test.setUp();
    const { kafka, commits } = recordingCommits(test.kafka);
    const handled: string[] = [];
    await test.startRunner({
      kafka,
      producer,
      handlers: {
        order_placed: async (event) => {
          handled.push(event.payload.order_id);
          return Promise.resolve(outcome.done());
        },
      },
    });
    const orderIds = Array.from({ length: 30 }, (_, i) => `order-${i}`);

    const startedAt = Date.now();
    // One publish at a time: most messages arrive in a fetch of their own, i.e. an eachBatch call each.
    for (const id of orderIds) await producer.publish(test.orderPlaced(id));
    const lastCommit = await eventually(
      () => commits.find((c) => c.topics[0]?.partitions[0]?.offset === String(orderIds.length)),
      { what: 'the commit of the last offset' },
    );

    expect(handled).toEqual(orderIds);
    expect(commits.at(-1)).toBe(lastCommit);
    const lastCommitAt = lastCommit.at;
    // Commits start at least one interval apart, the first one interval after the first message.
    expect(commits.length).toBeLessThanOrEqual(Math.floor((lastCommitAt - startedAt) / intervalMs) + 1);
    expect(commits.length).toBeLessThan(orderIds.length / 3);
  });

  it('when the runner stops before the interval is over, then stop commits the handled offsets and a restart resumes after them', async () => {
    test = new KafkaTest(autoCommit(60_000));
    const producer = await test.setUp();
    const { kafka, commits } = recordingCommits(test.kafka);
    const firstRun: string[] = [];
    const runner = await test.startRunner({
      kafka,
      producer,
      handlers: {
        order_placed: async (event) => {
          firstRun.push(event.payload.order_id);
          return Promise.resolve(outcome.done());
        },
      },
    });
    await producer.publishMany([test.orderPlaced('a'), test.orderPlaced('b'), test.orderPlaced('c')]);
    await waitForLength(firstRun, 3, 'handled events');
    // A minute of interval: nothing is committed in the background during this test.
    expect(await test.committedOffset()).toBe(-1);

    await runner.stop();

    expect(await test.committedOffset()).toBe(3);
    expect(commits).toHaveLength(1);
    const secondRun = await test.deliveredAfterRestart({ kafka, producer });
    expect(firstRun).toEqual(['a', 'b', 'c']);
    expect(secondRun).toEqual(['marker']);
  });

  it('when a handler has not finished, then background commits go out without its offset, and include it once it is done', async () => {
    test = new KafkaTest(autoCommit(50));
    const producer = await test.setUp();
    const cancelledTopic = test.catalog.topicFor('order_cancelled');
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let slowStarted = false;
    // Both topics' messages are there before the start, so one fetch hands them to two workers at once.
    await producer.publishMany([test.orderPlaced('fast'), test.orderPlaced('slow')]);
    await producer.publish(
      test.catalog.build(
        'order_cancelled',
        'other',
        { order_id: 'other' },
        { service_name: 'kafka-test', service_version: '0', correlation_id: 'other' },
      ),
    );

    await test.startRunner({
      producer,
      partitionsConsumedConcurrently: 2,
      handlers: {
        order_placed: async (event) => {
          if (event.payload.order_id === 'slow') {
            slowStarted = true;
            await released;
          }
          return outcome.done();
        },
        order_cancelled: async () => Promise.resolve(outcome.done()),
      },
    });
    await eventually(() => (slowStarted ? true : undefined), { what: 'the slow handler to start' });
    await test.waitForCommittedOffset(1, cancelledTopic);

    // A commit went out while "slow" ran: it carried "fast" (offset 0) but not "slow" (offset 1).
    expect(await test.committedOffset()).toBe(1);
    release();
    await test.waitForCommittedOffset(2);
  });

  it('when a second consumer joins the group, then after the rebalance every message is handled and every partition committed to its end', async () => {
    test = new KafkaTest(autoCommit(100, { INTEGR8SCODE_KAFKA_TOPIC_PARTITIONS: '2' }));
    const producer = await test.setUp();
    const handledBy = { first: new Set<string>(), second: new Set<string>() };
    const handler = (into: Set<string>) => ({
      order_placed: async (event: { payload: { order_id: string } }) => {
        into.add(event.payload.order_id);
        return Promise.resolve(outcome.done());
      },
    });
    await test.startRunner({ producer, handlers: handler(handledBy.first) });
    const before = Array.from({ length: 10 }, (_, i) => `before-${i}`);
    await producer.publishMany(before.map((id) => test.orderPlaced(id)));
    await eventually(() => (handledBy.first.size === before.length ? true : undefined), {
      what: 'the first consumer to handle the first messages',
    });

    await test.startRunner({ producer, handlers: handler(handledBy.second) });
    await eventually(async () => ((await test.stableGroupSize()) === 2 ? true : undefined), {
      what: 'a stable group of two',
    });
    const after = Array.from({ length: 10 }, (_, i) => `after-${i}`);
    await producer.publishMany(after.map((id) => test.orderPlaced(id)));

    const ends = await test.waitCommittedToEnd();
    expect([...ends.values()].every((end) => end > 0)).toBe(true);
    const handled = new Set([...handledBy.first, ...handledBy.second]);
    expect([...before, ...after].filter((id) => !handled.has(id))).toEqual([]);
    expect(handledBy.second.size).toBeGreaterThan(0);
  });
});
