import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, bearer, type ErrorBody } from './api-harness.js';

const REFUSED: ErrorBody = { detail: 'CSRF token missing or invalid', type: 'forbidden' };

describe('CSRF protection of cookie-authenticated requests', () => {
  const h = new ApiHarness();

  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it('when a user logs in, then the body and a readable SameSite=Strict cookie carry the same csrf_token', async () => {
    const { credentials } = await h.register();
    const res = await h.request('POST', '/auth/login', {
      body: { username: credentials.username, password: credentials.password },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { csrf_token: string };
    expect(body.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const csrfCookie = res.headers.getSetCookie().find((c) => c.startsWith('csrf_token='));
    expect(csrfCookie).toBeDefined();
    expect(csrfCookie).toContain(`csrf_token=${body.csrf_token};`);
    expect(csrfCookie).toContain('SameSite=Strict');
    expect(csrfCookie).not.toContain('HttpOnly');
  });

  it('when logout is sent with the cookie but without X-CSRF-Token, then it is 403 and the session survives', async () => {
    const { credentials } = await h.register();
    const session = await h.login(credentials);
    const res = await h.request('POST', '/auth/logout', { body: {}, headers: { cookie: session.cookie } });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(REFUSED);
    expect((await h.request('GET', '/auth/me', { headers: { cookie: session.cookie } })).status).toBe(200);
  });

  it('when logout is sent with the cookie and the matching X-CSRF-Token, then it is 200 and clears both cookies', async () => {
    const { credentials } = await h.register();
    const session = await h.login(credentials);
    const res = await h.request('POST', '/auth/logout', {
      body: {},
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrf_token },
    });
    expect(res.status).toBe(200);
    const cleared = res.headers.getSetCookie().map((c) => c.split('=')[0]);
    expect(cleared.sort()).toEqual(['access_token', 'csrf_token']);
    expect((await h.request('GET', '/auth/me', { headers: { cookie: session.cookie } })).status).toBe(401);
  });

  it('when the X-CSRF-Token belongs to another session, then the cookie request is 403', async () => {
    const a = await h.login((await h.register()).credentials);
    const b = await h.login((await h.register()).credentials);
    const res = await h.request('POST', '/auth/logout', {
      body: {},
      headers: { cookie: a.cookie, 'x-csrf-token': b.csrf_token },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(REFUSED);
  });

  it('when the request is authenticated by a bearer token, then no X-CSRF-Token is needed', async () => {
    const { credentials } = await h.register();
    const session = await h.login(credentials);
    const res = await h.request('POST', '/auth/logout', { body: {}, headers: bearer(session.access_token) });
    expect(res.status).toBe(200);
  });

  it('when a read is made with the cookie alone, then it is not checked', async () => {
    const { credentials } = await h.register();
    const session = await h.login(credentials);
    expect((await h.request('GET', '/auth/me', { headers: { cookie: session.cookie } })).status).toBe(200);
  });

  it('when login and register are posted with a stale cookie and no header, then they still work', async () => {
    const { credentials } = await h.register();
    const session = await h.login(credentials);
    const login = await h.request('POST', '/auth/login', {
      body: { username: credentials.username, password: credentials.password },
      headers: { cookie: session.cookie },
    });
    expect(login.status).toBe(200);
    const other = h.newCredentials();
    const register = await h.request('POST', '/auth/register', {
      body: other,
      headers: { cookie: session.cookie },
    });
    expect(register.status).toBe(201);
  });

  it('when a mutating request carries no credentials at all, then it fails authentication, not CSRF', async () => {
    const res = await h.request('POST', '/auth/logout', { body: {} });
    expect(res.status).toBe(401);
  });
});
