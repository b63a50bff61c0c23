import type { Kafka } from 'kafkajs';
import type { PlatformEventCatalog, PlatformEventDefinitions } from '../events/definitions.js';
import { EventStore } from '../events-store/event-store.js';
import { ExecutionRepository } from '../executions/execution-repository.js';
import { ExecutionService } from '../executions/execution-service.js';
import { advertsKey, RuntimeDirectory } from '../executions/runtime-directory.js';
import type { EventProducer } from '../platform/kafka/producer.js';
import type { Component } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import type { MongoConnection } from '../platform/mongo/mongo-connection.js';
import type { RedisConnections } from '../platform/redis/redis-connections.js';
import type { Settings } from '../settings/settings.js';
import { ExecutionEventLog } from '../sse/execution-event-log.js';
import { ExecutionStreamHub } from '../sse/execution-stream-hub.js';
import { SseBridge } from '../sse/sse-bridge.js';
import { StreamSlots } from '../sse/stream-slots.js';
import type { AuthService } from '../users/auth-service.js';
import type { ExecutionRoutesOptions } from './routes/executions.js';

export interface ExecutionWiring {
  /** The body limit is the app's to set (it knows the ceiling). */
  routes: Omit<ExecutionRoutesOptions, 'bodyLimitBytes'>;
  /** Started after the clients they use, before the HTTP listener. */
  components: Component[];
}

/** How long an execution's SSE log stays in Redis after its last event. */
const SSE_LOG_TTL_SECONDS = 3600;
/** Prefix of the SSE log keys in Redis (`sse:exec:<execution id>`…). */
export const SSE_LOG_KEY_PREFIX = 'sse:';

/** Everything the API needs for executions: the use cases, the SSE log, hub and Kafka bridge. */
export function executionWiring(deps: {
  settings: Settings;
  mongo: MongoConnection;
  redis: RedisConnections;
  kafka: Kafka;
  catalog: PlatformEventCatalog;
  producer: EventProducer<PlatformEventDefinitions>;
  auth: AuthService;
  logger: Logger;
}): ExecutionWiring {
  const { settings, redis, logger } = deps;
  const repository = new ExecutionRepository(deps.mongo);
  const runtimes = new RuntimeDirectory(() => redis.commands, {
    key: advertsKey(settings.KAFKA_TOPIC_PREFIX),
  });
  const log = new ExecutionEventLog(() => redis.commands, {
    keyPrefix: SSE_LOG_KEY_PREFIX,
    ttlSeconds: SSE_LOG_TTL_SECONDS,
  });
  const hub = new ExecutionStreamHub(redis, logger.child({ component: 'sse-hub' }));
  const executions = new ExecutionService({
    executions: repository,
    runtimes,
    redis: () => redis.commands,
    catalog: deps.catalog,
    publish: (event) => deps.producer.publish(event),
    settings,
    logger: logger.child({ component: 'executions' }),
  });
  const components: Component[] = [hub];
  // Without event streaming SSE still serves the stored status and result, but no live events.
  if (settings.ENABLE_EVENT_STREAMING) {
    components.push(
      new SseBridge({
        kafka: deps.kafka,
        catalog: deps.catalog,
        settings,
        log,
        producer: deps.producer,
        logger: logger.child({ component: 'sse-bridge' }),
      }),
    );
  }
  return {
    routes: {
      auth: deps.auth,
      executions,
      repository,
      runtimes,
      log,
      eventStore: new EventStore(deps.mongo),
      hub,
      settings,
      liveEvents: settings.ENABLE_EVENT_STREAMING,
      streams: new StreamSlots({
        redis: () => redis.commands,
        maxPerUser: settings.SSE_MAX_STREAMS_PER_USER,
        // Refreshed every third of it: a slot survives two missed refreshes, not a dead process.
        ttlMs: Math.max(60_000, 3 * settings.SSE_HEARTBEAT_INTERVAL * 1000),
      }),
    },
    components,
  };
}
