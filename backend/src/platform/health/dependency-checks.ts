import type { Admin } from 'kafkajs';
import type { MongoConnection } from '../mongo/mongo-connection.js';
import type { RedisConnections } from '../redis/redis-connections.js';
import type { HealthCheck } from './health-check.js';

export function mongoHealth(mongo: MongoConnection): HealthCheck {
  return { name: 'mongo', check: () => mongo.ping() };
}

export function redisHealth(redis: RedisConnections): HealthCheck {
  return { name: 'redis', check: () => redis.ping() };
}

/** Kafka answers when the cluster metadata names at least one broker. */
export function kafkaHealth(admin: Admin): HealthCheck {
  return {
    name: 'kafka',
    check: async () => {
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0) throw new Error('no brokers in cluster metadata');
    },
  };
}

/** The readiness checks of a process that uses all three servers. */
export function dependencyChecks(deps: {
  mongo: MongoConnection;
  redis: RedisConnections;
  kafkaAdmin: Admin;
}): HealthCheck[] {
  return [mongoHealth(deps.mongo), redisHealth(deps.redis), kafkaHealth(deps.kafkaAdmin)];
}
