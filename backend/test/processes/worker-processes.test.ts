import { describe, expect, it } from 'vitest';
import { spawnEntry } from './spawn-process.js';

const waiting = ['k8s-worker', 'pod-monitor', 'result-processor', 'saga-orchestrator', 'event-replay'];

describe('worker entry files', () => {
  it.each(waiting)(
    'when %s starts, then it loads its override and says it has no work yet instead of pretending',
    async (name) => {
      const worker = spawnEntry(`${name}.ts`, ['--config', 'config.test.toml']);
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      const line = await worker.waitForLog((e) => e.process === name);
      expect(line).toMatchObject({
        service: `integr8scode-${name}`,
        consumer_group: `integr8scode-${name}`,
        level: 'warn',
      });
    },
  );

  it('when the dlq-processor starts, then it joins its own consumer group and stops cleanly on SIGTERM', async () => {
    const worker = spawnEntry('dlq-processor.ts', ['--config', 'config.test.toml']);
    const consuming = await worker.waitForLog((e) => e.msg === 'dlq intake consuming');
    expect(consuming).toMatchObject({
      service: 'integr8scode-dlq-processor',
      group: 'integr8scode-dlq-processor',
    });
    const joined = await worker.waitForLog((e) => e.msg === 'dlq intake joined consumer group');
    expect(joined.group).toBe('integr8scode-dlq-processor');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  });

  it('when an override file is missing, then the worker exits 1 naming the path', async () => {
    const worker = spawnEntry('dlq-processor.ts', [
      '--config',
      'config.test.toml',
      '--override',
      'config.nope.toml',
    ]);
    expect((await worker.exited).code).toBe(1);
    expect(worker.lines.some((l) => /config\.nope\.toml: file not found/.test(l))).toBe(true);
  });
});
