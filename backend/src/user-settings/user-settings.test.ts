import { describe, expect, it } from 'vitest';
import {
  applyChanges,
  applyPatch,
  canonicalTimeZone,
  CUSTOM_MAX_KEYS,
  defaultUserSettings,
  diffSettings,
  foldEvents,
  limitViolation,
  SettingsPatch,
} from './user-settings.js';

describe('user settings rules', () => {
  it('when a patch changes one editor field, then only that leaf differs, with old and new', () => {
    const before = defaultUserSettings();
    const after = applyPatch(before, { editor: { tab_size: 2 } });

    expect(after.editor).toEqual({ ...before.editor, tab_size: 2 });
    expect(diffSettings(before, after)).toEqual([{ field: 'editor.tab_size', old: 4, new: 2 }]);
    expect(before.editor.tab_size).toBe(4);
  });

  it('when a patch sets values already held, then nothing changed', () => {
    const before = defaultUserSettings();
    const after = applyPatch(before, { theme: 'auto', notifications: { channels: { in_app: true } } });
    expect(diffSettings(before, after)).toEqual([]);
  });

  it('when custom keys are added and one removed with null, then the diff has null for the absent side', () => {
    const withKeys = applyPatch(defaultUserSettings(), { custom: { a: '1', b: '2' } });
    const removed = applyPatch(withKeys, { custom: { a: null } });

    expect(removed.custom).toEqual({ b: '2' });
    expect(diffSettings(defaultUserSettings(), withKeys)).toEqual([
      { field: 'custom.a', old: null, new: '1' },
      { field: 'custom.b', old: null, new: '2' },
    ]);
    expect(diffSettings(withKeys, removed)).toEqual([{ field: 'custom.a', old: '1', new: null }]);
  });

  it('when the changes of a diff are applied to the old settings, then the new settings result', () => {
    const before = applyPatch(defaultUserSettings(), { custom: { gone: 'x' }, theme: 'dark' });
    const after = applyPatch(before, {
      theme: 'light',
      timezone: 'Europe/Berlin',
      editor: { key_map: 'vim', word_wrap: true },
      notifications: { events: { admin_alert: false } },
      custom: { gone: null, kept: 'y' },
    });
    expect(applyChanges(before, diffSettings(before, after))).toEqual(after);
  });

  it('when events are folded onto a snapshot, then earlier events are skipped and later ones applied in order', () => {
    const snapshot = { version: 2, settings: applyPatch(defaultUserSettings(), { theme: 'dark' }) };
    const state = foldEvents(snapshot, [
      { version: 4, changes: [{ field: 'editor.font_size', old: 14, new: 18 }] },
      { version: 2, changes: [{ field: 'theme', old: 'auto', new: 'light' }] },
      { version: 3, changes: [{ field: 'editor.font_size', old: 14, new: 16 }] },
    ]);
    expect(state.version).toBe(4);
    expect(state.settings.theme).toBe('dark');
    expect(state.settings.editor.font_size).toBe(18);
  });

  it('when no snapshot and no events exist, then the fold is the defaults at version 0', () => {
    expect(foldEvents(null, [])).toEqual({ version: 0, settings: defaultUserSettings() });
  });

  it('when a version is missing from the events, then folding refuses instead of guessing', () => {
    expect(() => foldEvents(null, [{ version: 2, changes: [] }])).toThrow(/gap/);
  });

  it('when time zones are checked, then IANA names pass (canonicalised) and offsets or junk do not', () => {
    expect(canonicalTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('america/new_york')).toBe('America/New_York');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('Mars/Olympus')).toBeUndefined();
    expect(canonicalTimeZone('+01:00')).toBeUndefined();
    expect(canonicalTimeZone('')).toBeUndefined();
  });

  it('when a patch has an unknown key or an out-of-range value, then parsing names the path', () => {
    const unknown = SettingsPatch.safeParse({ editor: { colour: 'red' } });
    expect(unknown.success).toBe(false);
    expect(unknown.error?.issues[0]).toMatchObject({
      code: 'unrecognized_keys',
      path: ['editor'],
      keys: ['colour'],
    });

    const range = SettingsPatch.safeParse({ editor: { tab_size: 9 }, timezone: 'Nowhere/City' });
    expect(range.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['editor.tab_size', 'timezone']);
  });

  it('when custom keys would exceed the bound, then the violation names the custom field', () => {
    const custom = Object.fromEntries(Array.from({ length: CUSTOM_MAX_KEYS + 1 }, (_, i) => [`k${i}`, 'v']));
    const settings = applyPatch(defaultUserSettings(), { custom });
    expect(limitViolation(settings)?.field).toBe('custom');
    expect(limitViolation(defaultUserSettings())).toBeUndefined();
  });
});
