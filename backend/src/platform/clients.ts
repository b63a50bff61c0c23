import type { Settings } from '../settings/settings.js';
import type { Logger } from './logging/logger.js';
import { MongoConnection } from './mongo/mongo-connection.js';
import { RedisConnections } from './redis/redis-connections.js';

/** The process's Mongo connection as the settings describe it. */
export function mongoFromSettings(
  settings: Pick<Settings, 'MONGODB_URL' | 'DATABASE_NAME'>,
  logger: Logger,
): MongoConnection {
  return new MongoConnection({
    url: settings.MONGODB_URL,
    dbName: settings.DATABASE_NAME,
    logger: logger.child({ component: 'mongo' }),
  });
}

/** The process's Redis clients as the settings describe them. */
export function redisFromSettings(
  settings: Pick<
    Settings,
    'REDIS_HOST' | 'REDIS_PORT' | 'REDIS_DB' | 'REDIS_PASSWORD' | 'REDIS_MAX_CONNECTIONS'
  >,
  logger: Logger,
): RedisConnections {
  return new RedisConnections({
    host: settings.REDIS_HOST,
    port: settings.REDIS_PORT,
    db: settings.REDIS_DB,
    password: settings.REDIS_PASSWORD,
    maxConnections: settings.REDIS_MAX_CONNECTIONS,
    logger: logger.child({ component: 'redis' }),
  });
}
