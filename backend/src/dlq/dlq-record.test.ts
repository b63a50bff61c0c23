import { describe, expect, it } from 'vitest';
import { retryMessage, toDlqMessage } from './dlq-record.js';

const receivedAt = new Date('2026-11-23T10:00:00Z');

describe('toDlqMessage', () => {
  it('when the record carries the dead-letter headers, then every field is taken from them', () => {
    const m = toDlqMessage(
      {
        topic: 'dead_letter_queue',
        partition: 0,
        offset: '7',
        key: Buffer.from('exec-1'),
        value: Buffer.from(JSON.stringify({ event_id: 'e1', event_type: 'execution_requested' })),
        headers: {
          original_topic: 'execution_requested',
          original_partition: '2',
          original_offset: '99',
          attempt: '3',
          error: 'boom',
          failed_at: '2026-11-23T09:59:00.000Z',
          consumer_group: 'saga',
          dlq_reason: 'retries_exhausted',
          dlq_attempt: '2',
          event_type: 'execution_requested',
          correlation_id: 'exec-1',
        },
      },
      receivedAt,
    );
    expect(m).toEqual({
      id: 'dead_letter_queue:0:7',
      originalTopic: 'execution_requested',
      originalPartition: 2,
      originalOffset: '99',
      consumerGroup: 'saga',
      eventId: 'e1',
      eventType: 'execution_requested',
      key: 'exec-1',
      value: JSON.stringify({ event_id: 'e1', event_type: 'execution_requested' }),
      headers: { event_type: 'execution_requested', correlation_id: 'exec-1' },
      error: 'boom',
      reason: 'retries_exhausted',
      attempt: 3,
      failedAt: new Date('2026-11-23T09:59:00.000Z'),
      receivedAt,
      status: 'pending',
      retryCount: 2,
      nextRetryAt: null,
      retriedAt: null,
      discardedAt: null,
      expiresAt: null,
    });
  });

  it('when headers are missing and the value is not JSON, then defaults stand in and nothing throws', () => {
    const m = toDlqMessage(
      { topic: 'dlq', partition: 1, offset: '0', key: null, value: Buffer.from([0xff, 0x00]), headers: {} },
      receivedAt,
    );
    expect(m).toMatchObject({
      id: 'dlq:1:0',
      originalTopic: 'unknown',
      originalPartition: null,
      eventId: null,
      eventType: null,
      key: null,
      reason: 'unknown',
      attempt: 0,
      failedAt: receivedAt,
      error: 'no error recorded',
    });
  });
});

describe('retryMessage', () => {
  it('when a stored message is retried, then key, value and original headers go out with the next retry number', () => {
    const m = toDlqMessage(
      {
        topic: 'dlq',
        partition: 0,
        offset: '3',
        key: Buffer.from('k'),
        value: Buffer.from('{"event_id":"e"}'),
        headers: { event_id: 'e', traceparent: 't', attempt: '3', error: 'x', dlq_attempt: '1' },
      },
      receivedAt,
    );
    expect(retryMessage(m)).toEqual({
      key: 'k',
      value: '{"event_id":"e"}',
      headers: { event_id: 'e', traceparent: 't', dlq_attempt: '2' },
    });
  });
});
