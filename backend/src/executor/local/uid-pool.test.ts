import { describe, expect, it } from 'vitest';
import { UidPool } from './uid-pool.js';

describe('UidPool', () => {
  it('when uids are acquired, then each is a different uid of the range, in order', () => {
    const pool = new UidPool(200_000, 3);
    expect([pool.acquire(), pool.acquire(), pool.acquire()]).toEqual([200_000, 200_001, 200_002]);
    expect(pool.inUse).toBe(3);
    expect(pool.last).toBe(200_002);
  });

  it('when every uid is held, then acquire returns undefined until one is released', () => {
    const pool = new UidPool(500, 2);
    const a = pool.acquire()!;
    pool.acquire();
    expect(pool.acquire()).toBeUndefined();
    pool.release(a);
    expect(pool.acquire()).toBe(a);
  });

  it('when a uid is released, then it goes to the back: the least recently released is reused first', () => {
    const pool = new UidPool(1000, 3);
    const first = pool.acquire()!;
    pool.release(first);
    expect(pool.acquire()).toBe(1001);
    expect(pool.acquire()).toBe(1002);
    expect(pool.acquire()).toBe(first);
  });

  it('when a uid is retired, then it is never handed out again', () => {
    const pool = new UidPool(1000, 2);
    const a = pool.acquire()!;
    pool.retire(a);
    expect(pool.retired).toBe(1);
    expect(pool.inUse).toBe(0);
    const b = pool.acquire()!;
    expect(b).toBe(1001);
    pool.release(b);
    expect([pool.acquire(), pool.acquire()]).toEqual([1001, undefined]);
  });

  it('when a uid that is not held is released or retired, then it throws (no double release)', () => {
    const pool = new UidPool(1000, 2);
    const a = pool.acquire()!;
    pool.release(a);
    expect(() => pool.release(a)).toThrow(/not held/);
    expect(() => pool.retire(a)).toThrow(/not held/);
    expect(() => pool.release(5)).toThrow(/not held/);
    expect(pool.acquire()).toBe(1001);
    expect(pool.acquire()).toBe(1000);
  });

  it('when the range is empty, negative or past 2^32-2, then the constructor refuses it', () => {
    expect(() => new UidPool(1000, 0)).toThrow(RangeError);
    expect(() => new UidPool(0, 10)).toThrow(RangeError);
    expect(() => new UidPool(1.5, 10)).toThrow(RangeError);
    expect(() => new UidPool(2 ** 32 - 10, 10)).toThrow(RangeError);
    expect(new UidPool(2 ** 32 - 11, 10).last).toBe(2 ** 32 - 2);
  });

  it('when asked, then contains tells the reserved range from other uids', () => {
    const pool = new UidPool(200_000, 10);
    expect([199_999, 200_000, 200_009, 200_010].map((uid) => pool.contains(uid))).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });
});
