import { KafkaJSError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { hasKafkaErrorType } from './kafka-errors.js';

const protocolError = (type: string, code: number) =>
  new KafkaJSProtocolError({ type, code, retriable: false, message: type } as unknown as Error);
const types = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION']);

describe('hasKafkaErrorType', () => {
  it('when the error, or one it wraps, has a listed type, then it matches', () => {
    const rebalancing = protocolError('REBALANCE_IN_PROGRESS', 27);
    expect(hasKafkaErrorType(rebalancing, types)).toBe(true);
    expect(
      hasKafkaErrorType(
        new KafkaJSNumberOfRetriesExceeded(rebalancing, { retryCount: 5, retryTime: 100 }),
        types,
      ),
    ).toBe(true);
  });

  it('when no error in the chain has a listed type, then it does not match', () => {
    expect(hasKafkaErrorType(protocolError('NOT_COORDINATOR', 16), types)).toBe(false);
    expect(hasKafkaErrorType(new KafkaJSError('Connection timeout'), types)).toBe(false);
    expect(hasKafkaErrorType({ type: 42 }, types)).toBe(false);
    expect(hasKafkaErrorType(null, types)).toBe(false);
  });

  it('when causes form a cycle, then it stops', () => {
    const a: { type: string; cause?: unknown } = { type: 'X' };
    a.cause = a;
    expect(hasKafkaErrorType(a, types)).toBe(false);
  });
});
