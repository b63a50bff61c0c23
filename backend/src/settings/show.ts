import { secretKeys, settingKeys } from './schema.js';
import type { Settings } from './settings.js';

const REDACTED = '[redacted]';

/** The effective settings as `KEY = value  (source)` lines, secrets and the Mongo password hidden. */
export function renderEffectiveSettings(settings: Settings): string {
  const rows: Array<[string, string, string]> = [];
  for (const key of Object.keys(settingKeys) as Array<keyof typeof settingKeys>) {
    rows.push([key, JSON.stringify(settings[key]), settings.sources[key]]);
  }
  for (const key of Object.keys(secretKeys) as Array<keyof typeof secretKeys>) {
    const value = key === 'MONGO_USER' ? JSON.stringify(settings.MONGO_USER) : REDACTED;
    rows.push([key, value, `${settings.sources[key]}, secret`]);
  }
  rows.push(['MONGODB_URL', JSON.stringify(redactUrlPassword(settings.MONGODB_URL)), 'computed']);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v, s]) => `${k.padEnd(width)} = ${v}  (${s})`).join('\n');
}

export function redactUrlPassword(url: string): string {
  return url.replace(/^(mongodb(?:\+srv)?:\/\/[^:/@]*:)[^@]*@/, `$1${REDACTED}@`);
}
