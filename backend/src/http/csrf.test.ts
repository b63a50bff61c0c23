import { describe, expect, it } from 'vitest';
import { CsrfTokens } from './csrf.js';

const SECRET = 'unit-test-secret-of-at-least-32-chars!!';

describe('CsrfTokens', () => {
  it('when a token is issued for a jti, then it is the base64url HMAC-SHA256 of "csrf:" + jti', async () => {
    const { createHmac } = await import('node:crypto');
    const expected = createHmac('sha256', SECRET).update('csrf:jti-1').digest('base64url');
    expect(new CsrfTokens(SECRET).issue('jti-1')).toBe(expected);
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('when the token issued for the same jti is presented, then it verifies', () => {
    const csrf = new CsrfTokens(SECRET);
    expect(csrf.verify('jti-1', csrf.issue('jti-1'))).toBe(true);
  });

  it('when a token of another jti is presented, then it is refused', () => {
    const csrf = new CsrfTokens(SECRET);
    expect(csrf.verify('jti-1', csrf.issue('jti-2'))).toBe(false);
  });

  it('when a token made with another secret is presented, then it is refused', () => {
    const other = new CsrfTokens(`${SECRET}-other`);
    expect(new CsrfTokens(SECRET).verify('jti-1', other.issue('jti-1'))).toBe(false);
  });

  it('when the token is missing, empty, truncated or extended, then it is refused', () => {
    const csrf = new CsrfTokens(SECRET);
    const good = csrf.issue('jti-1');
    for (const presented of [undefined, '', good.slice(0, -1), `${good}x`]) {
      expect(csrf.verify('jti-1', presented)).toBe(false);
    }
  });
});
