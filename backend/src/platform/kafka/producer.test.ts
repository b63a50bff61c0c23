import { KafkaJSError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isRecordError } from './producer.js';

const protocolError = (type: string, code: number) =>
  new KafkaJSProtocolError({ type, code, retriable: false, message: type } as unknown as Error);

describe('isRecordError (which failed coalesced requests are retried call by call)', () => {
  it('when the broker refused a record, then it is a record error, also wrapped in a retry error', () => {
    const tooLarge = protocolError('MESSAGE_TOO_LARGE', 10);
    expect(isRecordError(tooLarge)).toBe(true);
    expect(
      isRecordError(new KafkaJSNumberOfRetriesExceeded(tooLarge, { retryCount: 5, retryTime: 100 })),
    ).toBe(true);
  });

  it('when the request or the broker failed, then it is not: every call fails at once', () => {
    expect(isRecordError(protocolError('NOT_LEADER_FOR_PARTITION', 6))).toBe(false);
    expect(isRecordError(new KafkaJSError('Connection timeout'))).toBe(false);
    expect(isRecordError(new Error('anything'))).toBe(false);
    expect(isRecordError(undefined)).toBe(false);
  });
});
