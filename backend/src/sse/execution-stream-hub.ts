import type { Redis } from 'ioredis';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import type { RedisConnections } from '../platform/redis/redis-connections.js';

/** Called with the published message (the log's wake-up: see ExecutionEventLog). */
type Listener = (message: string) => void;

/**
 * One Redis subscriber per API process, shared by all its SSE connections: a connection watches
 * its execution's channel and is woken when the bridge (in any API process) appended to the log.
 */
export class ExecutionStreamHub implements Component {
  readonly name = 'sse-hub';
  private readonly gate = new LifecycleGate();
  private readonly listeners = new Map<string, Set<Listener>>();
  private subscriber: Redis | undefined;

  constructor(
    private readonly redis: RedisConnections,
    private readonly logger: Logger,
  ) {}

  start(): Promise<void> {
    return this.gate.start(async () => {
      const subscriber = await this.redis.dedicated('sse-subscriber');
      subscriber.on('message', (channel: string, message: string) => {
        for (const listener of this.listeners.get(channel) ?? []) listener(message);
      });
      this.subscriber = subscriber;
    });
  }

  /** Calls `listener` on every wake-up of `channel` until the returned function is called. */
  async watch(channel: string, listener: Listener): Promise<() => Promise<void>> {
    const subscriber = this.subscriber;
    if (!subscriber) throw new Error('sse hub is not started');
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await subscriber.subscribe(channel);
    }
    set.add(listener);
    return async () => {
      const current = this.listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      await subscriber.unsubscribe(channel).catch((err: unknown) => {
        this.logger.warn({ err, channel }, 'unsubscribe failed');
      });
    };
  }

  get watchedChannels(): number {
    return this.listeners.size;
  }

  stop(): Promise<void> {
    return this.gate.stop(async () => {
      this.listeners.clear();
      if (this.subscriber) await this.redis.release(this.subscriber);
    });
  }
}
