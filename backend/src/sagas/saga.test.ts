import { describe, expect, it } from 'vitest';
import { isFinalSagaState, sagaStateForVerdict } from './saga.js';

describe('saga states', () => {
  it('when the script reached any verdict of its own, then the saga completed', () => {
    for (const verdict of ['completed', 'timeout', 'cpu_limit', 'memory_limit', 'output_limit'] as const) {
      expect(sagaStateForVerdict(verdict)).toBe('completed');
    }
  });

  it('when the platform failed or the user cancelled, then the saga says so', () => {
    expect(sagaStateForVerdict('failed')).toBe('failed');
    expect(sagaStateForVerdict('cancelled')).toBe('cancelled');
  });

  it('when a saga is queued or scheduled, then it is not final', () => {
    expect(isFinalSagaState('queued')).toBe(false);
    expect(isFinalSagaState('scheduled')).toBe(false);
    expect(isFinalSagaState('cancelled')).toBe(true);
  });
});
