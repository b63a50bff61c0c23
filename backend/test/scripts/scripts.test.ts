import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, bearer, type ErrorBody } from '../auth/api-harness.js';
import { clientFor, SystemUnderTest, waitForResult, waitForRuntimes } from '../e2e/system.js';

interface ScriptBody {
  script_id: string;
  name: string;
  lang: string;
  lang_version: string;
  script: string;
  description: string;
  created_at: string;
  updated_at: string;
}

interface ListBody {
  scripts: ScriptBody[];
  total: number;
  limit: number;
  offset: number;
}

interface Account {
  id: string;
  token: string;
}

const harness = new ApiHarness();
let alice: Account;
let bob: Account;
let admin: Account;

async function signedUp(): Promise<Account> {
  const { credentials, user } = await harness.register();
  return { id: user.id, token: (await harness.login(credentials)).access_token };
}

beforeAll(async () => {
  await harness.start();
  [alice, bob] = await Promise.all([signedUp(), signedUp()]);
  const adminUser = await harness.createUser('admin');
  admin = { id: adminUser.id, token: (await harness.login(adminUser)).access_token };
});
afterAll(() => harness.stop());

const as = (who: Account, method: string, path: string, body?: unknown): Promise<Response> =>
  harness.request(method, path, { body, headers: bearer(who.token) });

const sample = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'hello',
  lang: 'python',
  lang_version: '3.11',
  script: 'print("hello")',
  description: 'says hello',
  ...overrides,
});

async function save(who: Account, overrides: Record<string, unknown> = {}): Promise<ScriptBody> {
  const res = await as(who, 'POST', '/scripts', sample(overrides));
  expect(res.status).toBe(201);
  return (await res.json()) as ScriptBody;
}

async function list(who: Account, query = ''): Promise<ListBody> {
  const res = await as(who, 'GET', `/scripts${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as ListBody;
}

describe('saved scripts over HTTP', () => {
  it('when a user saves, reads, replaces and deletes a script, then each step answers with the stored script', async () => {
    const created = await save(alice, { name: '  padded name  ' });
    expect(created).toMatchObject({
      name: 'padded name',
      lang: 'python',
      lang_version: '3.11',
      script: 'print("hello")',
      description: 'says hello',
    });
    expect(created.created_at).toBe(created.updated_at);

    const read = await as(alice, 'GET', `/scripts/${created.script_id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(created);

    const put = await as(alice, 'PUT', `/scripts/${created.script_id}`, {
      name: 'renamed',
      lang: 'node',
      lang_version: '20',
      script: 'console.log(1)',
    });
    expect(put.status).toBe(200);
    const replaced = (await put.json()) as ScriptBody;
    // PUT replaces every field: the description it left out is now empty.
    expect(replaced).toMatchObject({
      script_id: created.script_id,
      name: 'renamed',
      lang: 'node',
      lang_version: '20',
      script: 'console.log(1)',
      description: '',
      created_at: created.created_at,
    });
    expect(Date.parse(replaced.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.updated_at));
    expect(await (await as(alice, 'GET', `/scripts/${created.script_id}`)).json()).toEqual(replaced);

    expect((await as(alice, 'DELETE', `/scripts/${created.script_id}`)).status).toBe(204);
    expect((await as(alice, 'GET', `/scripts/${created.script_id}`)).status).toBe(404);
    expect((await as(alice, 'DELETE', `/scripts/${created.script_id}`)).status).toBe(404);
    expect((await as(alice, 'PUT', `/scripts/${created.script_id}`, sample())).status).toBe(404);
  });

  it('when another user lists, reads, replaces or deletes a script, then they see none of it and get 403, and it stays unchanged', async () => {
    const mine = await save(alice, { name: 'private' });
    expect((await list(bob)).scripts.map((s) => s.script_id)).not.toContain(mine.script_id);
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', sample({ name: 'stolen' })],
      ['DELETE', undefined],
      ['POST', {}],
    ] as const) {
      const path = method === 'POST' ? `/scripts/${mine.script_id}/execute` : `/scripts/${mine.script_id}`;
      const res = await as(bob, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(((await res.json()) as ErrorBody).type).toBe('forbidden');
    }
    expect(await (await as(alice, 'GET', `/scripts/${mine.script_id}`)).json()).toEqual(mine);
  });

  it('when a browser session saves without X-CSRF-Token, then 403 and nothing is stored; with it, 201', async () => {
    const { credentials } = await harness.register();
    const session = await harness.login(credentials);
    const cookieOnly = { cookie: session.cookie };
    const refused = await harness.request('POST', '/scripts', { body: sample(), headers: cookieOnly });
    expect(refused.status).toBe(403);
    const listed = await harness.request('GET', '/scripts', { headers: cookieOnly });
    expect(((await listed.json()) as ListBody).total).toBe(0);
    const accepted = await harness.request('POST', '/scripts', {
      body: sample(),
      headers: { ...cookieOnly, 'x-csrf-token': session.csrf_token },
    });
    expect(accepted.status).toBe(201);
  });

  it('when the id is unknown or not a UUID, then 404 and 422', async () => {
    expect((await as(alice, 'GET', `/scripts/${crypto.randomUUID()}`)).status).toBe(404);
    const bad = await as(alice, 'GET', '/scripts/not-an-id');
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as ErrorBody).errors?.[0]?.field).toBe('id');
  });

  it('when an admin reads another user’s script, then it is shown, but the admin may not change or delete it', async () => {
    const mine = await save(alice, { name: 'for the admin' });
    const read = await as(admin, 'GET', `/scripts/${mine.script_id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(mine);
    expect((await as(admin, 'PUT', `/scripts/${mine.script_id}`, sample())).status).toBe(403);
    expect((await as(admin, 'DELETE', `/scripts/${mine.script_id}`)).status).toBe(403);
    // The admin's own list holds the admin's scripts only.
    expect((await list(admin)).scripts.map((s) => s.script_id)).not.toContain(mine.script_id);
    expect((await as(alice, 'GET', `/scripts/${mine.script_id}`)).status).toBe(200);
  });

  it.each([
    ['a blank name', 'name', { name: '   ' }],
    ['a name over 100 characters', 'name', { name: 'n'.repeat(101) }],
    ['a description over 1000 characters', 'description', { description: 'd'.repeat(1001) }],
    ['an empty script', 'script', { script: '' }],
    ['an unknown language', 'lang', { lang: 'cobol' }],
    ['a malformed version', 'lang_version', { lang_version: '3.11; rm -rf' }],
    ['a missing field', 'lang', { lang: undefined }],
  ])('when saved with %s, then 422 names the field %s', async (_what, field, overrides) => {
    for (const [method, path] of [
      ['POST', '/scripts'],
      ['PUT', `/scripts/${crypto.randomUUID()}`],
    ] as const) {
      const res = await as(alice, method, path, sample(overrides));
      expect(res.status, `${method} ${path}`).toBe(422);
      const body = (await res.json()) as ErrorBody;
      expect(body.type).toBe('validation');
      expect(body.errors?.map((e) => e.field)).toContain(field);
    }
  });

  it('when the script is over EXECUTION_MAX_SCRIPT_BYTES, then 422 names the script and nothing is stored', async () => {
    const max = harness.settings.EXECUTION_MAX_SCRIPT_BYTES;
    const before = (await list(alice)).total;
    const res = await as(alice, 'POST', '/scripts', sample({ script: 'x'.repeat(max + 1) }));
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorBody).errors).toEqual([
      { field: 'script', message: `at most ${max} bytes` },
    ]);
    expect((await list(alice)).total).toBe(before);
    // Exactly at the limit is fine.
    expect((await as(alice, 'POST', '/scripts', sample({ script: 'x'.repeat(max) }))).status).toBe(201);
  });

  it('when the body has an unknown field, then 422 names it and nothing is stored', async () => {
    const before = (await list(alice)).total;
    const res = await as(alice, 'POST', '/scripts', sample({ owner: bob.id }));
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorBody;
    expect(body.type).toBe('validation');
    expect(JSON.stringify(body.errors)).toContain('owner');
    expect((await list(alice)).total).toBe(before);
  });

  it('when a user pages through their scripts, then pages are newest first, complete and without repeats', async () => {
    const carol = await signedUp();
    const saved: ScriptBody[] = [];
    for (const name of ['one', 'two', 'three', 'four', 'five']) saved.push(await save(carol, { name }));

    const pages = await Promise.all([0, 2, 4].map((offset) => list(carol, `?limit=2&offset=${offset}`)));
    expect(pages.map((p) => [p.total, p.limit, p.offset, p.scripts.length])).toEqual([
      [5, 2, 0, 2],
      [5, 2, 2, 2],
      [5, 2, 4, 1],
    ]);
    const ids = pages.flatMap((p) => p.scripts.map((s) => s.script_id));
    expect(new Set(ids)).toEqual(new Set(saved.map((s) => s.script_id)));
    const times = pages.flatMap((p) => p.scripts.map((s) => Date.parse(s.updated_at)));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    // Saving the oldest again makes it the newest.
    const oldest = saved[0]!;
    expect(
      (await as(carol, 'PUT', `/scripts/${oldest.script_id}`, sample({ name: 'one again' }))).status,
    ).toBe(200);
    expect((await list(carol, '?limit=1')).scripts[0]?.script_id).toBe(oldest.script_id);

    expect(await list(carol, '?offset=5')).toMatchObject({ scripts: [], total: 5 });
    const bad = await as(carol, 'GET', '/scripts?limit=0');
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as ErrorBody).errors?.[0]?.field).toBe('limit');
  });

  it('when searching by name, then it matches a case-insensitive substring with regex metacharacters taken literally', async () => {
    const dave = await signedUp();
    const byName = new Map<string, string>();
    for (const name of ['Alpha report', 'my ALPHA', 'beta (draft', 'a.b', 'axb', 'cost $5 *each*']) {
      byName.set(name, (await save(dave, { name })).script_id);
    }
    const names = async (search: string): Promise<string[]> => {
      const page = await list(dave, `?search=${encodeURIComponent(search)}`);
      expect(page.total).toBe(page.scripts.length);
      return page.scripts.map((s) => s.name).sort();
    };
    expect(await names('alpha')).toEqual(['Alpha report', 'my ALPHA']);
    expect(await names('(draft')).toEqual(['beta (draft']);
    expect(await names('a.b')).toEqual(['a.b']);
    expect(await names('$5 *')).toEqual(['cost $5 *each*']);
    expect(await names('.*')).toEqual([]);
    expect(await names('')).toHaveLength(byName.size);
    // Another user's scripts never match.
    expect((await list(alice, '?search=alpha')).scripts.map((s) => s.script_id)).not.toContain(
      byName.get('Alpha report'),
    );
  });
});

describe('running a saved script', () => {
  // The API under test is the harness's; the rest of the pipeline runs as real processes on its
  // database and topic prefix, so the execution really runs.
  const pipeline = new SystemUnderTest({
    INTEGR8SCODE_KAFKA_TOPIC_PREFIX: harness.settings.KAFKA_TOPIC_PREFIX,
    INTEGR8SCODE_DATABASE_NAME: harness.settings.DATABASE_NAME,
  });
  let python: string;

  beforeAll(async () => {
    await Promise.all([
      pipeline.start('saga-orchestrator'),
      pipeline.start('k8s-worker'),
      pipeline.start('result-processor'),
    ]);
    const runtimes = await waitForRuntimes(clientFor(harness.base, alice.token, alice.id));
    const found = runtimes.find((r) => r.lang === 'python');
    if (!found) throw new Error(`no python runtime among ${JSON.stringify(runtimes)}`);
    python = found.version;
  }, 180_000);
  afterAll(() => pipeline.stop(), 60_000);

  it('when a saved script is run with stdin and args, then the execution completes with its output', async () => {
    const saved = await save(alice, {
      name: 'echo',
      lang_version: python,
      script: 'import sys\nprint(sys.stdin.read().strip().upper(), *sys.argv[1:])',
    });
    const res = await as(alice, 'POST', `/scripts/${saved.script_id}/execute`, {
      stdin: 'from stdin\n',
      args: ['a1', 'a2'],
      limits: { wall_seconds: 4 },
    });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { execution_id: string; status: string; script_id: string };
    expect(accepted).toMatchObject({ status: 'queued', script_id: saved.script_id });
    const result = await waitForResult(clientFor(harness.base, alice.token, alice.id), accepted.execution_id);
    expect(result).toMatchObject({ status: 'completed', exit_code: 0, stdout: 'FROM STDIN a1 a2\n' });
  });

  it('when run without a body, then it runs with the defaults; an admin may run it as their own execution', async () => {
    const saved = await save(alice, { name: 'plain', lang_version: python, script: 'print(6 * 7)' });
    const plain = await as(alice, 'POST', `/scripts/${saved.script_id}/execute`);
    expect(plain.status).toBe(202);
    const { execution_id } = (await plain.json()) as { execution_id: string };
    expect(await waitForResult(clientFor(harness.base, alice.token, alice.id), execution_id)).toMatchObject({
      status: 'completed',
      stdout: '42\n',
    });

    const byAdmin = await as(admin, 'POST', `/scripts/${saved.script_id}/execute`, {});
    expect(byAdmin.status).toBe(202);
    const adminRun = ((await byAdmin.json()) as { execution_id: string }).execution_id;
    // The run belongs to the admin: alice cannot read it.
    expect((await as(alice, 'GET', `/executions/${adminRun}/result`)).status).toBe(403);
  });

  it('when the run options are invalid or the saved runtime is not offered, then 422 names the field', async () => {
    const saved = await save(alice, { name: 'opts', lang_version: python });
    const cases: Array<[unknown, string]> = [
      [{ script: 'print("other")' }, 'body'],
      [{ limits: { wall_seconds: 10_000 } }, 'limits.wall_seconds'],
      [{ priority: 'urgent' }, 'priority'],
    ];
    for (const [body, field] of cases) {
      const res = await as(alice, 'POST', `/scripts/${saved.script_id}/execute`, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(((await res.json()) as ErrorBody).errors?.map((e) => e.field)).toContain(field);
    }
    // Saving does not ask which runtimes are up; running does.
    const old = await save(alice, { name: 'old python', lang_version: '2.7' });
    const res = await as(alice, 'POST', `/scripts/${old.script_id}/execute`, {});
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorBody).errors?.[0]?.field).toBe('lang_version');
  });
});
