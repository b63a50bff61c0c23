import { describe, expect, it } from 'vitest';
import { formatRate, parseRate } from './rate.js';

describe('parseRate', () => {
  it.each([
    ['100/minute', { limit: 100, windowMs: 60_000 }],
    ['1/second', { limit: 1, windowMs: 1_000 }],
    [' 5 / hour ', { limit: 5, windowMs: 3_600_000 }],
    ['1000/day', { limit: 1000, windowMs: 86_400_000 }],
  ])('when given %j, then it is %j', (text, expected) => {
    expect(parseRate(text)).toEqual(expected);
  });

  it.each([
    '',
    '100',
    '100/minutes',
    'minute',
    '-1/minute',
    '1.5/minute',
    '0/minute',
    '100/week',
    '100 per minute',
  ])('when given %j, then it throws naming the value', (text) => {
    expect(() => parseRate(text)).toThrow(`invalid rate "${text}"`);
  });

  it('when a rate is formatted, then it reads like the setting', () => {
    expect(formatRate(parseRate('20/minute'))).toBe('20/minute');
  });
});
