import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiProcess } from '../../src/http/api-process.js';
import { bearer, newUser, probe, rateLimitSettings, startApi, statuses } from './helpers.js';

describe('rate limits of one API process (5/minute, no trusted proxies)', () => {
  const settings = rateLimitSettings();
  let api: ApiProcess;
  let base: string;

  beforeAll(async () => ({ api, base } = await startApi(settings)));
  afterAll(() => api.host.stop());

  it('when a user spends the budget, then headers count down and the next request is 429 with Retry-After', async () => {
    const user = await newUser(base);
    for (let i = 1; i <= 5; i++) {
      const res = await probe(base, bearer(user));
      expect(res.status).toBe(404);
      expect(res.headers.get('x-ratelimit-limit')).toBe('5');
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(5 - i));
      const reset = Number(res.headers.get('x-ratelimit-reset'));
      expect(reset).toBeGreaterThan(Date.now() / 1000);
      expect(reset).toBeLessThanOrEqual(Date.now() / 1000 + 61);
      // draft-8: the policy is named after the group; pk is a hash of the caller's key.
      expect(res.headers.get('ratelimit-policy')).toMatch(/^"default"; q=5; w=60; pk=:[^:]+:$/);
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"default"; r=${5 - i}; t=\\d+`));
    }
    const refused = await probe(base, bearer(user));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(await refused.json()).toEqual({
      detail: `Rate limit exceeded: 5 requests per minute for default; retry in ${retryAfter} s`,
      type: 'rate_limited',
    });
  });

  it('when two users call from the same IP, then each has a budget of its own', async () => {
    const [alice, bob] = [await newUser(base), await newUser(base)];
    expect(await statuses(6, () => probe(base, bearer(alice)))).toEqual([404, 404, 404, 404, 404, 429]);
    expect(await statuses(6, () => probe(base, bearer(bob)))).toEqual([404, 404, 404, 404, 404, 429]);
  });

  it('when anonymous requests spend the IP budget, then a spoofed X-Forwarded-For does not reset it, and a user there is unaffected', async () => {
    expect(await statuses(5, () => probe(base))).toEqual([404, 404, 404, 404, 404]);
    expect((await probe(base)).status).toBe(429);
    expect((await probe(base, { 'x-forwarded-for': '203.0.113.77' })).status).toBe(429);
    const user = await newUser(base);
    expect((await probe(base, bearer(user))).status).toBe(404);
  });

  it('when a token is invalid, then the request counts against the IP, not some user', async () => {
    // The IP budget is spent by the test above (same process, same prefix).
    expect((await probe(base, { authorization: 'Bearer not-a-token' })).status).toBe(429);
  });

  it('when health endpoints are called beyond the limit, then they are never limited', async () => {
    const codes = await statuses(8, () => fetch(`${base}/health/live`));
    expect(codes.every((c) => c === 200)).toBe(true);
  });
});

describe('rate limits behind a trusted proxy (TRUSTED_PROXIES=127.0.0.1)', () => {
  const settings = rateLimitSettings({ INTEGR8SCODE_TRUSTED_PROXIES: '127.0.0.1' });
  let api: ApiProcess;
  let base: string;

  beforeAll(async () => ({ api, base } = await startApi(settings)));
  afterAll(() => api.host.stop());

  it('when X-Forwarded-For comes from the trusted proxy, then each forwarded client IP has its own budget', async () => {
    const first = { 'x-forwarded-for': '198.51.100.1' };
    const second = { 'x-forwarded-for': '198.51.100.2' };
    expect(await statuses(6, () => probe(base, first))).toEqual([404, 404, 404, 404, 404, 429]);
    expect(await statuses(6, () => probe(base, second))).toEqual([404, 404, 404, 404, 404, 429]);
  });

  it('when a client calls paths outside /api/v1 beyond the limit, then they are limited by its IP too', async () => {
    const client = { 'x-forwarded-for': '198.51.100.3' };
    const outside = base.replace(/\/api\/v1$/, '');
    let i = 0;
    const codes = await statuses(6, () =>
      fetch(`${outside}/unknown-${i++}`, { method: 'POST', headers: client }),
    );
    expect(codes).toEqual([404, 404, 404, 404, 404, 429]);
    // Another client is unaffected.
    expect(
      (await fetch(`${outside}/unknown`, { headers: { 'x-forwarded-for': '198.51.100.4' } })).status,
    ).toBe(404);
  });
});

describe('two API processes sharing one Redis', () => {
  const settings = rateLimitSettings();
  let a: { api: ApiProcess; base: string };
  let b: { api: ApiProcess; base: string };

  beforeAll(async () => {
    a = await startApi(settings);
    b = await startApi(settings);
  });
  afterAll(async () => {
    await Promise.all([a.api.host.stop(), b.api.host.stop()]);
  });

  it('when a user alternates between the processes, then both count against one budget', async () => {
    expect(a.api.http.port).not.toBe(b.api.http.port);
    const user = await newUser(a.base);
    const codes = await statuses(
      6,
      (() => {
        let i = 0;
        return () => probe((i++ % 2 === 0 ? a : b).base, bearer(user));
      })(),
    );
    expect(codes).toEqual([404, 404, 404, 404, 404, 429]);
    expect((await probe(a.base, bearer(user))).status).toBe(429);
    expect((await probe(b.base, bearer(user))).status).toBe(429);
  });
});
