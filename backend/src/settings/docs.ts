import { join } from 'node:path';
import type { KeySpec } from './keys.js';
import { findBaseDir } from './settings.js';
import { ENV_PREFIX, secretKeys, settingKeys } from './schema.js';

const cell = (text: string): string => text.replace(/\|/g, '\\|');
const code = (value: unknown): string => (value === '' ? '""' : `\`${cell(String(value))}\``);

/** docs/configuration.md, generated from the schema so the reference cannot drift from the code. */
export function renderConfigurationDoc(): string {
  const lines: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from backend/src/settings/schema.ts by `npm run docs:config`. Do not edit by hand;',
    '     a test fails when this file is out of date. -->',
    '',
    'Each process builds one `Settings` object from these layers, each overriding the previous:',
    '',
    '1. the defaults below;',
    '2. the base file `config.toml` (tests: `config.test.toml`);',
    '3. the per-worker override file (`config.k8s-worker.toml`, `config.pod-monitor.toml`,',
    '   `config.result-processor.toml`, `config.saga-orchestrator.toml`, `config.event-replay.toml`,',
    '   `config.dlq-processor.toml`); a missing override file is an error;',
    `4. environment variables \`${ENV_PREFIX}<KEY>\` (e.g. \`${ENV_PREFIX}KAFKA_BOOTSTRAP_SERVERS\`), coerced to`,
    "   the key's type (booleans accept true/false/1/0/yes/no/on/off).",
    '',
    'Secrets are read only from their own environment variables (never from files, never with the prefix).',
    'Unknown keys, wrong types and out-of-range values stop the process at start with one line per',
    'problem naming the file (or variable), the key, the expected type and the value found.',
    'Check a configuration without starting anything: `npm run config -- check [--config FILE] [--override FILE]`;',
    'see every effective value and where it came from: `npm run config -- show`.',
    '',
    '## Secrets',
    '',
    '| Variable | Description | Dev default |',
    '| --- | --- | --- |',
  ];
  for (const [name, spec] of Object.entries(secretKeys)) {
    lines.push(`| \`${name}\` | ${cell(spec.description)} | ${code(spec.default)} |`);
  }
  lines.push(
    '',
    '`MONGODB_URL` is computed: `mongodb://<MONGO_USER>:<MONGO_PASSWORD>@<MONGO_HOST>:<MONGO_PORT>/<MONGO_DB>?authSource=admin`,',
    'with user and password URL-encoded (no credentials when `MONGO_USER` is empty).',
  );

  const sections = new Map<string, Array<[string, KeySpec<unknown>]>>();
  for (const [key, spec] of Object.entries(settingKeys) as Array<[string, KeySpec<unknown>]>) {
    const list = sections.get(spec.section) ?? [];
    list.push([key, spec]);
    sections.set(spec.section, list);
  }
  for (const [section, keys] of sections) {
    lines.push(
      '',
      `## ${section}`,
      '',
      '| Key | Type | Default | Description |',
      '| --- | --- | --- | --- |',
    );
    for (const [key, spec] of keys) {
      lines.push(
        `| \`${key}\` | ${cell(spec.expected)} | ${code(spec.default)} | ${cell(spec.description)} |`,
      );
    }
  }
  lines.push('');
  return lines.join('\n');
}

export function configurationDocPath(): string {
  return join(findBaseDir(process.cwd()), 'docs', 'configuration.md');
}
