import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlatformCatalog } from '../../src/events/definitions.js';
import { createKafka } from '../../src/platform/kafka/client.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { SettingsHistoryRepository } from '../../src/user-settings/settings-history-repository.js';
import { DEFAULT_USER_SETTINGS, type UserSettings } from '../../src/user-settings/user-settings.js';
import { ApiHarness, bearer, type ErrorBody } from '../auth/api-harness.js';
import { EventRecorder } from '../kafka/event-recorder.js';
import { eventually, testLogger } from '../test-logger.js';

interface SettingsBody {
  version: number;
  updated_at: string | null;
  settings: UserSettings;
}

interface HistoryBody {
  items: Array<{
    version: number;
    at: string;
    changes: Array<{ field: string; old: unknown; new: unknown }>;
    restored_from: number | null;
  }>;
  total: number;
  limit: number;
  offset: number;
}

describe('user settings over HTTP against the real servers', () => {
  const harness = new ApiHarness();
  const mongo = new MongoConnection({
    url: harness.settings.MONGODB_URL,
    dbName: harness.settings.DATABASE_NAME,
    logger: testLogger(),
  });
  const history = new SettingsHistoryRepository(mongo);
  let recorder: EventRecorder;

  beforeAll(async () => {
    await harness.start();
    await mongo.start();
    // The topics exist once the API has started (its admin component creates them).
    recorder = new EventRecorder({
      kafka: createKafka(harness.settings, testLogger()),
      catalog: createPlatformCatalog(harness.settings.KAFKA_TOPIC_PREFIX),
      types: ['user_settings_updated'],
    });
    await recorder.start();
  });
  afterAll(async () => {
    await recorder.stop();
    await mongo.stop();
    await harness.stop();
  });

  async function signedIn(): Promise<{ id: string; headers: Record<string, string> }> {
    const { credentials, user } = await harness.register();
    const login = await harness.login(credentials);
    return { id: user.id, headers: bearer(login.access_token) };
  }

  async function call<T>(
    headers: Record<string, string>,
    method: string,
    path: string,
    body?: unknown,
    status = 200,
  ): Promise<T> {
    const res = await harness.request(method, path, { body, headers });
    const json = (await res.json()) as T;
    expect(res.status, JSON.stringify(json)).toBe(status);
    return json;
  }

  const fieldsOf = (error: ErrorBody): string[] => (error.errors ?? []).map((e) => e.field).sort();

  it('when a user never changed anything, then GET returns the defaults at version 0', async () => {
    const { headers } = await signedIn();
    const body = await call<SettingsBody>(headers, 'GET', '/user/settings');
    expect(body).toEqual({ version: 0, updated_at: null, settings: DEFAULT_USER_SETTINGS });
  });

  it('when not signed in, then the settings routes answer 401', async () => {
    const res = await harness.request('GET', '/user/settings');
    expect(res.status).toBe(401);
  });

  it('when sections are updated through each route, then GET returns the merged settings and version', async () => {
    const { headers } = await signedIn();
    await call(headers, 'PUT', '/user/settings', {
      timezone: 'europe/berlin',
      date_format: 'DD.MM.YYYY',
      time_format: '12h',
      editor: { tab_size: 2 },
    });
    await call(headers, 'PUT', '/user/settings/theme', { theme: 'dark' });
    await call(headers, 'PUT', '/user/settings/editor', { key_map: 'vim', font_size: 16, word_wrap: true });
    await call(headers, 'PUT', '/user/settings/notifications', {
      channels: { slack: true },
      events: { admin_alert: false },
    });
    await call(headers, 'PUT', '/user/settings/custom/layout', { value: 'split' });
    await call(headers, 'PUT', '/user/settings/custom/scratch', { value: 'x' });
    const afterDelete = await call<SettingsBody>(headers, 'DELETE', '/user/settings/custom/scratch');

    const body = await call<SettingsBody>(headers, 'GET', '/user/settings');
    expect(body).toEqual(afterDelete);
    expect(body.version).toBe(7);
    expect(body.updated_at).not.toBeNull();
    expect(body.settings).toEqual({
      theme: 'dark',
      timezone: 'Europe/Berlin',
      date_format: 'DD.MM.YYYY',
      time_format: '12h',
      editor: { font_size: 16, tab_size: 2, key_map: 'vim', line_numbers: true, word_wrap: true },
      notifications: {
        channels: { in_app: true, webhook: false, slack: true },
        events: {
          execution_completed: true,
          execution_failed: true,
          execution_timeout: true,
          admin_alert: false,
        },
      },
      custom: { layout: 'split' },
    });
  });

  it('when an update changes nothing, then no version is recorded', async () => {
    const { headers } = await signedIn();
    await call(headers, 'PUT', '/user/settings/theme', { theme: 'light' });
    const again = await call<SettingsBody>(headers, 'PUT', '/user/settings/theme', { theme: 'light' });
    expect(again.version).toBe(1);
    expect((await call<HistoryBody>(headers, 'GET', '/user/settings/history')).total).toBe(1);
  });

  it('when a body has unknown keys or invalid values, then 422 names each field and nothing changes', async () => {
    const { headers } = await signedIn();
    const unknown = await call<ErrorBody>(
      headers,
      'PUT',
      '/user/settings',
      { colour: 'red', editor: { tab_size: 2, bracket_glow: true } },
      422,
    );
    expect(unknown.type).toBe('validation');
    expect(fieldsOf(unknown)).toEqual(['colour', 'editor.bracket_glow']);
    expect(unknown.detail).toContain('editor.bracket_glow');

    const invalid = await call<ErrorBody>(
      headers,
      'PUT',
      '/user/settings',
      { theme: 'neon', timezone: 'Mars/Olympus_Mons', editor: { tab_size: 9, font_size: 12.5 } },
      422,
    );
    expect(fieldsOf(invalid)).toEqual(['editor.font_size', 'editor.tab_size', 'theme', 'timezone']);

    const section = await call<ErrorBody>(headers, 'PUT', '/user/settings/editor', { tab_size: 0 }, 422);
    expect(fieldsOf(section)).toEqual(['tab_size']);
    const channel = await call<ErrorBody>(
      headers,
      'PUT',
      '/user/settings/notifications',
      { channels: { email: true } },
      422,
    );
    expect(fieldsOf(channel)).toEqual(['channels.email']);
    const key = await call<ErrorBody>(headers, 'PUT', '/user/settings/custom/a.b', { value: 'x' }, 422);
    expect(fieldsOf(key)).toEqual(['key']);
    const tooLong = await call<ErrorBody>(
      headers,
      'PUT',
      '/user/settings/custom/k',
      { value: 'x'.repeat(1025) },
      422,
    );
    expect(fieldsOf(tooLong)).toEqual(['value']);
    await call<ErrorBody>(headers, 'DELETE', '/user/settings/custom/never_set', undefined, 404);

    expect((await call<SettingsBody>(headers, 'GET', '/user/settings')).version).toBe(0);
  });

  it('when custom keys would exceed the bound, then 422 names custom', async () => {
    const { headers } = await signedIn();
    const custom = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    await call(headers, 'PUT', '/user/settings', { custom });
    const over = await call<ErrorBody>(headers, 'PUT', '/user/settings/custom/one_more', { value: 'v' }, 422);
    expect(fieldsOf(over)).toEqual(['custom']);
  });

  it('when settings changed several times, then history pages list them newest first with their fields', async () => {
    const { headers } = await signedIn();
    await call(headers, 'PUT', '/user/settings/theme', { theme: 'dark' });
    await call(headers, 'PUT', '/user/settings/editor', { tab_size: 8 });
    await call(headers, 'PUT', '/user/settings/theme', { theme: 'light' });

    const first = await call<HistoryBody>(headers, 'GET', '/user/settings/history?limit=2');
    expect(first.total).toBe(3);
    expect(first.items.map((i) => i.version)).toEqual([3, 2]);
    expect(first.items[0]?.changes).toEqual([{ field: 'theme', old: 'dark', new: 'light' }]);
    expect(first.items[1]?.changes).toEqual([{ field: 'editor.tab_size', old: 4, new: 8 }]);
    expect(first.items[0]?.restored_from).toBeNull();
    const second = await call<HistoryBody>(headers, 'GET', '/user/settings/history?limit=2&offset=2');
    expect(second.items.map((i) => i.version)).toEqual([1]);
    expect(second.items[0]?.changes).toEqual([{ field: 'theme', old: 'auto', new: 'dark' }]);

    const bad = await call<ErrorBody>(headers, 'GET', '/user/settings/history?limit=0', undefined, 422);
    expect(fieldsOf(bad)).toEqual(['limit']);
  });

  it('when restoring an earlier version, then the settings return to it and the restore is a new change', async () => {
    const { headers } = await signedIn();
    await call(headers, 'PUT', '/user/settings', { theme: 'dark', custom: { a: '1' } });
    await call(headers, 'PUT', '/user/settings', {
      theme: 'light',
      editor: { tab_size: 2 },
      custom: { b: '2' },
    });

    const restored = await call<SettingsBody>(headers, 'POST', '/user/settings/restore', { version: 1 });
    expect(restored.version).toBe(3);
    expect(restored.settings).toEqual({ ...DEFAULT_USER_SETTINGS, theme: 'dark', custom: { a: '1' } });
    expect(await call<SettingsBody>(headers, 'GET', '/user/settings')).toEqual(restored);

    const history = await call<HistoryBody>(headers, 'GET', '/user/settings/history');
    expect(history.total).toBe(3);
    expect(history.items[0]).toMatchObject({ version: 3, restored_from: 1 });
    expect(history.items[0]?.changes).toEqual(
      expect.arrayContaining([
        { field: 'theme', old: 'light', new: 'dark' },
        { field: 'editor.tab_size', old: 2, new: 4 },
        { field: 'custom.b', old: '2', new: null },
      ]),
    );

    const toDefaults = await call<SettingsBody>(headers, 'POST', '/user/settings/restore', { version: 0 });
    expect(toDefaults).toMatchObject({ version: 4, settings: DEFAULT_USER_SETTINGS });
    const future = await call<ErrorBody>(headers, 'POST', '/user/settings/restore', { version: 99 }, 404);
    expect(future.type).toBe('not_found');
    const negative = await call<ErrorBody>(headers, 'POST', '/user/settings/restore', { version: -1 }, 422);
    expect(fieldsOf(negative)).toEqual(['version']);
  });

  it('when more changes than a snapshot interval are made, then reads and restores across snapshots are right', async () => {
    const { id, headers } = await signedIn();
    // Versions 1..23: font sizes 9..31, so version v has font_size v + 8 (snapshots at 10 and 20).
    for (let v = 1; v <= 20; v++) await call(headers, 'PUT', '/user/settings/editor', { font_size: v + 8 });
    // Read exactly at a snapshot: nothing after it to fold, the time still known.
    const atSnapshot = await call<SettingsBody>(headers, 'GET', '/user/settings');
    expect(atSnapshot).toMatchObject({ version: 20, settings: { editor: { font_size: 28 } } });
    expect(atSnapshot.updated_at).not.toBeNull();
    for (let v = 21; v <= 23; v++) await call(headers, 'PUT', '/user/settings/editor', { font_size: v + 8 });
    const current = await call<SettingsBody>(headers, 'GET', '/user/settings');
    expect(current.version).toBe(23);
    expect(current.settings.editor.font_size).toBe(31);
    // Snapshots were written at versions 10 and 20; the reads above started from the latest.
    expect(await history.snapshot(id)).toMatchObject({
      version: 20,
      settings: { editor: { font_size: 28 } },
    });
    expect(await history.snapshot(id, 19)).toMatchObject({
      version: 10,
      settings: { editor: { font_size: 18 } },
    });

    for (const version of [3, 10, 15]) {
      const restored = await call<SettingsBody>(headers, 'POST', '/user/settings/restore', { version });
      expect(restored.settings.editor.font_size, `restore to ${version}`).toBe(version + 8);
    }
    const after = await call<SettingsBody>(headers, 'GET', '/user/settings');
    expect(after.version).toBe(26);
    expect(after.settings.editor.font_size).toBe(23);
  });

  it('when many updates of one user run concurrently, then every one is recorded and none is lost', async () => {
    const { headers } = await signedIn();
    const count = 8;
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        call(headers, 'PUT', `/user/settings/custom/key${i}`, { value: `v${i}` }),
      ),
    );
    const body = await call<SettingsBody>(headers, 'GET', '/user/settings');
    expect(body.version).toBe(count);
    expect(body.settings.custom).toEqual(
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`key${i}`, `v${i}`])),
    );
    const history = await call<HistoryBody>(headers, 'GET', `/user/settings/history?limit=${count}`);
    expect(history.items.map((i) => i.version)).toEqual(Array.from({ length: count }, (_, i) => count - i));
    expect(history.items.flatMap((i) => i.changes.map((c) => c.field)).sort()).toEqual(
      Array.from({ length: count }, (_, i) => `custom.key${i}`).sort(),
    );
  });

  it('when two users change settings, then each sees only their own settings and history', async () => {
    const alice = await signedIn();
    const bob = await signedIn();
    await call(alice.headers, 'PUT', '/user/settings/theme', { theme: 'dark' });
    await call(alice.headers, 'PUT', '/user/settings/custom/secret', { value: 'alice' });
    await call(bob.headers, 'PUT', '/user/settings/theme', { theme: 'light' });

    const bobs = await call<SettingsBody>(bob.headers, 'GET', '/user/settings');
    expect(bobs.version).toBe(1);
    expect(bobs.settings).toEqual({ ...DEFAULT_USER_SETTINGS, theme: 'light' });
    const bobHistory = await call<HistoryBody>(bob.headers, 'GET', '/user/settings/history');
    expect(bobHistory.items.map((i) => i.changes)).toEqual([[{ field: 'theme', old: 'auto', new: 'light' }]]);
    // Bob cannot reach Alice's version 2: his own history ends at 1.
    await call<ErrorBody>(bob.headers, 'POST', '/user/settings/restore', { version: 2 }, 404);
    await call<ErrorBody>(bob.headers, 'DELETE', '/user/settings/custom/secret', undefined, 404);
    expect((await call<SettingsBody>(alice.headers, 'GET', '/user/settings')).settings.custom).toEqual({
      secret: 'alice',
    });
  });

  it('when settings change, then user_settings_updated reaches Kafka with the user, version and changes', async () => {
    const { id, headers } = await signedIn();
    await call(headers, 'PUT', '/user/settings/editor', { line_numbers: false });
    await call(headers, 'POST', '/user/settings/restore', { version: 0 });

    const events = await eventuallyTwo(recorder, id);
    expect(events.map((e) => e.event_type)).toEqual(['user_settings_updated', 'user_settings_updated']);
    expect(events.map((e) => e.payload)).toEqual([
      {
        user_id: id,
        version: 1,
        changes: [{ field: 'editor.line_numbers', old: true, new: false }],
        restored_from: null,
      },
      {
        user_id: id,
        version: 2,
        changes: [{ field: 'editor.line_numbers', old: false, new: true }],
        restored_from: 0,
      },
    ]);
    expect(events[0]?.metadata.user_id).toBe(id);
    // Exactly once each: nothing else about this user is still on its way.
    await recorder.caughtUp();
    expect(recorder.of(id)).toHaveLength(2);
  });
});

async function eventuallyTwo(recorder: EventRecorder, userId: string) {
  const recorded = await eventually(
    () => (recorder.of(userId).length >= 2 ? recorder.of(userId) : undefined),
    {
      what: `two user_settings_updated events of ${userId}`,
    },
  );
  return recorded
    .map((r) => r.event)
    .flatMap((e) => (e.event_type === 'user_settings_updated' ? [e] : []))
    .sort((a, b) => a.payload.version - b.payload.version);
}
