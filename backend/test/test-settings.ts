import { randomUUID } from 'node:crypto';
import { Settings } from '../src/settings/settings.js';

/**
 * Settings for integration tests: config.test.toml plus per-test env overrides. Each call may
 * carry a unique topic prefix / database so tests create their own data and never collide.
 */
export function testSettings(env: Record<string, string> = {}): Settings {
  return new Settings({
    configPath: 'config.test.toml',
    // The embedded Mongo wire server has no authentication (it answers saslStart with "no such
    // command"), so tests connect without credentials; see docs/infrastructure.md.
    env: { ...process.env, MONGO_USER: '', ...env },
  });
}

export function uniqueSuffix(): string {
  return randomUUID().slice(0, 8);
}
