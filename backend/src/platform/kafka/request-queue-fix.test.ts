import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { fixKafkajsRequestQueue } from './request-queue-fix.js';

const require = createRequire(import.meta.url);

interface Queue {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

function fakeQueue(pending: unknown[], throttledUntil = -1): Queue {
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: Queue };
  const queue = Object.create(RequestQueue.prototype) as Queue;
  Object.assign(queue, {
    throttledUntil,
    throttleCheckTimeoutId: null,
    pending,
    checkPendingRequests: () => undefined,
  });
  return queue;
}

describe('kafkajs request queue fix', () => {
  it('arms no timer when nothing is pending (no 1 ms loop on idle connections)', () => {
    expect(fixKafkajsRequestQueue()).toBe(true);
    const queue = fakeQueue([]);
    queue.scheduleCheckPendingRequests();
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('still checks pending requests later, after the throttle if one is in effect', async () => {
    fixKafkajsRequestQueue();
    let checked = 0;
    const queue = fakeQueue([{}], Date.now() + 30);
    queue.checkPendingRequests = () => void checked++;
    queue.scheduleCheckPendingRequests();
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
    await new Promise((r) => setTimeout(r, 80));
    expect(checked).toBe(1);
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });
});
