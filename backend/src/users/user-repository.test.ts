import { describe, expect, it } from 'vitest';
import { escapeRegex } from './user-repository.js';

describe('escapeRegex', () => {
  it('when the text holds regex metacharacters, then the pattern built from it matches only the literal text', () => {
    const text = String.raw`a.b*c+d?e^f$g{h}i(j)k|l[m]n\o/p-q`;
    const pattern = new RegExp(`^${escapeRegex(text)}$`);
    expect(pattern.test(text)).toBe(true);
    expect(pattern.test(text.replace('.', 'X'))).toBe(false);
  });

  it('when the search is ".*", then it does not match arbitrary names', () => {
    expect(new RegExp(escapeRegex('.*'), 'i').test('alice')).toBe(false);
  });

  it('when the search is an unbalanced parenthesis, then building the pattern does not throw', () => {
    expect(() => new RegExp(escapeRegex('('))).not.toThrow();
  });
});
