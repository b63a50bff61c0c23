import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffPolicy {
  /** Delay before the second attempt; doubles per attempt (KAFKA_CONSUMER_RETRY_BASE_MS). */
  baseMs: number;
  /** Upper bound of the exponential delay (KAFKA_CONSUMER_RETRY_MAX_MS). */
  maxMs: number;
}

/**
 * Wait after failed attempt number `attempt` (1-based): "equal jitter", a random point in the
 * upper half of min(max, base * 2^(attempt-1)), so retries of many consumers spread out but
 * never collapse to zero.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const half = exponential / 2;
  return Math.round(half + random() * half);
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (also if it already has). */
export async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch (err) {
    if (signal.aborted) return false;
    throw err;
  }
}
