import { describe, expect, it } from 'vitest';
import { readCookie } from './authenticate.js';

describe('readCookie', () => {
  it('when the cookie is among others, then its decoded value is returned', () => {
    expect(readCookie('a=1; access_token=x%2By; b=2', 'access_token')).toBe('x+y');
  });

  it('when only a cookie with a longer name that ends like it exists, then nothing is returned', () => {
    expect(readCookie('my_access_token=1', 'access_token')).toBeUndefined();
  });

  it('when the header is absent or the value badly encoded, then nothing is returned', () => {
    expect(readCookie(undefined, 'access_token')).toBeUndefined();
    expect(readCookie('access_token=%E0%A4%A', 'access_token')).toBeUndefined();
  });
});
