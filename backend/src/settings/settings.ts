import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import TOML from '@iarna/toml';
import { z } from 'zod';
import { closestName } from './closest.js';
import type { KeySpec } from './keys.js';
import {
  ENV_PREFIX,
  secretKeys,
  settingKeys,
  type SecretKey,
  type SettingKey,
  type SettingValues,
} from './schema.js';

export type ValueSource = 'default' | 'base' | 'override' | 'env' | 'computed';

export interface SettingsOptions {
  /** Base TOML file; relative paths resolve against `baseDir`. Default `config.toml`. */
  configPath?: string;
  /** Per-worker override TOML merged over the base file. Missing file is an error. */
  overridePath?: string;
  /** Environment to read secrets and INTEGR8SCODE_* overrides from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Directory relative paths resolve against. Default: nearest ancestor of cwd holding config.toml. */
  baseDir?: string;
}

/** Every configuration problem found, one line each, so a bad deploy is fixed in one round. */
export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'SettingsError';
  }
}

const allKeys = Object.keys(settingKeys) as SettingKey[];
const specOf = (key: SettingKey): KeySpec<unknown> => settingKeys[key];
const knownNames = [...allKeys, ...Object.keys(secretKeys), 'MONGODB_URL'];

/** The one schema of the merged, non-secret settings; per-key schemas come from it. */
export const settingsSchema = z
  .object(Object.fromEntries(allKeys.map((k) => [k, specOf(k).schema])) as Record<SettingKey, z.ZodType>)
  .strict();

/** Signing keys that are public (our default, and the placeholders people copy from examples). */
const KNOWN_SECRETS = new Set(
  [
    secretKeys.SECRET_KEY.default,
    'changeme',
    'change_me',
    'secret',
    'your-secret-key',
    'your_secret_key',
  ].map((s) => s.toLowerCase()),
);
const MIN_DISTINCT_SECRET_CHARS = 8;

/**
 * Outside development/test a public or guessable SECRET_KEY lets anyone forge tokens, so the
 * process refuses to start; the length rule applies everywhere and is checked with the secrets.
 */
export function weakSecretKeyProblem(secret: string, environment: unknown): string | undefined {
  if (environment === 'development' || environment === 'test') return undefined;
  const fix =
    'set the SECRET_KEY env var to a random string of at least 32 characters (e.g. `openssl rand -base64 48`)';
  if (KNOWN_SECRETS.has(secret.toLowerCase())) {
    return `env SECRET_KEY: a publicly known default cannot sign tokens with ENVIRONMENT=${String(environment)}; ${fix}`;
  }
  if (new Set(secret).size < MIN_DISTINCT_SECRET_CHARS) {
    return `env SECRET_KEY: fewer than ${MIN_DISTINCT_SECRET_CHARS} distinct characters is too weak with ENVIRONMENT=${String(environment)}; ${fix}`;
  }
  return undefined;
}

/**
 * Effective configuration of one process: defaults < base TOML < worker override TOML <
 * INTEGR8SCODE_* env vars, plus secrets from plain env vars. Keys are readable as properties
 * (`settings.KAFKA_BOOTSTRAP_SERVERS`), as in the seed's Settings class.
 */
// The interface merge gives every key as a typed read-only property without listing them twice.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Settings {
  readonly configPath: string;
  readonly overridePath: string | undefined;
  readonly SECRET_KEY: string;
  readonly MONGO_USER: string;
  readonly MONGO_PASSWORD: string;
  readonly REDIS_PASSWORD: string;
  readonly MONGODB_URL: string;
  /** Where each value came from, for `config show`. */
  readonly sources: Readonly<Record<SettingKey | SecretKey | 'MONGODB_URL', ValueSource>>;
  /** Things worth a log line at start but not worth refusing to run. */
  readonly warnings: readonly string[];

  constructor(options: SettingsOptions = {}) {
    const env = options.env ?? process.env;
    const baseDir = options.baseDir ?? findBaseDir(process.cwd());
    this.configPath = resolvePath(baseDir, options.configPath ?? 'config.toml');
    this.overridePath =
      options.overridePath === undefined ? undefined : resolvePath(baseDir, options.overridePath);

    const problems: string[] = [];
    const values: Record<string, unknown> = {};
    const sources: Record<string, ValueSource> = {};
    for (const key of allKeys) {
      values[key] = specOf(key).default;
      sources[key] = 'default';
    }

    const layers: Array<[ValueSource, string | undefined]> = [
      ['base', this.configPath],
      ['override', this.overridePath],
    ];
    for (const [source, path] of layers) {
      if (path === undefined) continue;
      const table = readToml(path, problems);
      if (!table) continue;
      for (const [name, raw] of Object.entries(table)) {
        const where = `${path}: ${name}`;
        const key = checkName(name, where, 'file', problems);
        if (!key) continue;
        if (acceptValue(key, raw, where, problems)) {
          values[key] = raw;
          sources[key] = source;
        }
      }
    }

    for (const [envName, raw] of Object.entries(env)) {
      if (!envName.startsWith(ENV_PREFIX) || raw === undefined) continue;
      const name = envName.slice(ENV_PREFIX.length);
      const where = `env ${envName}`;
      const key = checkName(name, where, 'env', problems);
      if (!key) continue;
      const coerced = coerceEnv(specOf(key), raw);
      if (acceptValue(key, coerced, where, problems)) {
        values[key] = coerced;
        sources[key] = 'env';
      }
    }

    const secrets = {} as Record<SecretKey, string>;
    for (const name of Object.keys(secretKeys) as SecretKey[]) {
      const spec = secretKeys[name];
      const raw = env[name];
      secrets[name] = raw ?? spec.default;
      sources[name] = raw === undefined ? 'default' : 'env';
      if (secrets[name].length < spec.minLength) {
        problems.push(
          `env ${name}: expected string of at least ${spec.minLength} characters, found ${secrets[name].length} characters`,
        );
      }
    }

    problems.push(...crossKeyProblems(values as SettingValues, sources));
    const weakSecret = weakSecretKeyProblem(secrets.SECRET_KEY, values.ENVIRONMENT);
    if (weakSecret !== undefined) problems.push(weakSecret);
    if (problems.length > 0) throw new SettingsError(problems);

    const parsed = settingsSchema.parse(values) as SettingValues;
    Object.assign(this, parsed);
    this.SECRET_KEY = secrets.SECRET_KEY;
    this.MONGO_USER = secrets.MONGO_USER;
    this.MONGO_PASSWORD = secrets.MONGO_PASSWORD;
    this.REDIS_PASSWORD = secrets.REDIS_PASSWORD;
    this.MONGODB_URL = buildMongoUrl(parsed, secrets.MONGO_USER, secrets.MONGO_PASSWORD);
    sources.MONGODB_URL = 'computed';
    this.sources = Object.freeze(sources);

    this.warnings = [];
    Object.freeze(this);
  }

  /** Non-secret values, for handing a plain object to a component. */
  values(): SettingValues {
    return Object.fromEntries(
      allKeys.map((k) => [k, (this as unknown as SettingValues)[k]]),
    ) as SettingValues;
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface Settings extends Readonly<SettingValues> {}

/** mongodb://user:password@host:port/db with credentials URL-encoded; no credentials when the user is empty. */
export function buildMongoUrl(
  v: Pick<SettingValues, 'MONGO_HOST' | 'MONGO_PORT' | 'MONGO_DB'>,
  user: string,
  password: string,
): string {
  const host = `${v.MONGO_HOST}:${v.MONGO_PORT}`;
  if (user === '') return `mongodb://${host}/${encodeURIComponent(v.MONGO_DB)}`;
  const credentials = `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  return `mongodb://${credentials}@${host}/${encodeURIComponent(v.MONGO_DB)}?authSource=admin`;
}

export function findBaseDir(start: string): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'config.toml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(start);
    dir = parent;
  }
}

function resolvePath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : join(baseDir, path);
}

function readToml(path: string, problems: string[]): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.push(
      code === 'ENOENT'
        ? `${path}: file not found`
        : `${path}: cannot be read (${code ?? (err as Error).message})`,
    );
    return undefined;
  }
  try {
    return TOML.parse(text);
  } catch (err) {
    const e = err as Error & { line?: number; col?: number };
    const at = e.line !== undefined ? ` at line ${e.line + 1}, column ${(e.col ?? 0) + 1}` : '';
    problems.push(`${path}: not valid TOML${at}: ${e.message.split('\n')[0]}`);
    return undefined;
  }
}

function checkName(
  name: string,
  where: string,
  layer: 'file' | 'env',
  problems: string[],
): SettingKey | undefined {
  if (name in settingKeys) return name as SettingKey;
  if (name in secretKeys) {
    problems.push(
      `${where}: ${name} is a secret and is read only from the env var ${name}` +
        (layer === 'file' ? '; remove it from the file' : ` (without the ${ENV_PREFIX} prefix)`),
    );
    return undefined;
  }
  if (name === 'MONGODB_URL') {
    problems.push(
      `${where}: MONGODB_URL is computed from MONGO_HOST, MONGO_PORT, MONGO_DB and the MONGO_USER/MONGO_PASSWORD env vars; set those instead`,
    );
    return undefined;
  }
  const hint = closestName(name, knownNames);
  problems.push(`${where}: unknown key${hint ? ` (did you mean ${hint}?)` : ''}`);
  return undefined;
}

function acceptValue(key: SettingKey, value: unknown, where: string, problems: string[]): boolean {
  const spec = specOf(key);
  if (spec.schema.safeParse(value).success) return true;
  problems.push(`${where}: expected ${spec.expected}, found ${describeValue(value)}`);
  return false;
}

/** Env vars are strings: turn them into the key's type so the same schema validates every layer. */
function coerceEnv(spec: KeySpec<unknown>, raw: string): unknown {
  const text = raw.trim();
  switch (spec.kind) {
    case 'integer':
      return /^[+-]?\d+$/.test(text) ? Number(text) : raw;
    case 'number':
      return text !== '' && Number.isFinite(Number(text)) ? Number(text) : raw;
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return true;
      if (['false', '0', 'no', 'off'].includes(lower)) return false;
      return raw;
    }
    case 'string':
    case 'enum':
      return raw;
  }
}

export function describeValue(value: unknown): string {
  if (value === '') return 'empty string';
  if (typeof value === 'string' && value.trim() === '')
    return `whitespace-only string ${JSON.stringify(value)}`;
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'number') return `${Number.isInteger(value) ? 'integer' : 'number'} ${value}`;
  if (typeof value === 'boolean') return `boolean ${value}`;
  if (value instanceof Date) return `datetime ${value.toISOString()}`;
  if (Array.isArray(value)) return 'array';
  if (value === null || value === undefined) return 'nothing';
  return 'table';
}

function crossKeyProblems(v: SettingValues, sources: Record<string, ValueSource>): string[] {
  const problems: string[] = [];
  const from = (k: SettingKey): string => `${k} (${sources[k]})`;
  if (v.KAFKA_HEARTBEAT_INTERVAL_MS >= v.KAFKA_SESSION_TIMEOUT_MS) {
    problems.push(
      `${from('KAFKA_HEARTBEAT_INTERVAL_MS')} must be lower than ${from('KAFKA_SESSION_TIMEOUT_MS')}, found ${v.KAFKA_HEARTBEAT_INTERVAL_MS} ≥ ${v.KAFKA_SESSION_TIMEOUT_MS}`,
    );
  }
  if (v.DLQ_WARNING_THRESHOLD > v.DLQ_CRITICAL_THRESHOLD) {
    problems.push(
      `${from('DLQ_WARNING_THRESHOLD')} must not exceed ${from('DLQ_CRITICAL_THRESHOLD')}, found ${v.DLQ_WARNING_THRESHOLD} > ${v.DLQ_CRITICAL_THRESHOLD}`,
    );
  }
  if (v.DLQ_RETRY_BASE_DELAY_SECONDS > v.DLQ_RETRY_MAX_DELAY_SECONDS) {
    problems.push(
      `${from('DLQ_RETRY_BASE_DELAY_SECONDS')} must not exceed ${from('DLQ_RETRY_MAX_DELAY_SECONDS')}`,
    );
  }
  if (v.KAFKA_CONSUMER_RETRY_BASE_MS > v.KAFKA_CONSUMER_RETRY_MAX_MS) {
    problems.push(
      `${from('KAFKA_CONSUMER_RETRY_BASE_MS')} must not exceed ${from('KAFKA_CONSUMER_RETRY_MAX_MS')}`,
    );
  }
  return problems;
}
