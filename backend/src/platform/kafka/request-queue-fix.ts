import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 bug (tulios/kafkajs#1556, #1704; fix proposed in #1667, not released): after every
 * response, RequestQueue.scheduleCheckPendingRequests() arms a timer even when no request is
 * pending and no throttle is in effect, with a negative delay, so each broker connection runs a
 * 1 ms setTimeout loop for its whole life. With a dozen consumers per process this kept every
 * idle process busy and slowed each hop on a 2-core host.
 *
 * Replaced by the same method that arms the timer only when a request is actually pending: a
 * request pushed later either goes out at once or is queued by push(), which schedules the check
 * itself, so nothing pending can be forgotten. Applied once, to the kafkajs version it was
 * verified against; any other version is left alone.
 */
const FIXED_VERSION = '2.2.4';
const CHECK_PENDING_REQUESTS_INTERVAL = 10; // as in kafkajs

interface RequestQueueInternals {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

let applied = false;

export function fixKafkajsRequestQueue(): boolean {
  if (applied) return true;
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== FIXED_VERSION) return false;
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: RequestQueueInternals;
  };
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueInternals): void {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const throttledFor = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      throttledFor > 0 ? throttledFor : CHECK_PENDING_REQUESTS_INTERVAL,
    );
  };
  applied = true;
  return true;
}
