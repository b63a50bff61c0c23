import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { configurationDocPath, renderConfigurationDoc } from '../settings/docs.js';
import { Settings, SettingsError } from '../settings/settings.js';
import { renderEffectiveSettings } from '../settings/show.js';

const USAGE = `Usage: npm run config -- <command> [options]

Commands:
  show    print every effective setting with its source (default, base, override, env); secrets redacted
  check   validate the configuration; exit 1 with one line per problem
  docs    print the configuration reference (--write: update docs/configuration.md, --check: compare)

Options:
  --config FILE     base TOML file (default config.toml at the repository root)
  --override FILE   per-worker override TOML merged over the base file`;

// npm runs workspace scripts inside backend/; paths the user typed are relative to where they typed them.
const userCwd = process.env.INIT_CWD ?? process.cwd();

function main(argv: string[]): number {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      override: { type: 'string' },
      write: { type: 'boolean' },
      check: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command === 'docs') return docs(values.write, values.check);
  if (command !== 'show' && command !== 'check') {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }

  let settings: Settings;
  try {
    settings = new Settings({
      configPath: values.config === undefined ? undefined : resolve(userCwd, values.config),
      overridePath: values.override === undefined ? undefined : resolve(userCwd, values.override),
    });
  } catch (err) {
    if (err instanceof SettingsError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  for (const warning of settings.warnings) console.error(`warning: ${warning}`);
  if (command === 'show') {
    console.log(renderEffectiveSettings(settings));
  } else {
    const files = [settings.configPath, settings.overridePath].filter(Boolean).join(' + ');
    console.log(`Configuration is valid: ${files}`);
  }
  return 0;
}

function docs(write: boolean | undefined, check: boolean | undefined): number {
  const text = renderConfigurationDoc();
  const target = configurationDocPath();
  if (write) {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
    return 0;
  }
  if (check) {
    if (readFileSync(target, 'utf8') === text) return 0;
    console.error(`${target} is out of date: run npm run docs:config`);
    return 1;
  }
  process.stdout.write(text);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 2;
}
