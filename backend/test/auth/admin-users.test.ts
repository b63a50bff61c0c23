import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueSuffix } from '../test-settings.js';
import { ApiHarness, bearer, type ErrorBody, type LoginBody, type UserBody } from './api-harness.js';

interface UserPageBody {
  users: UserBody[];
  total: number;
  limit: number;
  offset: number;
}

describe('admin users API against the real servers', () => {
  const h = new ApiHarness();
  let admin: LoginBody & { cookie: string };
  let adminHeaders: Record<string, string>;

  beforeAll(async () => {
    await h.start();
    admin = await h.login(await h.createUser('admin'));
    adminHeaders = bearer(admin.access_token);
  });
  afterAll(() => h.stop());

  const asAdmin = (method: string, path: string, body?: unknown): Promise<Response> =>
    h.request(method, path, { body, headers: adminHeaders });

  it('when an admin creates, reads, updates and deletes a user, then each step is visible through the API', async () => {
    const credentials = h.newCredentials('crud');
    const created = await asAdmin('POST', '/admin/users', { ...credentials, role: 'admin' });
    expect(created.status).toBe(201);
    const user = (await created.json()) as UserBody;
    expect(user).toMatchObject({
      username: credentials.username,
      email: credentials.email,
      role: 'admin',
      active: true,
    });
    expect(user.passwordHash).toBeUndefined();
    expect((await h.login(credentials)).user.role).toBe('admin');

    const got = await asAdmin('GET', `/admin/users/${user.id}`);
    expect(got.status).toBe(200);
    expect(((await got.json()) as UserBody).id).toBe(user.id);

    const newEmail = `changed_${credentials.email}`;
    const patched = await asAdmin('PATCH', `/admin/users/${user.id}`, {
      role: 'user',
      email: newEmail,
      password: 'a brand new password',
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ id: user.id, role: 'user', email: newEmail });
    const old = await h.request('POST', '/auth/login', { body: credentials });
    expect(old.status).toBe(401);
    expect((await h.login({ ...credentials, password: 'a brand new password' })).user.role).toBe('user');

    expect((await asAdmin('DELETE', `/admin/users/${user.id}`)).status).toBe(204);
    const gone = await asAdmin('GET', `/admin/users/${user.id}`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as ErrorBody).type).toBe('not_found');
  });

  it('when users are searched and paged, then total counts all matches and the page is ordered by username', async () => {
    const tag = `pg${uniqueSuffix()}`;
    for (const n of [3, 1, 5, 2, 4]) {
      const res = await asAdmin('POST', '/admin/users', {
        username: `${tag}_${n}`,
        email: `${tag}_${n}@example.com`,
        password: 'correct horse battery',
        role: n === 5 ? 'admin' : 'user',
      });
      expect(res.status).toBe(201);
    }
    const page = await asAdmin('GET', `/admin/users?search=${tag.toUpperCase()}&limit=2&offset=2`);
    expect(page.status).toBe(200);
    const body = (await page.json()) as UserPageBody;
    expect(body.total).toBe(5);
    expect(body.limit).toBe(2);
    expect(body.offset).toBe(2);
    expect(body.users.map((u) => u.username)).toEqual([`${tag}_3`, `${tag}_4`]);

    const admins = (await (
      await asAdmin('GET', `/admin/users?search=${tag}&role=admin`)
    ).json()) as UserPageBody;
    expect(admins.users.map((u) => u.username)).toEqual([`${tag}_5`]);
  });

  it('when a user is deactivated, then active=false finds them and active=true does not', async () => {
    const { user } = await h.register(h.newCredentials('inact'));
    expect((await asAdmin('PATCH', `/admin/users/${user.id}`, { active: false })).status).toBe(200);
    const inactive = (await (
      await asAdmin('GET', `/admin/users?search=${user.username}&active=false`)
    ).json()) as UserPageBody;
    expect(inactive.users.map((u) => u.id)).toEqual([user.id]);
    const active = (await (
      await asAdmin('GET', `/admin/users?search=${user.username}&active=true`)
    ).json()) as UserPageBody;
    expect(active.total).toBe(0);
  });

  it('when the search holds regex metacharacters, then they match literally and do not match everything', async () => {
    await h.register();
    const res = await asAdmin('GET', `/admin/users?search=${encodeURIComponent('.*')}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as UserPageBody).total).toBe(0);
    const bad = await asAdmin('GET', `/admin/users?search=${encodeURIComponent('(')}`);
    expect(bad.status).toBe(200);
  });

  it('when paging values are out of range, then the list is 422 naming them', async () => {
    const res = await asAdmin('GET', '/admin/users?limit=0&offset=-1&active=maybe');
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorBody;
    expect(body.errors?.map((e) => e.field).sort()).toEqual(['active', 'limit', 'offset']);
  });

  it('when a regular user calls any admin route, then it is 403', async () => {
    const { credentials, user } = await h.register();
    const session = await h.login(credentials);
    const headers = bearer(session.access_token);
    for (const [method, path] of [
      ['GET', '/admin/users'],
      ['GET', `/admin/users/${user.id}`],
      ['PATCH', `/admin/users/${user.id}`],
      ['DELETE', `/admin/users/${user.id}`],
      ['POST', `/admin/users/${user.id}/unlock`],
    ] as const) {
      const res = await h.request(method, path, {
        body: method === 'PATCH' ? { role: 'admin' } : undefined,
        headers,
      });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(((await res.json()) as ErrorBody).type).toBe('forbidden');
    }
    expect((await h.request('POST', '/admin/users', { body: h.newCredentials(), headers })).status).toBe(403);
  });

  it('when no token is sent to an admin route, then it is 401', async () => {
    expect((await h.request('GET', '/admin/users')).status).toBe(401);
  });

  it('when an admin tries to delete, deactivate or demote themself, then it is 409 and nothing changes', async () => {
    const self = admin.user.id;
    const attempts: Array<[string, unknown, string]> = [
      ['DELETE', undefined, 'Admins cannot delete their own account'],
      ['PATCH', { active: false }, 'Admins cannot deactivate their own account'],
      ['PATCH', { role: 'user' }, 'Admins cannot demote their own account'],
    ];
    for (const [method, body, detail] of attempts) {
      const res = await asAdmin(method, `/admin/users/${self}`, body);
      expect(res.status).toBe(409);
      expect(await res.json()).toEqual({ detail, type: 'conflict' });
    }
    const me = (await (await h.request('GET', '/auth/me', { headers: adminHeaders })).json()) as UserBody;
    expect(me).toMatchObject({ id: self, role: 'admin', active: true });
  });

  it('when a user is deleted, then their existing token is 401', async () => {
    const { credentials, user } = await h.register();
    const session = await h.login(credentials);
    expect((await h.request('GET', '/auth/me', { headers: bearer(session.access_token) })).status).toBe(200);
    expect((await asAdmin('DELETE', `/admin/users/${user.id}`)).status).toBe(204);
    const res = await h.request('GET', '/auth/me', { headers: bearer(session.access_token) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ detail: 'User no longer exists', type: 'unauthorized' });
  });

  it('when a user is deactivated by an admin, then their existing token is 401', async () => {
    const { credentials, user } = await h.register();
    const session = await h.login(credentials);
    expect((await asAdmin('PATCH', `/admin/users/${user.id}`, { active: false })).status).toBe(200);
    const res = await h.request('GET', '/auth/me', { headers: bearer(session.access_token) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ detail: 'Account is disabled', type: 'unauthorized' });
  });

  it('when the id is unknown, then get, update, delete and unlock are 404', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    for (const [method, path, body] of [
      ['GET', `/admin/users/${id}`, undefined],
      ['PATCH', `/admin/users/${id}`, { active: true }],
      ['DELETE', `/admin/users/${id}`, undefined],
      ['POST', `/admin/users/${id}/unlock`, undefined],
    ] as const) {
      expect((await asAdmin(method, path, body)).status, `${method} ${path}`).toBe(404);
    }
  });

  it('when the id is not a user id, then it is 422', async () => {
    const res = await asAdmin('GET', '/admin/users/not-a-uuid');
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorBody).errors?.map((e) => e.field)).toEqual(['id']);
  });

  it('when an admin creates a user with a taken username or a short password, then it is 409 or 422', async () => {
    const { credentials } = await h.register();
    const dup = await asAdmin('POST', '/admin/users', {
      ...h.newCredentials(),
      username: credentials.username,
    });
    expect(dup.status).toBe(409);
    const short = await asAdmin('POST', '/admin/users', { ...h.newCredentials(), password: 'short' });
    expect(short.status).toBe(422);
  });

  it('when an admin uses the cookie for a mutating admin call, then X-CSRF-Token is required', async () => {
    const { user } = await h.register();
    const noHeader = await h.request('PATCH', `/admin/users/${user.id}`, {
      body: { active: false },
      headers: { cookie: admin.cookie },
    });
    expect(noHeader.status).toBe(403);
    const withHeader = await h.request('PATCH', `/admin/users/${user.id}`, {
      body: { active: false },
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf_token },
    });
    expect(withHeader.status).toBe(200);
  });
});
