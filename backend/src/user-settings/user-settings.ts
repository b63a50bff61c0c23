import { z } from 'zod';

/**
 * A user's settings and the pure rules of their history: validate a partial change, apply it, list
 * what changed field by field (dotted paths to leaves), and fold recorded changes onto a snapshot.
 */

export const THEMES = ['light', 'dark', 'auto'] as const;
export const DATE_FORMATS = ['YYYY-MM-DD', 'DD/MM/YYYY', 'MM/DD/YYYY', 'DD.MM.YYYY'] as const;
export const TIME_FORMATS = ['24h', '12h'] as const;
export const KEY_MAPS = ['default', 'vim', 'emacs', 'sublime', 'vscode'] as const;
export const NOTIFICATION_CHANNELS = ['in_app', 'webhook', 'slack'] as const;
export const NOTIFICATION_EVENTS = [
  'execution_completed',
  'execution_failed',
  'execution_timeout',
  'admin_alert',
] as const;

export const FONT_SIZE = { min: 8, max: 32 } as const;
export const TAB_SIZE = { min: 1, max: 8 } as const;
/** Custom keys: at most this many per user, names of this pattern, string values up to this size. */
export const CUSTOM_MAX_KEYS = 50;
export const CUSTOM_KEY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const CUSTOM_MAX_VALUE_LENGTH = 1024;

export interface EditorSettings {
  font_size: number;
  tab_size: number;
  key_map: (typeof KEY_MAPS)[number];
  line_numbers: boolean;
  word_wrap: boolean;
}

export interface NotificationSettings {
  channels: Record<(typeof NOTIFICATION_CHANNELS)[number], boolean>;
  events: Record<(typeof NOTIFICATION_EVENTS)[number], boolean>;
}

export interface UserSettings {
  theme: (typeof THEMES)[number];
  timezone: string;
  date_format: (typeof DATE_FORMATS)[number];
  time_format: (typeof TIME_FORMATS)[number];
  editor: EditorSettings;
  notifications: NotificationSettings;
  custom: Record<string, string>;
}

export const DEFAULT_USER_SETTINGS: UserSettings = {
  theme: 'auto',
  timezone: 'UTC',
  date_format: 'YYYY-MM-DD',
  time_format: '24h',
  editor: { font_size: 14, tab_size: 4, key_map: 'default', line_numbers: true, word_wrap: false },
  notifications: {
    channels: { in_app: true, webhook: false, slack: false },
    events: { execution_completed: true, execution_failed: true, execution_timeout: true, admin_alert: true },
  },
  custom: {},
};

/** A fresh copy of the defaults: what a user who never changed anything has. */
export function defaultUserSettings(): UserSettings {
  return structuredClone(DEFAULT_USER_SETTINGS);
}

/** The canonical IANA name of a time zone (`europe/berlin` → `Europe/Berlin`), or undefined. */
export function canonicalTimeZone(name: string): string | undefined {
  // Intl also takes offsets such as "+01:00"; only region names are settings.
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

const TimeZone = z
  .string()
  .max(64)
  .transform((name, ctx) => {
    const canonical = canonicalTimeZone(name);
    if (canonical === undefined) {
      ctx.addIssue({ code: 'custom', message: `Not an IANA time zone name: "${name}"` });
      return z.NEVER;
    }
    return canonical;
  });

export const CustomKey = z
  .string()
  .regex(CUSTOM_KEY_PATTERN, 'Only letters, digits, "_" and "-", 1 to 64 characters');
export const CustomValue = z.string().max(CUSTOM_MAX_VALUE_LENGTH);

export const EditorPatch = z.strictObject({
  font_size: z.number().int().min(FONT_SIZE.min).max(FONT_SIZE.max).optional(),
  tab_size: z.number().int().min(TAB_SIZE.min).max(TAB_SIZE.max).optional(),
  key_map: z.enum(KEY_MAPS).optional(),
  line_numbers: z.boolean().optional(),
  word_wrap: z.boolean().optional(),
});
export type EditorPatch = z.output<typeof EditorPatch>;

const flags = <K extends string>(keys: readonly K[]) =>
  z.strictObject(
    Object.fromEntries(keys.map((k) => [k, z.boolean().optional()])) as Record<
      K,
      z.ZodOptional<z.ZodBoolean>
    >,
  );

export const NotificationsPatch = z.strictObject({
  channels: flags(NOTIFICATION_CHANNELS).optional(),
  events: flags(NOTIFICATION_EVENTS).optional(),
});
export type NotificationsPatch = z.output<typeof NotificationsPatch>;

/** A partial change of any sections; a custom key set to null is removed. */
export const SettingsPatch = z.strictObject({
  theme: z.enum(THEMES).optional(),
  timezone: TimeZone.optional(),
  date_format: z.enum(DATE_FORMATS).optional(),
  time_format: z.enum(TIME_FORMATS).optional(),
  editor: EditorPatch.optional(),
  notifications: NotificationsPatch.optional(),
  custom: z
    .record(CustomKey, CustomValue.nullable())
    .refine((c) => Object.keys(c).length <= CUSTOM_MAX_KEYS, `At most ${CUSTOM_MAX_KEYS} keys`)
    .optional(),
});
export type SettingsPatch = z.output<typeof SettingsPatch>;

/** The value of one leaf; null means "absent" (only custom keys can be absent). */
export type SettingValue = string | number | boolean | null;

/** One changed leaf, named by its dotted path (`editor.tab_size`, `custom.layout`). */
export interface SettingChange {
  field: string;
  old: SettingValue;
  new: SettingValue;
}

function definedEntries<T extends object>(patch: T | undefined): Partial<T> {
  if (patch === undefined) return {};
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The settings with the patch applied (sections merged, null custom values removed). */
export function applyPatch(settings: UserSettings, patch: SettingsPatch): UserSettings {
  const { editor, notifications, custom, ...top } = patch;
  const next: UserSettings = {
    ...settings,
    ...definedEntries(top),
    editor: { ...settings.editor, ...definedEntries(editor) },
    notifications: {
      channels: { ...settings.notifications.channels, ...definedEntries(notifications?.channels) },
      events: { ...settings.notifications.events, ...definedEntries(notifications?.events) },
    },
    custom: { ...settings.custom },
  };
  for (const [key, value] of Object.entries(custom ?? {})) {
    if (value === null) delete next.custom[key];
    else next.custom[key] = value;
  }
  return next;
}

/** Every leaf of the settings by dotted path, in a stable order. */
export function flatten(settings: UserSettings): Map<string, SettingValue> {
  const leaves = new Map<string, SettingValue>();
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) walk(child, path === '' ? key : `${path}.${key}`);
    } else {
      leaves.set(path, value as SettingValue);
    }
  };
  walk(settings, '');
  return leaves;
}

/** What differs from `before` to `after`, leaf by leaf; empty when nothing changed. */
export function diffSettings(before: UserSettings, after: UserSettings): SettingChange[] {
  const old = flatten(before);
  const next = flatten(after);
  const changes: SettingChange[] = [];
  for (const [field, value] of next) {
    const previous = old.get(field) ?? null;
    if (previous !== value) changes.push({ field, old: previous, new: value });
  }
  for (const [field, value] of old) {
    if (!next.has(field)) changes.push({ field, old: value, new: null });
  }
  return changes;
}

/** The settings with recorded changes applied in order (each sets or, with null, removes a leaf). */
export function applyChanges(settings: UserSettings, changes: readonly SettingChange[]): UserSettings {
  const next = structuredClone(settings);
  for (const change of changes) {
    const path = change.field.split('.');
    const leaf = path.pop();
    if (leaf === undefined) continue;
    let node = next as unknown as Record<string, unknown>;
    for (const segment of path) {
      const child = node[segment];
      if (typeof child !== 'object' || child === null) node[segment] = {};
      node = node[segment] as Record<string, unknown>;
    }
    if (change.new === null) delete node[leaf];
    else node[leaf] = change.new;
  }
  return next;
}

/** A stored state: the settings as of `version` (0 = defaults, before any change). */
export interface SettingsState {
  version: number;
  settings: UserSettings;
}

/** One recorded change of a user's settings: version N turns version N-1 into N. */
export interface SettingsEvent {
  userId: string;
  version: number;
  at: Date;
  changes: SettingChange[];
  /** Set when the change restored the settings of an earlier version. */
  restoredFrom: number | null;
}

/**
 * The state after the events, from a snapshot (or the defaults at version 0). Events at or before
 * the snapshot are skipped; a gap in the versions is an error, since the result would be wrong.
 */
export function foldEvents(
  snapshot: SettingsState | null,
  events: readonly Pick<SettingsEvent, 'version' | 'changes'>[],
): SettingsState {
  let state: SettingsState = snapshot ?? { version: 0, settings: defaultUserSettings() };
  for (const event of [...events].sort((a, b) => a.version - b.version)) {
    if (event.version <= state.version) continue;
    if (event.version !== state.version + 1) {
      throw new Error(
        `settings history has a gap: version ${state.version + 1} missing before ${event.version}`,
      );
    }
    state = { version: event.version, settings: applyChanges(state.settings, event.changes) };
  }
  return state;
}

/** Why the settings cannot be stored, naming the field; undefined when they can. */
export function limitViolation(settings: UserSettings): { field: string; message: string } | undefined {
  const count = Object.keys(settings.custom).length;
  if (count > CUSTOM_MAX_KEYS) {
    return { field: 'custom', message: `At most ${CUSTOM_MAX_KEYS} custom keys (would be ${count})` };
  }
  return undefined;
}
