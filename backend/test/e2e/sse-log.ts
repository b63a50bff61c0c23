import { Redis } from 'ioredis';
import { SSE_LOG_KEY_PREFIX } from '../../src/http/execution-wiring.js';
import { ExecutionEventLog } from '../../src/sse/execution-event-log.js';
import { testSettings } from '../test-settings.js';

export interface SseLogEntry {
  id: string;
  kind: string;
  data: unknown;
}

/**
 * The test Redis the system under test shares. GET /executions/{id}/events reads the event store,
 * so tests about what SSE replays read the SSE log itself.
 */
export class SseLogReader {
  private readonly redis: Redis;
  private readonly log: ExecutionEventLog;

  constructor() {
    const s = testSettings();
    this.redis = new Redis({
      host: s.REDIS_HOST,
      port: s.REDIS_PORT,
      db: s.REDIS_DB,
      password: s.REDIS_PASSWORD === '' ? undefined : s.REDIS_PASSWORD,
      lazyConnect: true,
    });
    this.log = new ExecutionEventLog(() => this.redis, { keyPrefix: SSE_LOG_KEY_PREFIX, ttlSeconds: 3600 });
  }

  async read(executionId: string): Promise<SseLogEntry[]> {
    const entries = await this.log.readAfter(executionId, undefined, 10_000);
    return entries.map((e) => ({ id: e.id, kind: e.kind, data: JSON.parse(e.data) as unknown }));
  }

  /** Deletes every Redis key of the execution's SSE log; returns how many there were. */
  async delete(executionId: string): Promise<number> {
    const keys = await this.redis.keys(`${SSE_LOG_KEY_PREFIX}*${executionId}*`);
    return keys.length === 0 ? 0 : this.redis.del(...keys);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    return Promise.resolve();
  }
}
