import { describe, expect, it } from 'vitest';
import { RunOutboxRepository } from '../../src/executions/run-outbox-repository.js';
import { useThrowawayMongo } from '../mongo/throwaway-mongo.js';
import { uniqueSuffix } from '../test-settings.js';

describe('RunOutboxRepository', () => {
  const mongo = useThrowawayMongo();
  const outbox = new RunOutboxRepository(mongo);

  function run(payload = 'x') {
    const executionId = `exec-${uniqueSuffix()}`;
    return { id: `${executionId}/terminal`, executionId, events: [{ payload }] };
  }

  it('when runs are parked, then unsent lists them oldest first and holding names their executions', async () => {
    const first = run();
    const second = run();
    await outbox.park(second, 1 << 30, new Date(2_000));
    await outbox.park(first, 1 << 30, new Date(1_000));
    // The same run again (a duplicate delivery) keeps the first copy.
    await outbox.park({ ...first, events: [{ payload: 'other' }] }, 1 << 30, new Date(3_000));

    const unsent = (await outbox.unsent(10)).filter((e) => [first.id, second.id].includes(e.id));
    expect(unsent.map((e) => [e.id, e.events])).toEqual([
      [first.id, [{ payload: 'x' }]],
      [second.id, [{ payload: 'x' }]],
    ]);
    expect(await outbox.holding([first.executionId, 'exec-absent'])).toEqual(new Set([first.executionId]));
    expect(await outbox.holds(second.executionId)).toBe(true);
  });

  it('when an entry is sent, then it leaves unsent but is held until pruned after its keep time', async () => {
    const entry = run();
    await outbox.park(entry, 1 << 30);
    await outbox.markSent(entry.id, new Date(10_000));
    expect((await outbox.unsent(1000)).map((e) => e.id)).not.toContain(entry.id);
    expect(await outbox.holds(entry.executionId)).toBe(true);

    await outbox.pruneSentBefore(new Date(10_000));
    expect(await outbox.holds(entry.executionId)).toBe(true);
    expect(await outbox.pruneSentBefore(new Date(10_001))).toBeGreaterThanOrEqual(1);
    expect(await outbox.holds(entry.executionId)).toBe(false);
  });

  it('when parking would pass the byte bound, then the run is refused and nothing is written', async () => {
    const before = await outbox.totalBytes();
    const big = run('y'.repeat(1_000));
    expect(await outbox.park(big, before + 500)).toBe('full');
    expect(await outbox.holds(big.executionId)).toBe(false);
    expect(await outbox.park(big, before + 2_000)).toBe('parked');
    expect(await outbox.totalBytes()).toBeGreaterThan(before + 1_000);
  });
});
