import { describe, expect, it } from 'vitest';
import { createKafka } from '../../src/platform/kafka/client.js';
import { eventually, testLogger } from '../test-logger.js';
import { testSettings } from '../test-settings.js';
import { spawnEntry } from './spawn-process.js';

const waiting = ['pod-monitor'];

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

  it('when the saga-orchestrator starts, then it consumes in its own group and stops cleanly on SIGTERM', async () => {
    const worker = spawnEntry('saga-orchestrator.ts', ['--config', 'config.test.toml']);
    const started = await worker.waitForLog((e) => e.msg === 'saga orchestrator started');
    expect(started).toMatchObject({
      service: 'integr8scode-saga-orchestrator',
      group_id: 'integr8scode-saga-orchestrator',
    });
    const consuming = await worker.waitForLog((e) => e.msg === 'consumer started');
    expect(consuming.topics).toEqual(
      expect.arrayContaining(['test.execution_requested', 'test.execution_completed']),
    );
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.lines.some((l) => l.includes('"saga orchestrator stopped"'))).toBe(true);
  });

  it('when the result-processor starts, then it consumes in its own group and stops cleanly on SIGTERM', async () => {
    const worker = spawnEntry('result-processor.ts', ['--config', 'config.test.toml']);
    const consuming = await worker.waitForLog((e) => e.msg === 'consumer started');
    expect(consuming).toMatchObject({
      service: 'integr8scode-result-processor',
      group_id: 'integr8scode-result-processor',
    });
    expect(consuming.topics).toEqual(
      expect.arrayContaining(['test.execution_started', 'test.execution_timeout']),
    );
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.lines.some((l) => l.includes('"consumer stopped"'))).toBe(true);
  });

  it('when the event-replay process starts, then it consumes every catalog topic in its own group and stops cleanly on SIGTERM', async () => {
    const worker = spawnEntry('event-replay.ts', ['--config', 'config.test.toml']);
    const consuming = await worker.waitForLog((e) => e.msg === 'consumer started');
    expect(consuming).toMatchObject({
      service: 'integr8scode-event-replay',
      group_id: 'integr8scode-event-replay',
    });
    expect(consuming.topics).toEqual(
      expect.arrayContaining(['test.execution_requested', 'test.user_logged_in', 'test.result_stored']),
    );
    await worker.waitForLog((e) => e.msg === 'event retention scheduled');
    const admin = createKafka(testSettings(), testLogger()).admin();
    await admin.connect();
    try {
      await eventually(
        async () => {
          const { groups } = await admin.describeGroups(['integr8scode-event-replay']);
          const group = groups[0];
          return group?.state === 'Stable' && group.members.length === 1 ? true : undefined;
        },
        { what: 'the event-replay group with its member', timeoutMs: 30_000 },
      );
    } finally {
      await admin.disconnect();
    }
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.lines.some((l) => l.includes('"consumer stopped"'))).toBe(true);
  });

  it('when the k8s-worker starts, then it advertises its runtimes and stops cleanly on SIGTERM', async () => {
    const prefix = `proc.${Date.now()}.`;
    const worker = spawnEntry('k8s-worker.ts', ['--config', 'config.test.toml'], {
      INTEGR8SCODE_KAFKA_TOPIC_PREFIX: prefix,
    });
    const advertised = await worker.waitForLog((e) => e.msg === 'executor advertised', 60_000);
    expect(advertised.service).toBe('integr8scode-k8s-worker');
    await worker.waitForLog((e) => e.msg === 'pod manager started', 60_000);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.lines.some((l) => l.includes('"executor advert withdrawn"'))).toBe(true);
  });

  it.each(['k8s-worker.ts', 'pod-monitor.ts'])(
    'when the kubernetes backend has no kubeconfig, then %s exits 1 naming the path',
    async (entry) => {
      const worker = spawnEntry(entry, ['--config', 'config.test.toml'], {
        INTEGR8SCODE_EXECUTOR_BACKEND: 'kubernetes',
        INTEGR8SCODE_KUBERNETES_CONFIG_PATH: '/nonexistent/kubeconfig',
      });
      expect((await worker.exited).code).toBe(1);
      expect(
        worker.lines.some((l) =>
          l.includes(
            'cannot connect to Kubernetes: no Kubernetes configuration: KUBERNETES_CONFIG_PATH (/nonexistent/kubeconfig) does not exist',
          ),
        ),
      ).toBe(true);
    },
  );

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
