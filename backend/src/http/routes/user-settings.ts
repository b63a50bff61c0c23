import { Router, type Request } from 'express';
import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.js';
import type { AuthService } from '../../users/auth-service.js';
import {
  CustomKey,
  CustomValue,
  EditorPatch,
  NotificationsPatch,
  SettingsPatch,
  THEMES,
} from '../../user-settings/user-settings.js';
import type {
  CurrentSettings,
  SettingsHistoryEntry,
  UserSettingsService,
} from '../../user-settings/user-settings-service.js';
import { authenticate, sessionOf } from '../authenticate.js';
import { jsonBody } from '../body.js';
import { parseInput, type FieldError } from '../validate.js';

export interface UserSettingsRoutesOptions {
  auth: AuthService;
  settings: UserSettingsService;
  /** Largest body. */
  bodyLimitBytes: number;
}

const ThemeBody = z.strictObject({ theme: z.enum(THEMES) });
const CustomValueBody = z.strictObject({ value: CustomValue });
const CustomKeyPath = z.object({ key: CustomKey });
const RestoreBody = z.strictObject({ version: z.number().int().min(0) });
const HistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).default(0),
});

/**
 * parseInput, except that each unknown key is named on its own (`editor.colour`) rather than as
 * the object that holds it, so a client sees which field it got wrong.
 */
function parseStrict<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: 'Unknown setting' }));
    }
    return [{ field: path.length === 0 ? 'body' : path.join('.'), message: issue.message }];
  });
  const fields = [...new Set(errors.map((e) => e.field))];
  throw new AppError('validation', `Invalid request body: ${fields.join(', ')}`, { details: errors });
}

function settingsBody(current: CurrentSettings) {
  return {
    version: current.version,
    updated_at: current.updatedAt?.toISOString() ?? null,
    settings: current.settings,
  };
}

function entryBody(entry: SettingsHistoryEntry) {
  return {
    version: entry.version,
    at: entry.at.toISOString(),
    changes: entry.changes,
    restored_from: entry.restoredFrom,
  };
}

/**
 * The signed-in user's settings: GET/PUT /user/settings, PUT of one section (theme, notifications,
 * editor), PUT/DELETE of one custom key, GET /user/settings/history and POST /user/settings/restore.
 * Every answer that changes something returns the settings after it with their new version.
 */
export function userSettingsRoutes(options: UserSettingsRoutesOptions): Router {
  const { settings } = options;
  const router = Router();
  const json = jsonBody({ limitBytes: options.bodyLimitBytes });
  router.use('/user/settings', authenticate(options.auth));
  const userId = (req: Request): string => sessionOf(req).user.id;

  router.get('/user/settings', async (req, res) => {
    res.json(settingsBody(await settings.current(userId(req))));
  });

  router.put('/user/settings', json, async (req, res) => {
    const patch = parseStrict(SettingsPatch, req.body);
    res.json(settingsBody(await settings.update(userId(req), patch, req.id)));
  });

  router.put('/user/settings/theme', json, async (req, res) => {
    const { theme } = parseStrict(ThemeBody, req.body);
    res.json(settingsBody(await settings.update(userId(req), { theme }, req.id)));
  });

  router.put('/user/settings/editor', json, async (req, res) => {
    const editor = parseStrict(EditorPatch, req.body);
    res.json(settingsBody(await settings.update(userId(req), { editor }, req.id)));
  });

  router.put('/user/settings/notifications', json, async (req, res) => {
    const notifications = parseStrict(NotificationsPatch, req.body);
    res.json(settingsBody(await settings.update(userId(req), { notifications }, req.id)));
  });

  router.put('/user/settings/custom/:key', json, async (req, res) => {
    const { key } = parseInput(CustomKeyPath, req.params, 'path');
    const { value } = parseStrict(CustomValueBody, req.body);
    res.json(settingsBody(await settings.update(userId(req), { custom: { [key]: value } }, req.id)));
  });

  router.delete('/user/settings/custom/:key', async (req, res) => {
    const { key } = parseInput(CustomKeyPath, req.params, 'path');
    res.json(settingsBody(await settings.removeCustomKey(userId(req), key, req.id)));
  });

  router.get('/user/settings/history', async (req, res) => {
    const page = parseInput(HistoryQuery, req.query, 'query');
    const { entries, total } = await settings.history(userId(req), page);
    res.json({ items: entries.map(entryBody), total, limit: page.limit, offset: page.offset });
  });

  router.post('/user/settings/restore', json, async (req, res) => {
    const { version } = parseStrict(RestoreBody, req.body);
    res.json(settingsBody(await settings.restore(userId(req), version, req.id)));
  });

  return router;
}
