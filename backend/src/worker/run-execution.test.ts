import { describe, expect, it } from 'vitest';
import { createPlatformCatalog, type PlatformEvent, type PlatformEventOf } from '../events/definitions.js';
import { ExecutionEvents, stableEventId } from '../executions/execution-events.js';
import type { ParkResult } from '../executions/run-outbox-repository.js';
import type { ExecutionOutcome } from '../executor/executor-backend.js';
import type { HandlerContext } from '../platform/kafka/handler.js';
import { createLogger } from '../platform/logging/logger.js';
import { runCreatePodCommand, type RunExecutionDeps } from './run-execution.js';
import { RunningExecutions } from './running-executions.js';

const catalog = createPlatformCatalog('t.');
const logger = createLogger({ service: 'run-execution-test', version: '0', level: 'silent' });
const ID = 'exec-1';

/** What the broker does with each publish call, in order; the last one repeats. */
type Broker = Array<'ok' | 'down' | 'hang' | 'refuse'>;

function world(broker: Broker, options: { outboxFull?: boolean; outboxHolds?: boolean } = {}) {
  const published: PlatformEvent[] = [];
  const parked: Array<{ id: string; events: readonly unknown[] }> = [];
  let call = 0;
  let runs = 0;
  let wakes = 0;
  const producer = {
    publishMany: (events: readonly PlatformEvent[]): Promise<void> => {
      const next = broker[Math.min(call++, broker.length - 1)];
      if (next === 'ok') {
        published.push(...events);
        return Promise.resolve();
      }
      if (next === 'hang') return new Promise<void>(() => undefined);
      if (next === 'refuse')
        return Promise.reject(Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' }));
      return Promise.reject(new Error('Connection error: ECONNREFUSED'));
    },
  };
  const backend: RunExecutionDeps['backend'] = {
    run: async (_request, sink) => {
      runs++;
      sink.started({});
      sink.output('stdout', Buffer.from('one\n'));
      await new Promise((r) => setTimeout(r, 30));
      sink.output('stdout', Buffer.from('two\n'));
      await new Promise((r) => setTimeout(r, 30));
      return outcomeWith('one\ntwo\n');
    },
  };
  const deps: RunExecutionDeps = {
    backend,
    backendName: 'local',
    executions: { findById: () => Promise.resolve(null) },
    events: new ExecutionEvents(producer, catalog, { serviceName: 'test', serviceVersion: '0' }),
    running: new RunningExecutions(),
    flushMs: 5,
    outbox: {
      park: (entry): Promise<ParkResult> => {
        if (options.outboxFull) return Promise.resolve('full');
        parked.push(entry);
        return Promise.resolve('parked');
      },
      holds: () => Promise.resolve(options.outboxHolds ?? false),
    },
    outboxMaxBytes: 1 << 20,
    outboxAfterMs: 100,
    parked: () => {
      wakes++;
    },
  };
  return {
    deps,
    published,
    parked,
    get runs() {
      return runs;
    },
    get wakes() {
      return wakes;
    },
  };
}

function outcomeWith(stdout: string): ExecutionOutcome {
  return {
    verdict: 'completed',
    exitCode: 0,
    signal: null,
    stdout: Buffer.from(stdout),
    stderr: Buffer.alloc(0),
    outputTruncated: false,
    wallSeconds: 0.06,
    cpuSeconds: 0.01,
    peakMemoryBytes: 1024,
  };
}

function command(): PlatformEventOf<'create_pod_command'> {
  return catalog.build(
    'create_pod_command',
    ID,
    {
      execution_id: ID,
      saga_id: ID,
      user_id: 'u1',
      lang: 'python',
      lang_version: '3.11',
      script: 'print(1)',
      stdin: '',
      args: [],
      limits: {
        wall_seconds: 5,
        cpu_seconds: 5,
        memory_bytes: 1 << 27,
        max_processes: 8,
        max_file_bytes: 1 << 20,
        max_output_bytes: 1 << 16,
      },
    },
    { service_name: 'test', service_version: '0', user_id: 'u1', correlation_id: ID },
  );
}

function ctx(): HandlerContext {
  return {
    topic: 't.create_pod_command',
    partition: 0,
    offset: '0',
    headers: {},
    attempt: 1,
    logger,
    signal: new AbortController().signal,
  };
}

type Envelope = { event_type: string; event_id: string; payload: Record<string, unknown> };
const types = (events: readonly unknown[]) => (events as Envelope[]).map((e) => e.event_type);

describe('runCreatePodCommand when Kafka is away', () => {
  it('when every publish fails, then the run still completes and its output and terminal event are parked in the outbox, output_chunks counting them', async () => {
    const w = world(['down']);
    const handled = await runCreatePodCommand(w.deps, command(), ctx());
    expect(handled).toEqual({ kind: 'done' });
    expect(w.runs).toBe(1);
    expect(w.parked).toHaveLength(1);
    const entry = w.parked[0]!;
    const events = entry.events as Envelope[];
    const terminal = events.at(-1)!;
    expect(terminal.event_type).toBe('execution_completed');
    expect(entry.id).toBe(stableEventId(`${ID}/terminal`));
    expect(terminal.event_id).toBe(entry.id);
    expect(Buffer.from(String(terminal.payload.stdout_b64), 'base64').toString()).toBe('one\ntwo\n');
    const outputs = events.filter((e) => e.event_type === 'execution_output');
    expect(terminal.payload.output_chunks).toBe(outputs.length);
    expect(outputs.map((e) => e.payload.seq)).toEqual([...outputs.keys()]);
    expect(outputs.map((e) => e.event_id)).toEqual(
      outputs.map((_, seq) => stableEventId(`${ID}/output/${seq}`)),
    );
    expect(w.wakes).toBe(1);
  });

  it('when live output goes out but the terminal publish fails, then only the last events are parked and output_chunks counts all chunks', async () => {
    const w = world(['ok', 'ok', 'ok', 'down']);
    await runCreatePodCommand(w.deps, command(), ctx());
    const liveOutputs = w.published.filter((e) => e.event_type === 'execution_output');
    const parked = w.parked[0]!.events as Envelope[];
    const terminal = parked.at(-1)!;
    const parkedOutputs = parked.filter((e) => e.event_type === 'execution_output');
    expect(terminal.payload.output_chunks).toBe(liveOutputs.length + parkedOutputs.length);
    expect(liveOutputs.length).toBeGreaterThan(0);
  });

  it('when the terminal publish hangs past WORKER_OUTBOX_AFTER_MS, then the events are parked without waiting for it', async () => {
    const w = world(['ok', 'ok', 'ok', 'hang']);
    const started = Date.now();
    const handled = await runCreatePodCommand(w.deps, command(), ctx());
    expect(handled).toEqual({ kind: 'done' });
    expect(types(w.parked[0]!.events).at(-1)).toBe('execution_completed');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('when the broker is up, then nothing is parked and the terminal event carries its stable id', async () => {
    const w = world(['ok']);
    await runCreatePodCommand(w.deps, command(), ctx());
    expect(w.parked).toHaveLength(0);
    expect(w.published.at(-1)?.event_id).toBe(stableEventId(`${ID}/terminal`));
  });

  it('when the outbox is full, then the command fails so that it is retried, as before the outbox', async () => {
    const w = world(['down'], { outboxFull: true });
    await expect(runCreatePodCommand(w.deps, command(), ctx())).rejects.toThrow('ECONNREFUSED');
  });

  it('when the broker refuses the records, then they are not parked (the relay could not send them either)', async () => {
    const w = world(['ok', 'ok', 'ok', 'refuse']);
    await expect(runCreatePodCommand(w.deps, command(), ctx())).rejects.toThrow('too large');
    expect(w.parked).toHaveLength(0);
  });

  it('when the outbox already holds the execution, then the command is skipped without running the script again', async () => {
    const w = world(['ok'], { outboxHolds: true });
    expect(await runCreatePodCommand(w.deps, command(), ctx())).toEqual({ kind: 'done' });
    expect(w.runs).toBe(0);
    expect(w.published).toHaveLength(0);
  });
});
