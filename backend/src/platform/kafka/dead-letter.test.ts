import { describe, expect, it } from 'vitest';
import { deadLetterMessage, MAX_ERROR_HEADER_LENGTH } from './dead-letter.js';

const info = {
  originalTopic: 'prod.execution_requested',
  originalPartition: 2,
  originalOffset: '41',
  attempt: 3,
  error: 'mongo unavailable',
  failedAt: new Date('2025-05-06T07:08:09.000Z'),
  consumerGroup: 'saga-orchestrator',
  reason: 'retries_exhausted' as const,
};

describe('deadLetterMessage', () => {
  it('when a message is dead-lettered, then key, value and original headers are kept and the failure is described', () => {
    const key = Buffer.from('exec-1');
    const value = Buffer.from([0xff, 0x00, 0x7b]);
    const letter = deadLetterMessage(
      { key, value, headers: { event_type: 'execution_requested', attempt: 'x' } },
      info,
    );

    expect(letter.key).toBe(key);
    expect(letter.value).toBe(value);
    expect(letter.headers).toEqual({
      event_type: 'execution_requested',
      original_topic: 'prod.execution_requested',
      original_partition: '2',
      original_offset: '41',
      attempt: '3',
      error: 'mongo unavailable',
      failed_at: '2025-05-06T07:08:09.000Z',
      consumer_group: 'saga-orchestrator',
      dlq_reason: 'retries_exhausted',
    });
  });

  it('when the error is very long, then the header is truncated to the limit', () => {
    const letter = deadLetterMessage({ key: null, value: null }, { ...info, error: 'x'.repeat(10_000) });
    const error = letter.headers.error;

    expect(typeof error).toBe('string');
    expect((error as string).length).toBe(MAX_ERROR_HEADER_LENGTH);
    expect((error as string).endsWith('…')).toBe(true);
  });
});
