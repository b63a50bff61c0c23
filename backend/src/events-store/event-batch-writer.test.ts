import { describe, expect, it } from 'vitest';
import type { StoredEvent } from './event-store.js';
import { EventBatchWriter } from './event-batch-writer.js';

function event(n: number): StoredEvent {
  return {
    envelope: {
      event_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      event_type: 'execution_queued',
      event_version: 1,
      timestamp: new Date(0).toISOString(),
      aggregate_id: 'a',
      metadata: { service_name: 's', service_version: '0', correlation_id: 'c' },
      payload: {},
    },
    topic: 't',
    partition: 0,
    offset: String(n),
  };
}

/** A store whose inserts finish only when the test says so. */
function gatedStore() {
  const batches: number[][] = [];
  const gates: Array<{ ok: () => void; fail: (err: Error) => void }> = [];
  return {
    batches,
    release: (i: number) => gates[i]?.ok(),
    fail: (i: number, err: Error) => gates[i]?.fail(err),
    store: {
      insertMany: (events: readonly StoredEvent[]) => {
        batches.push(events.map((e) => Number(e.offset)));
        return new Promise<number>((resolve, reject) => {
          gates.push({ ok: () => resolve(events.length), fail: reject });
        });
      },
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('EventBatchWriter', () => {
  it('when events arrive while an insert runs, then they go together in the next insert, at most maxBatch each', async () => {
    const s = gatedStore();
    const writer = new EventBatchWriter({ store: s.store, maxBatch: 2 });
    const done: number[] = [];
    const all = [1, 2, 3, 4].map((n) => writer.store(event(n)).then(() => done.push(n)));
    await tick();
    expect(s.batches).toEqual([[1]]);
    s.release(0);
    await tick();
    expect(done).toEqual([1]);
    expect(s.batches).toEqual([[1], [2, 3]]);
    s.release(1);
    await tick();
    expect(s.batches).toEqual([[1], [2, 3], [4]]);
    expect(done).toEqual([1, 2, 3]);
    s.release(2);
    await Promise.all(all);
    expect(done).toEqual([1, 2, 3, 4]);
  });

  it('when an insert fails, then only the events of that insert are rejected and later ones are still written', async () => {
    const s = gatedStore();
    const writer = new EventBatchWriter({ store: s.store, maxBatch: 10 });
    const first = writer.store(event(1));
    const second = writer.store(event(2));
    await tick();
    s.fail(0, new Error('mongo down'));
    await expect(first).rejects.toThrow('mongo down');
    await tick();
    expect(s.batches).toEqual([[1], [2]]);
    s.release(1);
    await expect(second).resolves.toBeUndefined();
  });
});
