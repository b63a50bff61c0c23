import { afterAll, beforeAll } from 'vitest';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

/**
 * A connection to a database of its own for the calling file or describe block: started in
 * beforeAll, its database dropped and the connection stopped in afterAll.
 */
export function useThrowawayMongo(): MongoConnection {
  const mongo = new MongoConnection({
    url: testSettings().MONGODB_URL,
    dbName: `it_${uniqueSuffix()}`,
    logger: testLogger(),
  });
  beforeAll(() => mongo.start());
  afterAll(async () => {
    await mongo.connection.dropDatabase();
    await mongo.stop();
  });
  return mongo;
}
