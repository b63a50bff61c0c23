import { describe, expect, it } from 'vitest';
import type { Execution } from '../../src/executions/execution.js';
import { ExecutionRepository } from '../../src/executions/execution-repository.js';
import { useThrowawayMongo } from '../mongo/throwaway-mongo.js';
import { uniqueSuffix } from '../test-settings.js';

function execution(overrides: Partial<Execution> = {}): Execution {
  const now = new Date();
  return {
    id: `exec-${uniqueSuffix()}`,
    userId: 'u-1',
    lang: 'python',
    langVersion: '3.11',
    script: 'print(1)',
    stdin: '',
    args: [],
    limits: {
      wall_seconds: 5,
      cpu_seconds: 5,
      memory_bytes: 1 << 27,
      max_processes: 32,
      max_file_bytes: 1 << 20,
      max_output_bytes: 1 << 16,
    },
    priority: 'normal',
    status: 'queued',
    requestPublished: false,
    outcome: null,
    createdAt: now,
    updatedAt: now,
    scheduledAt: null,
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

const outcome = {
  exitCode: 0,
  signal: null,
  stdout: Buffer.from([0x68, 0x69, 0xff]),
  stderr: Buffer.alloc(0),
  outputTruncated: false,
  resourceUsage: { wall_seconds: 0.02, cpu_seconds: 0.01, peak_memory_bytes: 4096 },
  reason: null,
};

describe('ExecutionRepository against the Mongo wire server', () => {
  const repo = new ExecutionRepository(useThrowawayMongo());

  it('when an execution moves forward, then each step applies once and stamps its time', async () => {
    const e = execution();
    await repo.create(e);
    expect((await repo.advance(e.id, 'scheduled'))?.status).toBe('scheduled');
    expect(await repo.advance(e.id, 'scheduled')).toBeNull();
    const running = await repo.advance(e.id, 'running');
    expect(running?.status).toBe('running');
    expect(running?.startedAt).toBeInstanceOf(Date);
    expect(await repo.advance(e.id, 'queued')).toBeNull();
  });

  it('when two verdicts race, then the first one wins and its output bytes are kept exactly', async () => {
    const e = execution();
    await repo.create(e);
    const first = await repo.advance(e.id, 'completed', { outcome });
    expect(first?.status).toBe('completed');
    expect(await repo.advance(e.id, 'timeout', { outcome: { ...outcome, reason: 'late' } })).toBeNull();
    const stored = await repo.findById(e.id);
    expect(stored?.status).toBe('completed');
    expect(stored?.outcome?.stdout.equals(outcome.stdout)).toBe(true);
    expect(stored?.finishedAt).toBeInstanceOf(Date);
  });

  it('when a late running event arrives after the verdict, then the verdict stays', async () => {
    const e = execution();
    await repo.create(e);
    await repo.advance(e.id, 'cancelled', { outcome: { ...outcome, exitCode: null } });
    expect(await repo.advance(e.id, 'running')).toBeNull();
    expect((await repo.findById(e.id))?.status).toBe('cancelled');
  });

  it('when listing with filters and paging, then only the user’s matching executions return, newest first', async () => {
    const user = `u-${uniqueSuffix()}`;
    const base = Date.now();
    for (let i = 0; i < 5; i++) {
      await repo.create(
        execution({ userId: user, createdAt: new Date(base + i), lang: i % 2 ? 'node' : 'python' }),
      );
    }
    const page = await repo.list({ userId: user, limit: 2, offset: 1 });
    expect(page.total).toBe(5);
    expect(page.items.map((x) => x.createdAt.getTime())).toEqual([base + 3, base + 2]);
    expect((await repo.list({ userId: user, lang: 'node', limit: 10, offset: 0 })).total).toBe(2);
  });

  it('when the request was never published, then it is found for republishing until marked', async () => {
    const e = execution({ createdAt: new Date(Date.now() - 60_000) });
    await repo.create(e);
    expect((await repo.unpublishedBefore(new Date())).map((x) => x.id)).toContain(e.id);
    await repo.markRequestPublished(e.id);
    expect((await repo.unpublishedBefore(new Date())).map((x) => x.id)).not.toContain(e.id);
  });

  it('when an active execution has not moved for a while, then it is reported stale', async () => {
    const old = new Date(Date.now() - 120_000);
    const e = execution({ status: 'running', updatedAt: old });
    await repo.create(e);
    const stale = await repo.staleActive(['running'], new Date(Date.now() - 60_000), 1000);
    expect(stale.map((x) => x.id)).toContain(e.id);
  });
});
