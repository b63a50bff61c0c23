import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlatformCatalog, type PlatformEvent } from '../../src/events/definitions.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { SettingsHistoryRepository } from '../../src/user-settings/settings-history-repository.js';
import { UserSettingsService } from '../../src/user-settings/user-settings-service.js';
import { testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

/**
 * The service on the real Mongo server with a publish function that can be made to fail, standing
 * in for a Kafka outage (the HTTP tests cover delivery to the real broker).
 */
describe('user settings events when Kafka is unavailable', () => {
  const settings = testSettings({ INTEGR8SCODE_DATABASE_NAME: `it_settings_${uniqueSuffix()}` });
  const logger = testLogger();
  const mongo = new MongoConnection({ url: settings.MONGODB_URL, dbName: settings.DATABASE_NAME, logger });
  const published: PlatformEvent[] = [];
  let kafkaDown = false;
  const service = new UserSettingsService({
    history: new SettingsHistoryRepository(mongo),
    catalog: createPlatformCatalog('unit.'),
    publish: (event) => {
      if (kafkaDown) return Promise.reject(new Error('broker unreachable'));
      published.push(event);
      return Promise.resolve();
    },
    service: { name: 'test', version: '0' },
    logger,
  });

  beforeAll(() => mongo.start());
  afterAll(() => mongo.stop());

  it('when publishing fails, then the change stands and the next change publishes both in order with stable ids', async () => {
    const userId = `user-${uniqueSuffix()}`;
    kafkaDown = true;
    const first = await service.update(userId, { theme: 'dark' }, 'req-1');
    expect(first.version).toBe(1);
    expect(published).toHaveLength(0);

    kafkaDown = false;
    await service.update(userId, { editor: { tab_size: 2 } }, 'req-2');
    const mine = published.filter((e) => e.aggregate_id === userId);
    expect(mine.map((e) => (e.event_type === 'user_settings_updated' ? e.payload.version : -1))).toEqual([
      1, 2,
    ]);

    // Published ones are not sent again.
    await service.update(userId, { theme: 'light' }, 'req-3');
    const again = published.filter((e) => e.aggregate_id === userId);
    expect(again).toHaveLength(3);
    expect(new Set(again.map((e) => e.event_id)).size).toBe(3);
    expect((await service.current(userId)).settings.theme).toBe('light');
  });
});
