import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnections } from '../../src/platform/redis/redis-connections.js';
import {
  compareStreamIds,
  ExecutionEventLog,
  isStreamId,
  parseNotification,
} from '../../src/sse/execution-event-log.js';
import { eventually, testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

describe('ExecutionEventLog against redis-server', () => {
  const settings = testSettings();
  const redis = new RedisConnections({
    host: settings.REDIS_HOST,
    port: settings.REDIS_PORT,
    db: settings.REDIS_DB,
    password: settings.REDIS_PASSWORD,
    maxConnections: 5,
    logger: testLogger(),
  });
  let log: ExecutionEventLog;
  beforeAll(async () => {
    await redis.start();
    log = new ExecutionEventLog(() => redis.commands, { keyPrefix: `it:${uniqueSuffix()}:`, ttlSeconds: 60 });
  });
  afterAll(() => redis.stop());

  const kinds = async (id: string): Promise<string[]> =>
    (await log.readAfter(id, undefined)).map((e) => `${e.kind}:${e.data}`);

  it('when events arrive in order, then they are read back in order, each once', async () => {
    const id = `e-${uniqueSuffix()}`;
    await log.append({ executionId: id, eventId: 'a', kind: 'status', data: { status: 'running' } });
    await log.append({ executionId: id, eventId: 'b', kind: 'output', data: 'hi' });
    expect(await log.append({ executionId: id, eventId: 'b', kind: 'output', data: 'hi' })).toBe(false);
    await log.append({ executionId: id, eventId: 'c', kind: 'terminal', data: 'done', outputChunks: 1 });
    await log.append({ executionId: id, eventId: 'd', kind: 'result', data: 'stored' });
    expect(await kinds(id)).toEqual([
      'status:{"status":"running"}',
      'output:"hi"',
      'terminal:"done"',
      'result:"stored"',
    ]);
  });

  it('when the verdict and result overtake the output, then they are held until the last chunk', async () => {
    const id = `e-${uniqueSuffix()}`;
    await log.append({ executionId: id, eventId: 'r', kind: 'result', data: 'stored' });
    await log.append({ executionId: id, eventId: 't', kind: 'terminal', data: 'done', outputChunks: 2 });
    await log.append({ executionId: id, eventId: 'o1', kind: 'output', data: 1 });
    expect(await kinds(id)).toEqual(['output:1']);
    await log.append({ executionId: id, eventId: 'o2', kind: 'output', data: 2 });
    expect(await kinds(id)).toEqual(['output:1', 'output:2', 'terminal:"done"', 'result:"stored"']);
  });

  const step = (id: string, eventId: string, status: string) =>
    log.append({ executionId: id, eventId, kind: 'status', data: { status } });

  it('when scheduled overtakes queued, then scheduled is held and the log reads queued, scheduled', async () => {
    const id = `e-${uniqueSuffix()}`;
    expect(await step(id, 's', 'scheduled')).toBe(true);
    expect(await kinds(id)).toEqual([]);
    await step(id, 'q', 'queued');
    await step(id, 'r', 'running');
    expect(await kinds(id)).toEqual([
      'status:{"status":"queued"}',
      'status:{"status":"scheduled"}',
      'status:{"status":"running"}',
    ]);
  });

  it('when output arrives while an earlier step is still missing, then the held steps go out first, in order, and the missing one is dropped when it comes', async () => {
    const id = `e-${uniqueSuffix()}`;
    await step(id, 'r', 'running');
    await step(id, 's', 'scheduled');
    await log.append({ executionId: id, eventId: 'o', kind: 'output', data: 'x' });
    await step(id, 'q', 'queued');
    expect(await kinds(id)).toEqual([
      'status:{"status":"scheduled"}',
      'status:{"status":"running"}',
      'output:"x"',
    ]);
  });

  it('when a step arrives after the verdict or repeats one already written, then it is dropped', async () => {
    const id = `e-${uniqueSuffix()}`;
    await step(id, 'q', 'queued');
    await step(id, 'q2', 'queued');
    await log.append({ executionId: id, eventId: 't', kind: 'terminal', data: 'done', outputChunks: 0 });
    await step(id, 'r', 'running');
    expect(await kinds(id)).toEqual(['status:{"status":"queued"}', 'terminal:"done"']);
  });

  it('when the verdict arrives with steps held, then they go out before it', async () => {
    const id = `e-${uniqueSuffix()}`;
    await step(id, 's', 'scheduled');
    await log.append({ executionId: id, eventId: 't', kind: 'terminal', data: 'done', outputChunks: 0 });
    expect(await kinds(id)).toEqual(['status:{"status":"scheduled"}', 'terminal:"done"']);
  });

  it('when a second verdict arrives, then only the first is kept', async () => {
    const id = `e-${uniqueSuffix()}`;
    await log.append({
      executionId: id,
      eventId: 't1',
      kind: 'terminal',
      data: 'completed',
      outputChunks: 0,
    });
    expect(
      await log.append({
        executionId: id,
        eventId: 't2',
        kind: 'terminal',
        data: 'timeout',
        outputChunks: 0,
      }),
    ).toBe(false);
    expect(await kinds(id)).toEqual(['terminal:"completed"']);
  });

  it('when reading after an id, then exactly the later entries come back (resume without gaps)', async () => {
    const id = `e-${uniqueSuffix()}`;
    for (let i = 0; i < 5; i++)
      await log.append({ executionId: id, eventId: `o${i}`, kind: 'output', data: i });
    const all = await log.readAfter(id, undefined);
    const after = await log.readAfter(id, all[1]!.id);
    expect(after.map((e) => e.data)).toEqual(['2', '3', '4']);
    expect(isStreamId(all[1]!.id)).toBe(true);
    expect(isStreamId('abc')).toBe(false);
  });

  it('when entries are appended, then each wake-up carries the entries it added and the id before them', async () => {
    const id = `e-${uniqueSuffix()}`;
    const sub = await redis.dedicated('sub');
    const got: { channel: string; message: string }[] = [];
    sub.on('message', (channel: string, message: string) => got.push({ channel, message }));
    await sub.subscribe(log.channel(id));
    await log.append({ executionId: id, eventId: 's', kind: 'status', data: { status: 'queued' } });
    // The terminal entry waits for its output chunk: no wake-up for it alone.
    await log.append({ executionId: id, eventId: 't', kind: 'terminal', data: 'done', outputChunks: 1 });
    await log.append({ executionId: id, eventId: 'o', kind: 'output', data: 'hi/"é"' });
    await eventually(() => (got.length >= 2 ? true : undefined), { timeoutMs: 5_000, what: 'two wake-ups' });

    const stored = await log.readAfter(id, undefined);
    expect(got.every((m) => m.channel === log.channel(id))).toBe(true);
    const [first, second] = got.map((m) => parseNotification(m.message));
    expect(first).toEqual({ prev: '', entries: [stored[0]] });
    // The output chunk released the terminal entry: both in one wake-up, in stream order.
    expect(second).toEqual({ prev: stored[0]!.id, entries: [stored[1], stored[2]] });
    expect(stored.map((e) => e.kind)).toEqual(['status', 'output', 'terminal']);
    expect(got).toHaveLength(2);
    await redis.release(sub);
  });

  it('when a message is not a wake-up of the log, then parseNotification refuses it', () => {
    expect(parseNotification('1')).toBeNull();
    expect(parseNotification('{"prev":"","entries":[{"id":"x","kind":"status","data":"1"}]}')).toBeNull();
    expect(parseNotification('{"prev":"","entries":[{"id":"1-0","kind":"other","data":"1"}]}')).toBeNull();
    expect(compareStreamIds('1-10', '1-9')).toBe(1);
    expect(compareStreamIds('1700000000000-0', '1700000000001-0')).toBe(-1);
    expect(compareStreamIds('5-5', '5-5')).toBe(0);
  });
});
