import type { Logger } from '../logging/logger.js';

/**
 * Runs `work`, heartbeating every `intervalMs` meanwhile: kafkajs heartbeats only when asked, so
 * a slow handler (or a long wait for a slot) would otherwise lose the partition.
 */
export async function whileHeartbeating<T>(
  heartbeat: () => Promise<void>,
  { intervalMs, logger }: { intervalMs: number; logger: Logger },
  work: () => Promise<T>,
): Promise<T> {
  const timer = setInterval(() => {
    heartbeat().catch((err: unknown) => {
      logger.debug({ err }, 'heartbeat during a handler failed; the group will rebalance after it');
    });
  }, intervalMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
