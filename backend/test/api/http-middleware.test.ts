import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness } from '../auth/api-harness.js';

describe('HTTP middleware of the API process', () => {
  const allowed = 'http://localhost:5173';
  const h = new ApiHarness({
    INTEGR8SCODE_CORS_ORIGINS: `${allowed}, https://app.example.com`,
    INTEGR8SCODE_MAX_REQUEST_BODY_BYTES: '1024',
  });

  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it('when an API response is sent, then it says Cache-Control: no-store and carries the security headers', async () => {
    const res = await h.request('GET', '/health/live');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('when a listed origin asks, then it is allowed with credentials', async () => {
    const res = await h.request('GET', '/health/live', { headers: { origin: allowed } });
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('vary')).toMatch(/Origin/);
  });

  it('when a listed origin sends a preflight, then it is 204 allowing the CSRF header', async () => {
    const res = await h.request('OPTIONS', '/auth/logout', {
      headers: {
        origin: allowed,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-csrf-token',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-csrf-token');
  });

  it('when an unlisted origin asks, then no CORS header is sent', async () => {
    const res = await h.request('GET', '/health/live', { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('when the body exceeds MAX_REQUEST_BODY_BYTES (below the route limit), then it is a JSON 413 without a stack trace', async () => {
    const res = await h.request('POST', '/auth/register', {
      body: { username: 'big', email: 'big@example.com', password: 'x'.repeat(2048) },
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      detail: 'Request body exceeds the limit of 1024 bytes for this route; send a smaller body',
      type: 'payload_too_large',
    });
  });
});

describe('CORS with the default CORS_ORIGINS', () => {
  const h = new ApiHarness();

  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it('when CORS_ORIGINS is empty and any origin asks, then no cross-origin access is granted', async () => {
    expect(h.settings.CORS_ORIGINS).toBe('');
    const res = await h.request('GET', '/health/live', { headers: { origin: 'http://localhost:5173' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
