import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '../platform/logging/logger.js';
import { Settings, SettingsError } from '../settings/settings.js';

export interface ProcessBootstrap {
  settings: Settings;
  logger: Logger;
}

/**
 * Settings and root logger of a process. `--config FILE` and `--override FILE` choose the TOML
 * files (defaults: config.toml and the process's own override). A bad configuration prints every
 * problem and exits 1 before anything connects.
 */
export function bootstrapProcess(
  argv: readonly string[],
  defaultOverride: string | undefined,
): ProcessBootstrap {
  const { values } = parseArgs({
    args: [...argv],
    options: { config: { type: 'string' }, override: { type: 'string' } },
    strict: true,
  });
  let settings: Settings;
  try {
    settings = new Settings({ configPath: values.config, overridePath: values.override ?? defaultOverride });
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({
    service: settings.TRACING_SERVICE_NAME,
    version: settings.TRACING_SERVICE_VERSION,
    level: settings.LOG_LEVEL,
  });
  for (const warning of settings.warnings) logger.warn(warning);
  return { settings, logger };
}
