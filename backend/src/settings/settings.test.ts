import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import TOML from '@iarna/toml';
import { describe, expect, it } from 'vitest';
import { secretKeys, settingKeys } from './schema.js';
import {
  buildMongoUrl,
  describeValue,
  findBaseDir,
  Settings,
  SettingsError,
  weakSecretKeyProblem,
} from './settings.js';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'settings-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsError);
    return (err as SettingsError).problems;
  }
  throw new Error('expected a SettingsError');
}

describe('Settings', () => {
  it('when the base file is empty, then every key has the schema default and source "default"', () => {
    const dir = dirWith({ 'config.toml': '' });
    const s = new Settings({ baseDir: dir, env: {} });
    for (const [key, spec] of Object.entries(settingKeys)) {
      expect(s[key as keyof typeof settingKeys], key).toEqual(spec.default);
      expect(s.sources[key as keyof typeof settingKeys]).toBe('default');
    }
    expect(s.SECRET_KEY).toBe(secretKeys.SECRET_KEY.default);
    expect(s.sources.SECRET_KEY).toBe('default');
  });

  it('when base, override and env all set a key, then env wins over override over base', () => {
    const dir = dirWith({
      'config.toml':
        'KAFKA_CONSUMER_GROUP_ID = "base"\nTRACING_SERVICE_NAME = "base-svc"\nMONGO_PORT = 1111\n',
      'config.worker.toml': 'KAFKA_CONSUMER_GROUP_ID = "override"\nTRACING_SERVICE_NAME = "worker-svc"\n',
    });
    const s = new Settings({
      baseDir: dir,
      overridePath: 'config.worker.toml',
      env: { INTEGR8SCODE_KAFKA_CONSUMER_GROUP_ID: 'from-env' },
    });
    expect(s.KAFKA_CONSUMER_GROUP_ID).toBe('from-env');
    expect(s.sources.KAFKA_CONSUMER_GROUP_ID).toBe('env');
    expect(s.TRACING_SERVICE_NAME).toBe('worker-svc');
    expect(s.sources.TRACING_SERVICE_NAME).toBe('override');
    expect(s.MONGO_PORT).toBe(1111);
    expect(s.sources.MONGO_PORT).toBe('base');
    expect(s.sources.KAFKA_MAX_POLL_RECORDS).toBe('default');
  });

  it('when configPath names another file, then that file is the base', () => {
    const dir = dirWith({ 'config.toml': 'SERVER_PORT = 1\n', 'config.test.toml': 'SERVER_PORT = 2\n' });
    expect(new Settings({ baseDir: dir, configPath: 'config.test.toml', env: {} }).SERVER_PORT).toBe(2);
    expect(new Settings({ baseDir: dir, env: {} }).SERVER_PORT).toBe(1);
  });

  it('when env values are strings, then they are coerced to the key type', () => {
    const dir = dirWith({ 'config.toml': '' });
    const s = new Settings({
      baseDir: dir,
      env: {
        INTEGR8SCODE_MONGO_PORT: '28000',
        INTEGR8SCODE_TRACING_SAMPLING_RATE: '0.25',
        INTEGR8SCODE_KAFKA_ENABLE_AUTO_COMMIT: 'false',
        INTEGR8SCODE_ENABLE_EVENT_STREAMING: 'YES',
        INTEGR8SCODE_KAFKA_AUTO_OFFSET_RESET: 'latest',
        INTEGR8SCODE_OTLP_TRACES_ENDPOINT: '',
      },
    });
    expect(s.MONGO_PORT).toBe(28000);
    expect(s.TRACING_SAMPLING_RATE).toBe(0.25);
    expect(s.KAFKA_ENABLE_AUTO_COMMIT).toBe(false);
    expect(s.ENABLE_EVENT_STREAMING).toBe(true);
    expect(s.KAFKA_AUTO_OFFSET_RESET).toBe('latest');
    expect(s.OTLP_TRACES_ENDPOINT).toBe('');
  });

  it('when secrets are set in env, then they are used and MONGODB_URL encodes the credentials', () => {
    const dir = dirWith({ 'config.toml': 'MONGO_HOST = "db.local"\nMONGO_PORT = 27018\nMONGO_DB = "app"\n' });
    const s = new Settings({
      baseDir: dir,
      env: {
        MONGO_USER: 'us@r',
        MONGO_PASSWORD: 'p:ss/w#rd',
        SECRET_KEY: 'x'.repeat(40),
        REDIS_PASSWORD: 'r',
      },
    });
    expect(s.MONGODB_URL).toBe('mongodb://us%40r:p%3Ass%2Fw%23rd@db.local:27018/app?authSource=admin');
    expect(s.SECRET_KEY).toBe('x'.repeat(40));
    expect(s.REDIS_PASSWORD).toBe('r');
    expect(s.sources.MONGO_PASSWORD).toBe('env');
    expect(s.sources.MONGODB_URL).toBe('computed');
  });

  it('when MONGO_USER is empty, then MONGODB_URL has no credentials', () => {
    expect(buildMongoUrl({ MONGO_HOST: 'h', MONGO_PORT: 1, MONGO_DB: 'd' }, '', 'ignored')).toBe(
      'mongodb://h:1/d',
    );
  });

  it('when a file value has the wrong type, then the error names file, key, expected type and value', () => {
    const dir = dirWith({ 'config.toml': 'KAFKA_SESSION_TIMEOUT_MS = "soon"\nENABLE_EVENT_STREAMING = 1\n' });
    const problems = problemsOf(() => new Settings({ baseDir: dir, env: {} }));
    expect(problems).toEqual([
      `${join(dir, 'config.toml')}: KAFKA_SESSION_TIMEOUT_MS: expected integer ≥ 1000, found string "soon"`,
      `${join(dir, 'config.toml')}: ENABLE_EVENT_STREAMING: expected boolean, found integer 1`,
    ]);
  });

  it('when values break range, enum or pattern rules, then each is reported', () => {
    const dir = dirWith({
      'config.toml': [
        'TRACING_SAMPLING_RATE = 1.5',
        'KAFKA_AUTO_OFFSET_RESET = "newest"',
        'RATE_LIMITS = "100 per minute"',
        'MONGO_PORT = 70000',
        'K8S_POD_MEMORY_LIMIT = "lots"',
        'SERVER_PORT = 1.5',
      ].join('\n'),
    });
    const problems = problemsOf(() => new Settings({ baseDir: dir, env: {} }));
    const f = join(dir, 'config.toml');
    expect(problems).toEqual([
      `${f}: TRACING_SAMPLING_RATE: expected number between 0 and 1, found number 1.5`,
      `${f}: KAFKA_AUTO_OFFSET_RESET: expected one of "earliest", "latest", found string "newest"`,
      `${f}: RATE_LIMITS: expected rate like "100/minute" (unit second, minute, hour or day), found string "100 per minute"`,
      `${f}: MONGO_PORT: expected integer between 1 and 65535, found integer 70000`,
      `${f}: K8S_POD_MEMORY_LIMIT: expected memory quantity like "128Mi", found string "lots"`,
      `${f}: SERVER_PORT: expected integer between 0 and 65535, found number 1.5`,
    ]);
  });

  it('when a key is unknown, then the error names the closest known key', () => {
    const dir = dirWith({
      'config.toml': '',
      'config.worker.toml': 'KAFKA_CONSUMER_GROUP = "x"\ncompletely_unrelated_thing = 1\n',
    });
    const problems = problemsOf(
      () => new Settings({ baseDir: dir, overridePath: 'config.worker.toml', env: {} }),
    );
    const f = join(dir, 'config.worker.toml');
    expect(problems).toEqual([
      `${f}: KAFKA_CONSUMER_GROUP: unknown key (did you mean KAFKA_CONSUMER_GROUP_ID?)`,
      `${f}: completely_unrelated_thing: unknown key`,
    ]);
  });

  it('when an env override is unknown or malformed, then the error names the variable', () => {
    const dir = dirWith({ 'config.toml': '' });
    const problems = problemsOf(
      () =>
        new Settings({
          baseDir: dir,
          env: {
            INTEGR8SCODE_KAFKA_BOOTSTRAP_SERVER: 'x',
            INTEGR8SCODE_MONGO_PORT: 'abc',
            INTEGR8SCODE_KAFKA_ENABLE_AUTO_COMMIT: 'maybe',
          },
        }),
    );
    expect(problems).toEqual([
      'env INTEGR8SCODE_KAFKA_BOOTSTRAP_SERVER: unknown key (did you mean KAFKA_BOOTSTRAP_SERVERS?)',
      'env INTEGR8SCODE_MONGO_PORT: expected integer between 1 and 65535, found string "abc"',
      'env INTEGR8SCODE_KAFKA_ENABLE_AUTO_COMMIT: expected boolean, found string "maybe"',
    ]);
  });

  it('when a secret appears in a file or with the prefix, then it is refused', () => {
    const dir = dirWith({
      'config.toml': 'SECRET_KEY = "in-a-file-is-wrong-in-a-file-is-wrong"\nMONGODB_URL = "x"\n',
    });
    const problems = problemsOf(
      () => new Settings({ baseDir: dir, env: { INTEGR8SCODE_REDIS_PASSWORD: 'x' } }),
    );
    const f = join(dir, 'config.toml');
    expect(problems).toEqual([
      `${f}: SECRET_KEY: SECRET_KEY is a secret and is read only from the env var SECRET_KEY; remove it from the file`,
      `${f}: MONGODB_URL: MONGODB_URL is computed from MONGO_HOST, MONGO_PORT, MONGO_DB and the MONGO_USER/MONGO_PASSWORD env vars; set those instead`,
      'env INTEGR8SCODE_REDIS_PASSWORD: REDIS_PASSWORD is a secret and is read only from the env var REDIS_PASSWORD (without the INTEGR8SCODE_ prefix)',
    ]);
  });

  it('when SECRET_KEY is shorter than 32 characters, then the error says so without echoing it', () => {
    const dir = dirWith({ 'config.toml': '' });
    const problems = problemsOf(() => new Settings({ baseDir: dir, env: { SECRET_KEY: 'short-secret' } }));
    expect(problems).toEqual([
      'env SECRET_KEY: expected string of at least 32 characters, found 12 characters',
    ]);
  });

  it('when the override file is missing, then the error names its path', () => {
    const dir = dirWith({ 'config.toml': '' });
    const problems = problemsOf(
      () => new Settings({ baseDir: dir, overridePath: 'config.nope.toml', env: {} }),
    );
    expect(problems).toEqual([`${join(dir, 'config.nope.toml')}: file not found`]);
  });

  it('when the base file is missing, then the error names its path', () => {
    const dir = dirWith({});
    expect(problemsOf(() => new Settings({ baseDir: dir, env: {} }))).toEqual([
      `${join(dir, 'config.toml')}: file not found`,
    ]);
  });

  it('when a file is not valid TOML, then the error names the file and the line', () => {
    const dir = dirWith({ 'config.toml': 'PROJECT_NAME = "ok"\nMONGO_PORT = = 3\n' });
    const [problem, ...rest] = problemsOf(() => new Settings({ baseDir: dir, env: {} }));
    expect(rest).toEqual([]);
    expect(problem).toMatch(
      new RegExp(`^${join(dir, 'config.toml')}: not valid TOML at line 2, column \\d+: `),
    );
  });

  it('when a value is a table or an array, then the found type says so', () => {
    const dir = dirWith({ 'config.toml': 'PROJECT_NAME = ["a"]\n[MONGO_HOST]\nx = 1\n' });
    const f = join(dir, 'config.toml');
    expect(problemsOf(() => new Settings({ baseDir: dir, env: {} }))).toEqual([
      `${f}: PROJECT_NAME: expected string of at least 1 character, found array`,
      `${f}: MONGO_HOST: expected string of at least 1 character, found table`,
    ]);
  });

  it('when related keys contradict each other, then the error names both and their sources', () => {
    const dir = dirWith({
      'config.toml': 'KAFKA_HEARTBEAT_INTERVAL_MS = 50000\nDLQ_WARNING_THRESHOLD = 5000\n',
    });
    expect(problemsOf(() => new Settings({ baseDir: dir, env: {} }))).toEqual([
      'KAFKA_HEARTBEAT_INTERVAL_MS (base) must be lower than KAFKA_SESSION_TIMEOUT_MS (default), found 50000 ≥ 45000',
      'DLQ_WARNING_THRESHOLD (base) must not exceed DLQ_CRITICAL_THRESHOLD (default), found 5000 > 1000',
    ]);
  });

  it('when SECRET_KEY is the dev default in production, then starting is refused naming the SECRET_KEY env var', () => {
    const dir = dirWith({ 'config.toml': '' });
    const problems = problemsOf(
      () => new Settings({ baseDir: dir, env: { INTEGR8SCODE_ENVIRONMENT: 'production' } }),
    );
    expect(problems).toEqual([
      'env SECRET_KEY: a publicly known default cannot sign tokens with ENVIRONMENT=production; set the SECRET_KEY env var to a random string of at least 32 characters (e.g. `openssl rand -base64 48`)',
    ]);
  });

  it.each([
    ['a repeated character', 'k'.repeat(40), /fewer than 8 distinct characters/],
    ['a known placeholder in another case', 'change_me_min_32_chars_long_!!!!', /publicly known default/],
    ['shorter than 32 characters', 'Zq8#rT2!vX9@', /at least 32 characters, found 12/],
  ])('when SECRET_KEY is %s in production, then starting is refused', (_what, secret, message) => {
    const dir = dirWith({ 'config.toml': '' });
    const problems = problemsOf(
      () =>
        new Settings({ baseDir: dir, env: { INTEGR8SCODE_ENVIRONMENT: 'production', SECRET_KEY: secret } }),
    );
    expect(problems.some((p) => p.startsWith('env SECRET_KEY: ') && message.test(p))).toBe(true);
  });

  it('when SECRET_KEY is random in production, or the default in development or test, then the settings load without warnings', () => {
    const dir = dirWith({ 'config.toml': '' });
    const random = 'r8Jx2mQv9TzL4wN7pK1sB6dF3hY0cG5e';
    const prod = new Settings({
      baseDir: dir,
      env: { INTEGR8SCODE_ENVIRONMENT: 'production', SECRET_KEY: random },
    });
    expect(prod.SECRET_KEY).toBe(random);
    expect(prod.warnings).toEqual([]);
    for (const environment of ['development', 'test']) {
      const s = new Settings({ baseDir: dir, env: { INTEGR8SCODE_ENVIRONMENT: environment } });
      expect(s.SECRET_KEY).toBe(secretKeys.SECRET_KEY.default);
      expect(s.warnings).toEqual([]);
    }
  });

  it('when a numeric or boolean env override is empty or only whitespace, then the error names the variable instead of reading 0', () => {
    const dir = dirWith({ 'config.toml': '' });
    const problems = problemsOf(
      () =>
        new Settings({
          baseDir: dir,
          env: {
            INTEGR8SCODE_MONGO_PORT: '',
            INTEGR8SCODE_TRACING_SAMPLING_RATE: '',
            INTEGR8SCODE_SERVER_PORT: '   ',
            INTEGR8SCODE_BCRYPT_ROUNDS: '\t',
            INTEGR8SCODE_ENABLE_EVENT_STREAMING: '',
          },
        }),
    );
    expect(problems).toEqual([
      'env INTEGR8SCODE_MONGO_PORT: expected integer between 1 and 65535, found empty string',
      'env INTEGR8SCODE_TRACING_SAMPLING_RATE: expected number between 0 and 1, found empty string',
      'env INTEGR8SCODE_SERVER_PORT: expected integer between 0 and 65535, found whitespace-only string "   "',
      expect.stringMatching(
        /^env INTEGR8SCODE_BCRYPT_ROUNDS: expected integer .*, found whitespace-only string "\\t"$/,
      ),
      'env INTEGR8SCODE_ENABLE_EVENT_STREAMING: expected boolean, found empty string',
    ]);
  });

  it('when the settings are built, then they cannot be changed', () => {
    const s = new Settings({ baseDir: dirWith({ 'config.toml': '' }), env: {} });
    expect(() => {
      (s as unknown as Record<string, unknown>).SERVER_PORT = 1;
    }).toThrow(TypeError);
  });

  it('when started below the repository root, then the base dir is the folder holding config.toml', () => {
    const root = dirWith({ 'config.toml': '' });
    const nested = mkdtempSync(join(root, 'nested-'));
    expect(findBaseDir(nested)).toBe(root);
  });
});

describe('the committed config files', () => {
  const root = findBaseDir(process.cwd());
  const workers = [
    'k8s-worker',
    'pod-monitor',
    'result-processor',
    'saga-orchestrator',
    'event-replay',
    'dlq-processor',
  ];

  it('when config.toml is loaded, then it validates and keeps the seed values', () => {
    const s = new Settings({ baseDir: root, env: {} });
    expect(s.KAFKA_BOOTSTRAP_SERVERS).toBe('kafka:29092');
    expect(s.K8S_POD_EXECUTION_TIMEOUT).toBe(5);
    expect(s.TRACING_SAMPLING_RATE).toBe(1);
  });

  it('when config.test.toml is loaded, then it sets every key itself (a complete file) and fast values', () => {
    const s = new Settings({ baseDir: root, configPath: 'config.test.toml', env: {} });
    const defaulted = Object.keys(settingKeys).filter(
      (k) => s.sources[k as keyof typeof settingKeys] !== 'base',
    );
    expect(defaulted).toEqual([]);
    expect(s.BCRYPT_ROUNDS).toBe(4);
    expect(s.ENVIRONMENT).toBe('test');
  });

  it.each(workers)('when the %s override is merged, then it sets its own service name and group id', (w) => {
    const s = new Settings({ baseDir: root, overridePath: `config.${w}.toml`, env: {} });
    expect(s.TRACING_SERVICE_NAME).toBe(`integr8scode-${w}`);
    expect(s.KAFKA_CONSUMER_GROUP_ID).toBe(`integr8scode-${w}`);
    expect(s.sources.KAFKA_CONSUMER_GROUP_ID).toBe('override');
  });
});

describe('SettingsError', () => {
  it('when there is one problem, then the message says "1 problem" and lists it', () => {
    const err = new SettingsError(['a: broken']);
    expect(err.message).toBe('Invalid configuration (1 problem):\n  - a: broken');
    expect(err.name).toBe('SettingsError');
    expect(err.problems).toEqual(['a: broken']);
  });

  it('when there are several problems, then the message counts them and lists one per line', () => {
    expect(new SettingsError(['a: broken', 'b: missing']).message).toBe(
      'Invalid configuration (2 problems):\n  - a: broken\n  - b: missing',
    );
  });
});

describe('weakSecretKeyProblem', () => {
  it('when the secret has exactly 8 distinct characters, then it is strong enough; with 7 it is not', () => {
    expect(weakSecretKeyProblem('abcdefgh'.repeat(4), 'production')).toBeUndefined();
    expect(weakSecretKeyProblem('abcdefg'.repeat(5), 'staging')).toBe(
      'env SECRET_KEY: fewer than 8 distinct characters is too weak with ENVIRONMENT=staging; set the SECRET_KEY env var to a random string of at least 32 characters (e.g. `openssl rand -base64 48`)',
    );
  });

  it('when a known placeholder is used in another case, then it is refused outside development and test', () => {
    expect(weakSecretKeyProblem('ChangeMe', 'production')).toMatch(
      /^env SECRET_KEY: a publicly known default cannot sign tokens with ENVIRONMENT=production; /,
    );
    expect(weakSecretKeyProblem('changeme', 'development')).toBeUndefined();
    expect(weakSecretKeyProblem('changeme', 'test')).toBeUndefined();
  });
});

describe('describeValue', () => {
  it.each([
    ['', 'empty string'],
    [' \t', 'whitespace-only string " \\t"'],
    ['x', 'string "x"'],
    [3, 'integer 3'],
    [-0.5, 'number -0.5'],
    [false, 'boolean false'],
    [new Date('1979-05-27T07:32:00Z'), 'datetime 1979-05-27T07:32:00.000Z'],
    [[1], 'array'],
    [null, 'nothing'],
    [undefined, 'nothing'],
    [{ a: 1 }, 'table'],
  ])('when the value is %j, then it is described as %j', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });
});

describe('Settings: reading files and env values', () => {
  it('when the base file cannot be read for another reason than missing, then the error names the code', () => {
    const dir = dirWith({});
    mkdirSync(join(dir, 'config.toml'));
    expect(problemsOf(() => new Settings({ baseDir: dir, env: {} }))).toEqual([
      `${join(dir, 'config.toml')}: cannot be read (EISDIR)`,
    ]);
  });

  it('when a file is not valid TOML, then the error gives the 1-based line and column and the first line of the parser message', () => {
    const dir = dirWith({ 'config.toml': 'PROJECT_NAME = "ok"\nMONGO_PORT = = 3\n' });
    const [problem] = problemsOf(() => new Settings({ baseDir: dir, env: {} }));
    let parserError: Error & { line: number; col: number };
    try {
      TOML.parse('PROJECT_NAME = "ok"\nMONGO_PORT = = 3\n');
      throw new Error('expected a TOML error');
    } catch (err) {
      parserError = err as Error & { line: number; col: number };
    }
    expect(parserError.message).toContain('\n');
    expect(problem).toBe(
      `${join(dir, 'config.toml')}: not valid TOML at line 2, column ${parserError.col + 1}: ${parserError.message.split('\n')[0]}`,
    );
  });

  it('when a file value has the wrong type, then only the type problem is reported (the bad value takes no part in the cross-key checks)', () => {
    const dir = dirWith({ 'config.toml': 'KAFKA_HEARTBEAT_INTERVAL_MS = 50000.5\n' });
    expect(problemsOf(() => new Settings({ baseDir: dir, env: {} }))).toEqual([
      expect.stringMatching(/: KAFKA_HEARTBEAT_INTERVAL_MS: expected integer .*, found number 50000.5$/),
    ]);
  });

  it('when env values have surrounding whitespace or a sign, then they are still read as their type', () => {
    const dir = dirWith({ 'config.toml': '' });
    const s = new Settings({
      baseDir: dir,
      env: {
        INTEGR8SCODE_MONGO_PORT: ' 28000 ',
        INTEGR8SCODE_SERVER_PORT: '+8080',
        INTEGR8SCODE_ENABLE_EVENT_STREAMING: ' off ',
        INTEGR8SCODE_KAFKA_ENABLE_AUTO_COMMIT: 'on',
        INTEGR8SCODE_TRACING_SAMPLING_RATE: ' 0.5 ',
      },
    });
    expect(s.MONGO_PORT).toBe(28000);
    expect(s.SERVER_PORT).toBe(8080);
    expect(s.ENABLE_EVENT_STREAMING).toBe(false);
    expect(s.KAFKA_ENABLE_AUTO_COMMIT).toBe(true);
    expect(s.TRACING_SAMPLING_RATE).toBe(0.5);
  });

  it('when an integer env value is fractional or has text around the digits, then it is reported as the string given', () => {
    const dir = dirWith({ 'config.toml': '' });
    expect(
      problemsOf(
        () =>
          new Settings({
            baseDir: dir,
            env: {
              INTEGR8SCODE_MONGO_PORT: '1.5',
              INTEGR8SCODE_SERVER_PORT: 'port8080',
              INTEGR8SCODE_KAFKA_SESSION_TIMEOUT_MS: '45000ms',
            },
          }),
      ),
    ).toEqual([
      'env INTEGR8SCODE_MONGO_PORT: expected integer between 1 and 65535, found string "1.5"',
      'env INTEGR8SCODE_SERVER_PORT: expected integer between 0 and 65535, found string "port8080"',
      'env INTEGR8SCODE_KAFKA_SESSION_TIMEOUT_MS: expected integer ≥ 1000, found string "45000ms"',
    ]);
  });

  it('when the retry delays are inverted, then each pair is reported with its sources', () => {
    const dir = dirWith({ 'config.toml': 'DLQ_RETRY_BASE_DELAY_SECONDS = 4000\n' });
    expect(
      problemsOf(
        () =>
          new Settings({
            baseDir: dir,
            env: { INTEGR8SCODE_KAFKA_CONSUMER_RETRY_BASE_MS: '6000' },
          }),
      ),
    ).toEqual([
      'DLQ_RETRY_BASE_DELAY_SECONDS (base) must not exceed DLQ_RETRY_MAX_DELAY_SECONDS (default)',
      'KAFKA_CONSUMER_RETRY_BASE_MS (env) must not exceed KAFKA_CONSUMER_RETRY_MAX_MS (default)',
    ]);
  });

  it('when paired limits are equal, then only the heartbeat pair (which must be strictly lower) is a problem', () => {
    const dir = dirWith({
      'config.toml': [
        'KAFKA_HEARTBEAT_INTERVAL_MS = 45000',
        'DLQ_WARNING_THRESHOLD = 1000',
        'DLQ_RETRY_BASE_DELAY_SECONDS = 3600',
        'KAFKA_CONSUMER_RETRY_BASE_MS = 5000',
      ].join('\n'),
    });
    expect(problemsOf(() => new Settings({ baseDir: dir, env: {} }))).toEqual([
      'KAFKA_HEARTBEAT_INTERVAL_MS (base) must be lower than KAFKA_SESSION_TIMEOUT_MS (default), found 45000 ≥ 45000',
    ]);
  });
});
