import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uniqueSuffix } from '../test-settings.js';
import { spawnEntry } from './spawn-process.js';

const testConfig = ['--config', 'config.test.toml'];

describe('the API entry file as a process', () => {
  it('when started and sent SIGTERM, then it serves, drains and exits 0', async () => {
    const api = spawnEntry('api.ts', testConfig, {
      INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `it.${uniqueSuffix()}.`,
    });
    const listening = await api.waitForLog((e) => e.msg === 'http listening');
    await api.waitForLog((e) => e.msg === 'started');
    const res = await fetch(`http://127.0.0.1:${String(listening.port)}/api/v1/health/ready`);
    expect(res.status).toBe(200);
    api.child.kill('SIGTERM');
    expect(await api.exited).toEqual({ code: 0, signal: null });
    await api.waitForLog((e) => e.msg === 'stopped');
    expect(api.lines.some((l) => l.includes('"service":"integr8scode-test"'))).toBe(true);
  });

  it('when the configuration is invalid, then it exits 1 naming the file and key before connecting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const bad = join(dir, 'config.toml');
    writeFileSync(bad, 'SERVER_PORT = "eighty"\n');
    const api = spawnEntry('api.ts', ['--config', bad]);
    expect((await api.exited).code).toBe(1);
    expect(api.lines).toContain(
      `  - ${bad}: SERVER_PORT: expected integer between 0 and 65535, found string "eighty"`,
    );
  });

  it('when a dependency is unreachable at start, then it exits 1 after logging why', async () => {
    const api = spawnEntry('api.ts', testConfig, { INTEGR8SCODE_REDIS_PORT: '1' });
    const { code } = await api.exited;
    expect(code).toBe(1);
    const fatal = await api.waitForLog((e) => e.msg === 'start failed');
    expect(JSON.stringify(fatal)).toContain('cannot connect to redis at 127.0.0.1:1');
  });
});
