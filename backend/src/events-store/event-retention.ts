import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import { retentionCutoff } from '../platform/mongo/retention.js';
import type { EventStore } from './event-store.js';

export interface EventRetentionOptions {
  store: Pick<EventStore, 'ensureTtlIndex' | 'pruneBefore'>;
  /** EVENT_RETENTION_DAYS. */
  retentionDays: number;
  logger: Logger;
  /** How often the prune runs. Default: hourly. */
  intervalMs?: number;
}

/**
 * Keeps the event store within EVENT_RETENTION_DAYS: a TTL index for real MongoDB, and a prune at
 * start and then every interval for servers that ignore TTL (the wire-compatible test server).
 */
export class EventRetention implements Component {
  readonly name = 'event-retention';
  private readonly gate = new LifecycleGate();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: EventRetentionOptions) {}

  start(): Promise<void> {
    return this.gate.start(async () => {
      const { store, retentionDays, logger } = this.options;
      await store.ensureTtlIndex(retentionDays * 24 * 60 * 60);
      await this.prune();
      this.timer = setInterval(() => void this.prune(), this.options.intervalMs ?? 60 * 60 * 1000);
      this.timer.unref();
      logger.info({ retention_days: retentionDays }, 'event retention scheduled');
    });
  }

  /** Deletes events older than the retention; returns how many. Errors are logged, not thrown. */
  async prune(now = new Date()): Promise<number> {
    const { store, retentionDays, logger } = this.options;
    try {
      const pruned = await store.pruneBefore(retentionCutoff(now, retentionDays));
      if (pruned > 0) logger.info({ pruned }, 'pruned events past retention');
      return pruned;
    } catch (err) {
      logger.error({ err }, 'event retention prune failed');
      return 0;
    }
  }

  stop(): Promise<void> {
    return this.gate.stop(() => {
      clearInterval(this.timer);
      return Promise.resolve();
    });
  }
}
