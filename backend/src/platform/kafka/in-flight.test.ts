import { describe, expect, it } from 'vitest';
import { InFlightOffsets, PartitionOffsets, Slots } from './in-flight.js';

describe('PartitionOffsets', () => {
  it('when messages finish out of order, then the committable offset moves only over the finished prefix', () => {
    const offsets = new PartitionOffsets();
    for (const offset of ['5', '6', '7']) offsets.dispatched(offset, String(Number(offset) + 1));

    expect(offsets.finished('6')).toBeUndefined();
    expect(offsets.finished('5')).toBe('7');
    offsets.dispatched('8', '10'); // last of its batch: skips a trailing control record
    expect(offsets.finished('8')).toBeUndefined();
    expect(offsets.finished('7')).toBe('10');
  });

  it('when it is detached by a rejoin, then finishes no longer move anything', () => {
    const all = new InFlightOffsets();
    const before = all.partition('t', 0);
    before.dispatched('0', '1');

    all.reset();

    expect(before.current).toBe(false);
    expect(before.finished('0')).toBeUndefined();
    const after = all.partition('t', 0);
    expect(after).not.toBe(before);
    after.dispatched('0', '1');
    expect(after.finished('0')).toBe('1');
  });
});

describe('Slots', () => {
  it('when all slots are held, then the next acquire waits for a release, in arrival order', async () => {
    const slots = new Slots(2);
    const signal = new AbortController().signal;
    expect(await slots.acquire(signal)).toBe(true);
    expect(await slots.acquire(signal)).toBe(true);
    const granted: string[] = [];
    const third = slots.acquire(signal).then((ok) => granted.push(`third:${ok}`));
    const fourth = slots.acquire(signal).then((ok) => granted.push(`fourth:${ok}`));
    await Promise.resolve();
    expect(granted).toEqual([]);

    slots.release();
    await third;
    expect(granted).toEqual(['third:true']);
    slots.release();
    await fourth;
    expect(granted).toEqual(['third:true', 'fourth:true']);
  });

  it('when a slot is free and nobody waits, then tryAcquire takes it at once; otherwise it takes none and a release goes to the waiter first', async () => {
    const slots = new Slots(2);
    const signal = new AbortController().signal;
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
    const waiting = slots.acquire(signal);

    slots.release(); // handed to the waiter, not freed
    expect(await waiting).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
    slots.release();
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
  });

  it('when the signal aborts while waiting, then acquire resolves false and takes no slot', async () => {
    const slots = new Slots(1);
    const abort = new AbortController();
    expect(await slots.acquire(abort.signal)).toBe(true);
    const waiting = slots.acquire(abort.signal);

    abort.abort();

    expect(await waiting).toBe(false);
    slots.release();
    expect(await slots.acquire(new AbortController().signal)).toBe(true);
    expect(await slots.acquire(abort.signal)).toBe(false);
  });
});
