import { describe, expect, it } from 'vitest';
import { backoffDelay, sleepUnlessAborted } from './backoff.js';

const policy = { baseMs: 200, maxMs: 5000 };

describe('backoffDelay', () => {
  it('when attempts fail in a row, then the delay range doubles from the base', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, policy, () => 1))).toEqual([
      200, 400, 800, 1600,
    ]);
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, policy, () => 0))).toEqual([
      100, 200, 400, 800,
    ]);
  });

  it('when the exponential delay passes the cap, then the cap bounds it, even for huge attempt numbers', () => {
    expect(backoffDelay(6, policy, () => 1)).toBe(5000);
    expect(backoffDelay(10_000, policy, () => 1)).toBe(5000);
    expect(backoffDelay(10_000, policy, () => 0)).toBe(2500);
  });

  it('when jitter is random, then delays stay within the upper half of the exponential delay', () => {
    for (let i = 0; i < 200; i += 1) {
      const delay = backoffDelay(3, policy);
      expect(delay).toBeGreaterThanOrEqual(400);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });
});

describe('sleepUnlessAborted', () => {
  it('when nothing aborts, then it resolves true after the delay', async () => {
    const started = Date.now();
    await expect(sleepUnlessAborted(20, new AbortController().signal)).resolves.toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('when the signal aborts during the wait, then it resolves false at once', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const sleeping = sleepUnlessAborted(60_000, controller.signal);
    controller.abort();
    await expect(sleeping).resolves.toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('when the signal has already aborted, then it resolves false without waiting', async () => {
    await expect(sleepUnlessAborted(60_000, AbortSignal.abort())).resolves.toBe(false);
  });
});
