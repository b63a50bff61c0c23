import { describe, expect, it } from 'vitest';
import { step } from '../../src/sagas/saga.js';
import { SagaRepository } from '../../src/sagas/saga-repository.js';
import { useThrowawayMongo } from '../mongo/throwaway-mongo.js';
import { uniqueSuffix } from '../test-settings.js';

describe('SagaRepository against the Mongo wire server', () => {
  const sagas = new SagaRepository(useThrowawayMongo());

  it('when a saga is created twice, then the first call creates it with all its steps and the second finds it unchanged', async () => {
    const id = `saga-${uniqueSuffix()}`;
    const first = await sagas.createIfAbsent(id, 'queued', [
      step('requested', 'ev-1'),
      step('enqueued', 'high'),
    ]);
    expect(first.created).toBe(true);
    expect(first.saga).toMatchObject({ id, state: 'queued', error: null, compensations: [] });
    expect(first.saga.steps.map((s) => [s.name, s.detail])).toEqual([
      ['requested', 'ev-1'],
      ['enqueued', 'high'],
    ]);

    const again = await sagas.createIfAbsent(id, 'cancelled', step('cancel_requested', 'user'));
    expect(again.created).toBe(false);
    expect(again.saga.state).toBe('queued');
    expect(again.saga.steps).toHaveLength(2);
  });

  it('when many callers create the same saga at once, then exactly one of them created it', async () => {
    const id = `saga-${uniqueSuffix()}`;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => sagas.createIfAbsent(id, 'queued', step('requested', `ev-${i}`))),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const steps = new Set(results.map((r) => r.saga.steps[0]?.detail));
    expect(steps.size).toBe(1);
  });
});
