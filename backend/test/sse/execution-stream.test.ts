import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution, ExecutionStatus } from '../../src/executions/execution.js';
import { redisFromSettings } from '../../src/platform/clients.js';
import { createLogger } from '../../src/platform/logging/logger.js';
import {
  ExecutionEventLog,
  parseNotification,
  type AppendInput,
  type LogEntry,
} from '../../src/sse/execution-event-log.js';
import { ExecutionStreamHub } from '../../src/sse/execution-stream-hub.js';
import { streamExecution } from '../../src/sse/execution-stream.js';
import { executionFixture } from '../worker/worker-harness.js';
import { eventually, testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

/** The real event log, counting the stream reads the SSE handler makes. */
class CountingLog extends ExecutionEventLog {
  reads = 0;
  /** What the latest read returned. */
  lastRead: LogEntry[] = [];
  /** Runs once, inside the next read before it reaches Redis: lets a test overlap a read with wake-ups. */
  beforeNextRead: (() => Promise<void>) | undefined;
  override async readAfter(executionId: string, afterId: string | undefined, count?: number) {
    this.reads += 1;
    const before = this.beforeNextRead;
    this.beforeNextRead = undefined;
    await before?.();
    this.lastRead = await super.readAfter(executionId, afterId, count);
    return this.lastRead;
  }
}

interface Frame {
  id?: string;
  event: string;
  data: string;
}

function parseFrames(text: string): Frame[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const frame: Frame = { event: '', data: '' };
      for (const line of block.split('\n')) {
        const at = line.indexOf(': ');
        const [key, value] = [line.slice(0, at), line.slice(at + 2)];
        if (key === 'id') frame.id = value;
        if (key === 'event') frame.event = value;
        if (key === 'data') frame.data = value;
      }
      return frame;
    });
}

describe('SSE execution stream against redis-server (log, hub, handler)', () => {
  const redis = redisFromSettings(testSettings(), testLogger());
  const logged: string[] = [];
  const streamLogger = createLogger({
    service: 'test',
    version: '0',
    level: 'warn',
    destination: { write: (line: string) => void logged.push(line) },
  });
  const hub = new ExecutionStreamHub(redis, testLogger());
  let log: CountingLog;
  let server: Server;
  /** The status Mongo would hold when a client connects (its first frame); queued unless set. */
  const storedStatus = new Map<string, ExecutionStatus>();
  let base = '';

  beforeAll(async () => {
    await redis.start();
    await hub.start();
    log = new CountingLog(() => redis.commands, { keyPrefix: `it:${uniqueSuffix()}:`, ttlSeconds: 60 });
    const app = express();
    app.get('/stream/:id', (req, res) => {
      const execution = executionFixture({
        id: req.params.id,
        lang: 'python',
        langVersion: '3.11',
        script: 'print(1)',
        status: storedStatus.get(req.params.id) ?? 'queued',
      });
      const final: Execution = { ...execution, status: 'completed' };
      void streamExecution(res, {
        execution,
        reload: () => Promise.resolve(final),
        log,
        hub,
        lastEventId: req.header('last-event-id'),
        heartbeatMs: 60_000,
        renderResult: (e) => ({ status: e.status }),
        logger: streamLogger,
      });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await hub.stop();
    await redis.stop();
  });

  /** Opens the stream and collects its text until the server closes it. */
  function open(id: string, lastEventId?: string): { text: () => string; closed: Promise<void> } {
    let text = '';
    const closed = (async () => {
      const response = await fetch(`${base}/stream/${id}`, {
        headers: lastEventId ? { 'Last-Event-ID': lastEventId } : {},
      });
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
      }
    })();
    return { text: () => text, closed };
  }

  const append = (id: string, input: Omit<AppendInput, 'executionId'>) =>
    log.append({ executionId: id, ...input });

  it('when entries are appended while a client follows, then they go out in order from the wake-ups, without reading the stream again', async () => {
    const id = `e-${uniqueSuffix()}`;
    await append(id, { eventId: 'q', kind: 'status', data: { status: 'queued' } });
    await append(id, { eventId: 's', kind: 'status', data: { status: 'scheduled' } });
    const readsBefore = log.reads;
    const client = open(id);
    await eventually(() => (client.text().includes('"scheduled"') ? true : undefined), {
      what: 'the logged status',
    });
    for (let i = 0; i < 5; i++) await append(id, { eventId: `o${i}`, kind: 'output', data: { seq: i } });
    await append(id, { eventId: 't', kind: 'terminal', data: { verdict: 'completed' }, outputChunks: 5 });
    await append(id, { eventId: 'r', kind: 'result', data: { verdict: 'completed' } });
    await client.closed;

    const frames = parseFrames(client.text());
    expect(frames.map((f) => f.event)).toEqual([
      'status',
      'status',
      'output',
      'output',
      'output',
      'output',
      'output',
      'terminal',
      'result',
    ]);
    expect(
      frames.filter((f) => f.event === 'output').map((f) => (JSON.parse(f.data) as { seq: number }).seq),
    ).toEqual([0, 1, 2, 3, 4]);
    expect(JSON.parse(frames.at(-1)!.data)).toEqual({ status: 'completed' });
    // One read when the client connected; every later entry came with its wake-up.
    expect(log.reads - readsBefore).toBe(1);
  });

  it('when the stored status is already past the logged steps, then the client sees no step back', async () => {
    const id = `e-${uniqueSuffix()}`;
    storedStatus.set(id, 'running');
    await append(id, { eventId: 'q', kind: 'status', data: { status: 'queued' } });
    await append(id, { eventId: 's', kind: 'status', data: { status: 'scheduled' } });
    await append(id, { eventId: 'r', kind: 'status', data: { status: 'running' } });
    await append(id, { eventId: 'o', kind: 'output', data: { seq: 0 } });
    await append(id, { eventId: 't', kind: 'terminal', data: { verdict: 'completed' }, outputChunks: 1 });
    await append(id, { eventId: 'x', kind: 'result', data: { verdict: 'completed' } });
    const client = open(id);
    await client.closed;

    const frames = parseFrames(client.text());
    expect(frames.map((f) => f.event)).toEqual(['status', 'output', 'terminal', 'result']);
    expect(JSON.parse(frames[0]!.data)).toEqual({ execution_id: id, status: 'running' });
  });

  it('when reading the log fails mid-stream, then the error frame is generic and the Redis error text goes to the log only', async () => {
    const id = `e-${uniqueSuffix()}`;
    const redisText = `WRONGTYPE Operation against a key holding the wrong kind of value ${uniqueSuffix()}`;
    log.beforeNextRead = () => Promise.reject(new Error(redisText));
    const client = open(id);
    await client.closed;

    const frames = parseFrames(client.text());
    expect(frames.map((f) => f.event)).toEqual(['status', 'error']);
    expect(JSON.parse(frames[1]!.data)).toEqual({
      detail: 'stream interrupted; reconnect with Last-Event-ID to resume',
    });
    expect(client.text()).not.toContain('WRONGTYPE');
    const line = logged.find((l) => l.includes(redisText));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ msg: 'SSE stream interrupted', execution_id: id });
  });

  it('when a client resumes with Last-Event-ID while entries keep coming, then it gets each later entry exactly once', async () => {
    const id = `e-${uniqueSuffix()}`;
    for (let i = 0; i < 3; i++) await append(id, { eventId: `o${i}`, kind: 'output', data: { seq: i } });
    const stored = await log.readAfter(id, undefined);
    // The client's first read waits until five more entries were appended and their wake-ups
    // reached this process (the hub calls every watcher of a message at once, so the client's
    // handler has them queued behind the read): those five are then both read and announced.
    let announced = 0;
    const unwatch = await hub.watch(log.channel(id), (message) => {
      announced += parseNotification(message)?.entries.length ?? 0;
    });
    log.beforeNextRead = async () => {
      for (let i = 3; i < 8; i++) await append(id, { eventId: `o${i}`, kind: 'output', data: { seq: i } });
      await eventually(() => (announced === 5 ? true : undefined), { what: 'five wake-ups' });
    };
    const readsBefore = log.reads;
    const client = open(id, stored[0]!.id);
    await eventually(() => (log.lastRead.length === 7 ? true : undefined), { what: 'the overlapping read' });
    await append(id, { eventId: 't', kind: 'terminal', data: { verdict: 'completed' }, outputChunks: 8 });
    await append(id, { eventId: 'r', kind: 'result', data: { verdict: 'completed' } });
    await client.closed;
    await unwatch();

    // One read, which also covered the entries announced while it was under way; the terminal
    // entry and the result then came with their wake-ups.
    expect(log.reads - readsBefore).toBe(1);
    expect(log.lastRead.map((e) => (JSON.parse(e.data) as { seq: number }).seq)).toEqual([
      1, 2, 3, 4, 5, 6, 7,
    ]);
    expect(announced).toBe(7);
    const frames = parseFrames(client.text()).slice(1);
    const seqs = frames
      .filter((f) => f.event === 'output')
      .map((f) => (JSON.parse(f.data) as { seq: number }).seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(frames.at(-2)?.event).toBe('terminal');
    expect(frames.at(-1)?.event).toBe('result');
    const ids = frames.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
