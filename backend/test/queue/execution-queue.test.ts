import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionQueue } from '../../src/queue/execution-queue.js';
import { RedisConnections } from '../../src/platform/redis/redis-connections.js';
import { testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

describe('ExecutionQueue against redis-server', () => {
  const settings = testSettings();
  const redis = new RedisConnections({
    host: settings.REDIS_HOST,
    port: settings.REDIS_PORT,
    db: settings.REDIS_DB,
    password: settings.REDIS_PASSWORD,
    maxConnections: 10,
    logger: testLogger(),
  });
  const queue = (): ExecutionQueue => new ExecutionQueue(redis.commands, `it:${uniqueSuffix()}`);

  beforeAll(() => redis.start());
  afterAll(() => redis.stop());

  it('when executions of several priorities wait, then claims follow priority, then age', async () => {
    const q = queue();
    await q.enqueue('low-1', 'low', 1);
    await q.enqueue('normal-1', 'normal', 2);
    await q.enqueue('normal-0', 'normal', 1);
    await q.enqueue('critical-1', 'critical', 3);
    const order: Array<string | null> = [];
    for (let i = 0; i < 5; i++) order.push(await q.claim(10, 60_000));
    expect(order).toEqual(['critical-1', 'normal-0', 'normal-1', 'low-1', null]);
  });

  it('when the cap is reached, then nothing more is claimed until a slot is released', async () => {
    const q = queue();
    for (const id of ['a', 'b', 'c']) await q.enqueue(id, 'normal');
    expect(await q.claim(2, 60_000)).toBe('a');
    expect(await q.claim(2, 60_000)).toBe('b');
    expect(await q.claim(2, 60_000)).toBeNull();
    expect(await q.release('a')).toBe(true);
    expect(await q.claim(2, 60_000)).toBe('c');
    expect((await q.stats()).active).toBe(2);
  });

  it('when the same execution is enqueued twice or while it runs, then it is queued once', async () => {
    const q = queue();
    expect(await q.enqueue('x', 'normal')).toBe(true);
    expect(await q.enqueue('x', 'high')).toBe(false);
    expect(await q.claim(5, 60_000)).toBe('x');
    expect(await q.enqueue('x', 'normal')).toBe(false);
    expect((await q.stats()).queued.normal + (await q.stats()).queued.high).toBe(0);
  });

  it('when many claimers race for few slots, then the cap holds exactly', async () => {
    const q = queue();
    await Promise.all(Array.from({ length: 40 }, (_, i) => q.enqueue(`r${i}`, 'normal')));
    const claimed = await Promise.all(Array.from({ length: 40 }, () => q.claim(7, 60_000)));
    expect(claimed.filter((c) => c !== null)).toHaveLength(7);
    expect(new Set(claimed.filter(Boolean)).size).toBe(7);
  });

  it('when a queued execution is released (cancelled before running), then it is never claimed', async () => {
    const q = queue();
    await q.enqueue('cancel-me', 'normal');
    expect(await q.isQueued('cancel-me')).toBe(true);
    expect(await q.release('cancel-me')).toBe(true);
    expect(await q.claim(5, 60_000)).toBeNull();
    expect(await q.release('cancel-me')).toBe(false);
  });

  it('when a lease is not renewed, then it shows up as expired; a renewed one does not', async () => {
    const q = queue();
    await q.enqueue('stale', 'normal');
    await q.enqueue('alive', 'normal');
    await q.claim(5, 1_000, 0);
    await q.claim(5, 1_000, 0);
    expect(await q.renew('alive', 10_000, 500)).toBe(true);
    expect(await q.expiredLeases(2_000)).toEqual(['stale']);
    expect(await q.renew('never-held', 1_000)).toBe(false);
  });

  it('when a slot is free and nothing of its priority or higher waits, then enqueueOrClaim takes the slot at once', async () => {
    const q = queue();
    await q.enqueue('low-waiting', 'low');
    expect(await q.enqueueOrClaim('first', 'normal', 2, 60_000)).toBe('claimed');
    expect((await q.stats()).active).toBe(1);
    // Lower priorities do not hold it back; the waiting low one is still next for the drain.
    expect(await q.claim(5, 60_000)).toBe('low-waiting');
  });

  it('when something of the same or a higher priority waits, or the cap is reached, then enqueueOrClaim queues behind it', async () => {
    const q = queue();
    await q.enqueue('high-waiting', 'high', 1);
    expect(await q.enqueueOrClaim('normal-new', 'normal', 5, 60_000, 2)).toBe('queued');
    expect(await q.enqueueOrClaim('high-new', 'high', 5, 60_000, 3)).toBe('queued');
    // A critical one has nothing ahead of it.
    expect(await q.enqueueOrClaim('critical-new', 'critical', 5, 60_000, 4)).toBe('claimed');
    const order: Array<string | null> = [];
    for (let i = 0; i < 4; i++) order.push(await q.claim(5, 60_000));
    expect(order).toEqual(['high-waiting', 'high-new', 'normal-new', null]);

    const full = queue();
    expect(await full.enqueueOrClaim('a', 'normal', 1, 60_000)).toBe('claimed');
    expect(await full.enqueueOrClaim('b', 'critical', 1, 60_000)).toBe('queued');
    expect(await full.claim(1, 60_000)).toBeNull();
  });

  it('when the execution is already queued or holds a slot, then enqueueOrClaim changes nothing', async () => {
    const q = queue();
    expect(await q.enqueueOrClaim('x', 'normal', 1, 60_000)).toBe('claimed');
    expect(await q.enqueueOrClaim('x', 'normal', 5, 60_000)).toBe('present');
    await q.enqueue('y', 'low');
    expect(await q.enqueueOrClaim('y', 'critical', 5, 60_000)).toBe('present');
    const stats = await q.stats();
    expect(stats.active).toBe(1);
    expect(stats.queued.low).toBe(1);
    expect(stats.queued.critical).toBe(0);
  });

  it('when a claimed execution is requeued, then its slot is freed and it waits at its priority again', async () => {
    const q = queue();
    await q.enqueue('older-normal', 'normal', 0);
    await q.enqueue('x', 'high', 1);
    expect(await q.claim(1, 60_000)).toBe('x');
    await q.requeue('x', 'high', 2);
    const stats = await q.stats();
    expect(stats.active).toBe(0);
    expect(stats.queued.high).toBe(1);
    expect(stats.queued.normal).toBe(1);
    expect(await q.expiredLeases(Number.MAX_SAFE_INTEGER)).toEqual([]);
    // Back at high: it is claimed before the normal one that waited longer.
    expect(await q.claim(1, 60_000)).toBe('x');
  });

  it('when an execution that holds no slot is requeued, then it is queued once', async () => {
    const q = queue();
    await q.requeue('never-claimed', 'low');
    await q.requeue('never-claimed', 'low');
    await q.requeue('never-claimed', 'critical');
    const stats = await q.stats();
    expect(stats.active).toBe(0);
    expect(Object.values(stats.queued).reduce((a, b) => a + b, 0)).toBe(1);
    expect(stats.queued.low).toBe(1);
    expect(await q.claim(5, 60_000)).toBe('never-claimed');
    expect(await q.claim(5, 60_000)).toBeNull();
  });

  describe('with a per-user cap of 2', () => {
    const capped = (): ExecutionQueue => new ExecutionQueue(redis.commands, `it:${uniqueSuffix()}`, 2);

    it('when one user has more queued than their cap, then another user queued after them is claimed before their third', async () => {
      const q = capped();
      for (const [i, id] of ['a1', 'a2', 'a3'].entries()) await q.enqueue(id, 'normal', i, 'alice');
      await q.enqueue('b1', 'normal', 10, 'bob');
      const order = [];
      for (let i = 0; i < 4; i++) order.push(await q.claim(10, 60_000));
      expect(order).toEqual(['a1', 'a2', 'b1', null]);
      expect(await q.isQueued('a3')).toBe(true);

      await q.release('a1');
      expect(await q.claim(10, 60_000)).toBe('a3');
      expect(await q.claim(10, 60_000)).toBeNull();
    });

    it('when a user at their cap submits while slots are free, then it is queued, not claimed', async () => {
      const q = capped();
      expect(await q.enqueueOrClaim('a1', 'normal', 10, 60_000, 1, 'alice')).toBe('claimed');
      expect(await q.enqueueOrClaim('a2', 'normal', 10, 60_000, 2, 'alice')).toBe('claimed');
      expect(await q.enqueueOrClaim('a3', 'critical', 10, 60_000, 3, 'alice')).toBe('queued');
      expect(await q.enqueueOrClaim('b1', 'low', 10, 60_000, 4, 'bob')).toBe('queued');
      // The critical entry of the capped user does not hold back bob's low one.
      expect(await q.claim(10, 60_000)).toBe('b1');
    });

    it('when a slot is given back by requeue or lease repair, then the user may claim again, and counts never go below zero', async () => {
      const q = capped();
      expect(await q.enqueueOrClaim('a1', 'normal', 10, 60_000, 1, 'alice')).toBe('claimed');
      expect(await q.enqueueOrClaim('a2', 'normal', 10, 60_000, 2, 'alice')).toBe('claimed');
      await q.requeue('a2', 'normal', 3);
      expect(await q.claim(10, 60_000)).toBe('a2');
      await q.release('a1');
      await q.release('a1');
      await q.release('a2');
      for (const id of ['a3', 'a4', 'a5']) await q.enqueue(id, 'normal', 4, 'alice');
      expect([await q.claim(10, 60_000), await q.claim(10, 60_000), await q.claim(10, 60_000)]).toEqual([
        'a3',
        'a4',
        null,
      ]);
    });

    it("when an admin raises one user's cap, then that user may hold more slots; clearing it restores the default", async () => {
      const q = capped();
      await q.setUserCap('alice', 3);
      expect(await q.userCap('alice')).toBe(3);
      for (const [i, id] of ['a1', 'a2', 'a3', 'a4'].entries()) await q.enqueue(id, 'normal', i, 'alice');
      const order = [];
      for (let i = 0; i < 4; i++) order.push(await q.claim(10, 60_000));
      expect(order).toEqual(['a1', 'a2', 'a3', null]);
      await q.setUserCap('alice', null);
      expect(await q.userCap('alice')).toBeNull();
      await q.release('a1');
      // Two still held, the default cap is 2 again: a4 waits.
      expect(await q.claim(10, 60_000)).toBeNull();
    });

    it('when the global cap is reached, then a user under their own cap still waits', async () => {
      const q = capped();
      expect(await q.enqueueOrClaim('a1', 'normal', 1, 60_000, 1, 'alice')).toBe('claimed');
      expect(await q.enqueueOrClaim('b1', 'normal', 1, 60_000, 2, 'bob')).toBe('queued');
      expect(await q.claim(1, 60_000)).toBeNull();
    });
  });
});
