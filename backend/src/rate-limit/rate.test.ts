import { describe, expect, it } from 'vitest';
import { formatRate, parseRate, unitOf } from './rate.js';

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
    '   ',
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

  it('when the text does not have the shape, then the message says which shape is expected', () => {
    expect(() => parseRate('100 per minute')).toThrow(
      new Error('invalid rate "100 per minute": expected "<count>/<second|minute|hour|day>"'),
    );
  });

  it.each(['0/minute', '99999999999999999/minute'])(
    'when the count is %j (zero or past the safe integers), then the message says the count must be ≥ 1',
    (text) => {
      expect(() => parseRate(text)).toThrow(
        new Error(`invalid rate "${text}": the count must be an integer ≥ 1`),
      );
    },
  );

  it('when the count is the largest safe integer, then it is accepted', () => {
    expect(parseRate(`${Number.MAX_SAFE_INTEGER}/day`)).toEqual({
      limit: Number.MAX_SAFE_INTEGER,
      windowMs: 86_400_000,
    });
  });
});

describe('formatRate', () => {
  it.each(['20/minute', '1/second', '7/hour', '1000/day'])(
    'when %j is parsed and formatted, then it reads like the setting',
    (text) => {
      expect(formatRate(parseRate(text))).toBe(text);
    },
  );

  it('when a window is not one whole unit, then it is written in seconds', () => {
    expect(formatRate({ limit: 3, windowMs: 90_000 })).toBe('3/90 s');
  });
});

describe('unitOf', () => {
  it.each([
    [1_000, 'second'],
    [60_000, 'minute'],
    [3_600_000, 'hour'],
    [86_400_000, 'day'],
    [120_000, '120 s'],
    [500, '0.5 s'],
  ])('when the window is %i ms, then the unit is %j', (windowMs, unit) => {
    expect(unitOf(windowMs)).toBe(unit);
  });
});
