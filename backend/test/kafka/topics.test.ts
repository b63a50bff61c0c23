import { afterEach, describe, expect, it } from 'vitest';
import { ensureCatalogTopics, ensureTopics } from '../../src/platform/kafka/topics.js';
import { KafkaTest } from './harness.js';

describe('ensureTopics', () => {
  let test: KafkaTest;
  afterEach(async () => test.cleanup());

  it('when the catalog topics are ensured twice, then the first run creates them with the configured partitions and the second creates nothing', async () => {
    test = new KafkaTest({ INTEGR8SCODE_KAFKA_TOPIC_PARTITIONS: '2' });
    const admin = test.kafka.admin();
    await admin.connect();
    test.defer(async () => {
      await admin.deleteTopics({ topics: [...test.catalog.topics(), test.dlqTopic] });
      await admin.disconnect();
    });
    const options = {
      kafka: test.kafka,
      catalog: test.catalog,
      settings: test.settings,
      logger: test.logger,
    };

    const created = await ensureCatalogTopics(options);
    const again = await ensureCatalogTopics(options);

    const expected = [...test.catalog.topics(), test.dlqTopic];
    expect(created.sort()).toEqual([...expected].sort());
    expect(expected).toContain(`${test.settings.KAFKA_TOPIC_PREFIX}dead_letter_queue`);
    expect(again).toEqual([]);
    const { topics } = await admin.fetchTopicMetadata({ topics: expected });
    expect(topics.map((topic) => topic.partitions.length)).toEqual(expected.map(() => 2));
    await expect(
      ensureTopics(admin, [test.topic, test.topic], { partitions: 1, replicationFactor: 1 }),
    ).resolves.toEqual([]);
  });
});
