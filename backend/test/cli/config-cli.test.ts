import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secretKeys, settingKeys } from '../../src/settings/schema.js';
import { findBaseDir } from '../../src/settings/settings.js';

const root = findBaseDir(process.cwd());

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the config CLI as a user does from the repository root. The environment is the test's own
 * minus anything that would change the answer: INIT_CWD (set by npx/npm, it redirects relative
 * paths), INTEGR8SCODE_* overrides and the secret env vars.
 */
function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (
      value === undefined ||
      name === 'INIT_CWD' ||
      name.startsWith('INTEGR8SCODE_') ||
      name in secretKeys
    ) {
      continue;
    }
    base[name] = value;
  }
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'backend/src/entrypoints/config-cli.ts', ...args],
    { cwd: root, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The `KEY = value  (source)` line of `show` output for `key`, or undefined. */
function lineOf(output: string, key: string): string | undefined {
  return output.split('\n').find((l) => new RegExp(`^${escape(key)} +=`).test(l));
}

describe('config CLI', () => {
  const secretKey = 'k'.repeat(20) + '0123456789abcdefghij';
  const mongoPassword = 'hunter2@vault/db';

  it('when show runs with secrets in the env, then every key is listed with its source and no secret is printed', async () => {
    expect(secretKey).toHaveLength(40);
    const { code, stdout, stderr } = await runCli(['show'], {
      SECRET_KEY: secretKey,
      MONGO_USER: 'alice',
      MONGO_PASSWORD: mongoPassword,
      REDIS_PASSWORD: 'redis-secret-pw',
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    for (const key of Object.keys(settingKeys)) {
      expect(lineOf(stdout, key), key).toMatch(/^\w+ += .* {2}\((default|base)\)$/);
    }
    expect(lineOf(stdout, 'SECRET_KEY')).toMatch(/^SECRET_KEY += \[redacted\] {2}\(env, secret\)$/);
    expect(lineOf(stdout, 'REDIS_PASSWORD')).toMatch(/^REDIS_PASSWORD += \[redacted\] {2}\(env, secret\)$/);
    expect(lineOf(stdout, 'MONGO_PASSWORD')).toMatch(/^MONGO_PASSWORD += \[redacted\] {2}\(env, secret\)$/);
    expect(lineOf(stdout, 'MONGODB_URL')).toMatch(
      /^MONGODB_URL += "mongodb:\/\/alice:\[redacted\]@mongo:27017\/integr8scode\?authSource=admin" {2}\(computed\)$/,
    );
    for (const secret of [secretKey, mongoPassword, encodeURIComponent(mongoPassword), 'redis-secret-pw']) {
      expect(stdout + stderr, secret).not.toContain(secret);
    }
  });

  it('when show runs with a worker override, then the overridden key says "(override)"', async () => {
    const { code, stdout } = await runCli(['show', '--override', 'config.saga-orchestrator.toml']);
    expect(code).toBe(0);
    expect(lineOf(stdout, 'KAFKA_CONSUMER_GROUP_ID')).toMatch(
      /^KAFKA_CONSUMER_GROUP_ID += "integr8scode-saga-orchestrator" {2}\(override\)$/,
    );
    expect(lineOf(stdout, 'KAFKA_BOOTSTRAP_SERVERS')).toMatch(/ {2}\(base\)$/);
  });

  it('when an INTEGR8SCODE_ env var sets a key, then show prints its value with "(env)"', async () => {
    const { code, stdout } = await runCli(['show'], { INTEGR8SCODE_SERVER_PORT: '9999' });
    expect(code).toBe(0);
    expect(lineOf(stdout, 'SERVER_PORT')).toMatch(/^SERVER_PORT += 9999 {2}\(env\)$/);
  });

  it('when check runs on the committed config, then it exits 0 naming the file', async () => {
    const { code, stdout, stderr } = await runCli(['check']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`Configuration is valid: ${join(root, 'config.toml')}`);
  });

  it('when check runs on a file with a wrong type and an unknown key, then it exits 1 with one line per problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-cli-'));
    const bad = join(dir, 'config.toml');
    writeFileSync(bad, 'SERVER_PORT = "eighty"\nKAFKA_BOOTSTRAP_SERVER = "kafka:29092"\n');
    const { code, stdout, stderr } = await runCli(['check', '--config', bad]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.split('\n');
    expect(lines[0]).toBe('Invalid configuration (2 problems):');
    expect(lines).toContain(
      `  - ${bad}: SERVER_PORT: expected integer between 0 and 65535, found string "eighty"`,
    );
    expect(lines).toContain(
      `  - ${bad}: KAFKA_BOOTSTRAP_SERVER: unknown key (did you mean KAFKA_BOOTSTRAP_SERVERS?)`,
    );
  });

  it('when check names an override file that does not exist, then it exits 1 naming the path', async () => {
    const { code, stderr } = await runCli(['check', '--override', 'missing.toml']);
    expect(code).toBe(1);
    expect(stderr.split('\n')).toContain(`  - ${join(root, 'missing.toml')}: file not found`);
  });

  it('when docs --check runs, then the committed configuration reference matches the schema and it exits 0', async () => {
    const { code, stderr } = await runCli(['docs', '--check']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('when the command is unknown, then it exits 2 and prints the usage', async () => {
    const { code, stderr } = await runCli(['frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toContain('Unknown command "frobnicate".');
    expect(stderr).toContain('Usage: npm run config -- <command> [options]');
  });

  it('when no command is given, then it exits 2 and prints the usage', async () => {
    const { code, stdout } = await runCli([]);
    expect(code).toBe(2);
    expect(stdout).toContain('Usage: npm run config -- <command> [options]');
  });
});
