import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, bearer, type Credentials, type ErrorBody, type UserBody } from './api-harness.js';

describe('sessions end when the account changes', () => {
  const h = new ApiHarness();
  let adminToken: string;

  beforeAll(async () => {
    await h.start();
    adminToken = (await h.login(await h.createUser('admin'))).access_token;
  });
  afterAll(() => h.stop());

  const me = (token: string): Promise<Response> => h.request('GET', '/auth/me', { headers: bearer(token) });
  const asAdmin = (method: string, path: string, body?: unknown): Promise<Response> =>
    h.request(method, path, { body, headers: bearer(adminToken) });

  async function expectRevoked(token: string, detail = 'Session revoked'): Promise<void> {
    const res = await me(token);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ detail, type: 'unauthorized' });
  }

  /** A registered user with two live sessions (two logins). */
  async function userWithSessions(): Promise<{ credentials: Credentials; user: UserBody; tokens: string[] }> {
    const { credentials, user } = await h.register();
    const tokens = [(await h.login(credentials)).access_token, (await h.login(credentials)).access_token];
    for (const token of tokens) expect((await me(token)).status).toBe(200);
    return { credentials, user, tokens };
  }

  it('when a user changes their own password, then every earlier token is 401 and only the new password logs in', async () => {
    const { credentials, tokens } = await userWithSessions();
    const newPassword = 'a brand new passphrase';
    const res = await h.request('POST', '/auth/password', {
      body: { current_password: credentials.password, new_password: newPassword },
      headers: bearer(tokens[0]!),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ detail: 'Password changed; every session has ended, log in again' });
    for (const token of tokens) await expectRevoked(token);

    const old = await h.request('POST', '/auth/login', { body: credentials });
    expect(old.status).toBe(401);
    const fresh = await h.login({ username: credentials.username, password: newPassword });
    expect((await me(fresh.access_token)).status).toBe(200);
  });

  it('when the current password given to change it is wrong, then it is 422 and the sessions live on', async () => {
    const { tokens } = await userWithSessions();
    const res = await h.request('POST', '/auth/password', {
      body: { current_password: 'not my password', new_password: 'a brand new passphrase' },
      headers: bearer(tokens[0]!),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorBody).errors?.map((e) => e.field)).toEqual(['current_password']);
    for (const token of tokens) expect((await me(token)).status).toBe(200);
  });

  it('when an admin resets the password, then every earlier token is 401 and the new password logs in', async () => {
    const { credentials, user, tokens } = await userWithSessions();
    const res = await asAdmin('PATCH', `/admin/users/${user.id}`, { password: 'reset by the admin' });
    expect(res.status).toBe(200);
    for (const token of tokens) await expectRevoked(token);
    const fresh = await h.login({ username: credentials.username, password: 'reset by the admin' });
    expect((await me(fresh.access_token)).status).toBe(200);
  });

  it('when an admin deactivates and then reactivates a user, then the tokens from before stay 401 and a new login works', async () => {
    const { credentials, user, tokens } = await userWithSessions();
    expect((await asAdmin('PATCH', `/admin/users/${user.id}`, { active: false })).status).toBe(200);
    for (const token of tokens) await expectRevoked(token, 'Account is disabled');
    expect((await asAdmin('PATCH', `/admin/users/${user.id}`, { active: true })).status).toBe(200);
    for (const token of tokens) await expectRevoked(token);
    const fresh = await h.login(credentials);
    expect((await me(fresh.access_token)).status).toBe(200);
  });

  it('when an admin changes the role, then the tokens issued for the old role are 401 and a new login has the new role', async () => {
    const { credentials, user, tokens } = await userWithSessions();
    expect((await asAdmin('PATCH', `/admin/users/${user.id}`, { role: 'admin' })).status).toBe(200);
    for (const token of tokens) await expectRevoked(token);
    const fresh = await h.login(credentials);
    expect(fresh.user.role).toBe('admin');
    expect((await me(fresh.access_token)).status).toBe(200);
  });

  it('when an admin deletes a user, then the old tokens are 401, also after the name is registered again', async () => {
    const { credentials, user, tokens } = await userWithSessions();
    expect((await asAdmin('DELETE', `/admin/users/${user.id}`)).status).toBe(204);
    for (const token of tokens) await expectRevoked(token, 'User no longer exists');
    await h.register(credentials);
    const fresh = await h.login(credentials);
    expect(fresh.user.id).not.toBe(user.id);
    expect((await me(fresh.access_token)).status).toBe(200);
    for (const token of tokens) await expectRevoked(token, 'User no longer exists');
  });

  it('when an admin changes only the email, then the sessions live on', async () => {
    const { user, tokens } = await userWithSessions();
    const res = await asAdmin('PATCH', `/admin/users/${user.id}`, { email: `new_${user.email}` });
    expect(res.status).toBe(200);
    expect(await res.json()).not.toHaveProperty('tokenVersion');
    for (const token of tokens) expect((await me(token)).status).toBe(200);
  });
});

describe('usernames ignore case', () => {
  const h = new ApiHarness();

  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it('when a name differs from a registered one only by case, then registering it is 409', async () => {
    const credentials = h.newCredentials('Mixed');
    await h.register(credentials);
    const res = await h.request('POST', '/auth/register', {
      body: {
        ...credentials,
        username: credentials.username.toLowerCase(),
        email: `other_${credentials.email}`,
      },
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ detail: 'Username already taken', type: 'conflict' });
  });

  it('when a user logs in with the name in another case, then it is the same account, shown as registered', async () => {
    const credentials = h.newCredentials('CamelCase');
    const { user } = await h.register(credentials);
    const session = await h.login({ ...credentials, username: credentials.username.toUpperCase() });
    expect(session.user.id).toBe(user.id);
    expect(session.user.username).toBe(credentials.username);
  });
});
