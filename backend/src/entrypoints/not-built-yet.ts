import type { Logger } from '../platform/logging/logger.js';
import type { Settings } from '../settings/settings.js';

/**
 * What a worker entry does while its work has not been built: it loads its configuration (so a
 * bad override still fails loudly), says plainly that it has nothing to do, and exits 0. It does
 * not join a consumer group or pretend to handle events.
 */
export function exitNotBuiltYet(
  logger: Logger,
  settings: Settings,
  process_: string,
  arrivesWith: string,
): void {
  logger.warn(
    {
      process: process_,
      consumer_group: settings.KAFKA_CONSUMER_GROUP_ID,
      arrives_with: arrivesWith,
    },
    `${process_} has no work yet; it arrives with ${arrivesWith}. Exiting.`,
  );
  logger.flush();
  process.exitCode = 0;
}
