import { describe, expect, it } from 'vitest';
import { CachedOverrides, type OverrideStore } from './override-cache.js';
import type { RateLimitOverride } from './policy.js';

function countingStore(): OverrideStore & { reads: number; data: Map<string, RateLimitOverride> } {
  const data = new Map<string, RateLimitOverride>();
  const store = {
    reads: 0,
    data,
    find(userId: string) {
      store.reads += 1;
      return Promise.resolve(data.get(userId) ?? null);
    },
    put(o: RateLimitOverride) {
      data.set(o.userId, o);
      return Promise.resolve(o);
    },
    remove(userId: string) {
      return Promise.resolve(data.delete(userId));
    },
  };
  return store;
}

const override = (userId: string, multiplier: number): RateLimitOverride => ({
  userId,
  bypass: false,
  multiplier,
  limits: {},
  updatedAt: new Date(0),
  updatedBy: 'admin',
});

describe('CachedOverrides', () => {
  it('when a user is looked up twice within the TTL, then the store is read once; after it, again', async () => {
    let now = 0;
    const store = countingStore();
    const cache = new CachedOverrides({ store, ttlMs: 5_000, now: () => now });
    expect(await cache.find('u1')).toBeNull();
    expect(await cache.find('u1')).toBeNull();
    expect(store.reads).toBe(1);
    now = 5_000;
    await cache.find('u1');
    expect(store.reads).toBe(2);
  });

  it('when an override is put or removed through the cache, then the next lookup sees it at once', async () => {
    const store = countingStore();
    const cache = new CachedOverrides({ store, ttlMs: 60_000 });
    expect(await cache.find('u1')).toBeNull();
    await cache.put(override('u1', 3));
    expect((await cache.find('u1'))?.multiplier).toBe(3);
    await cache.remove('u1');
    expect(await cache.find('u1')).toBeNull();
  });

  it('when the cache is full, then it stays within its bound', async () => {
    const store = countingStore();
    const cache = new CachedOverrides({ store, ttlMs: 60_000, maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) await cache.find(id);
    store.reads = 0;
    await cache.find('e');
    expect(store.reads).toBe(0);
    await cache.find('a');
    expect(store.reads).toBe(1);
  });
});
