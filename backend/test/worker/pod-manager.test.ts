import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformEventOf } from '../../src/events/definitions.js';
import { LocalExecutor } from '../../src/executor/local/local-executor.js';
import { eventually } from '../test-logger.js';
import { resultOf, type Recorded } from '../kafka/event-recorder.js';
import { WorkerWorld } from './worker-harness.js';

// Real Kafka/Mongo/Redis and real sandboxed runs (needs scripts/install-sandbox.sh, like
// test/executor). The test stands in for the saga orchestrator: it inserts the execution record
// and publishes create_pod_command / delete_pod_command itself.
let executor: LocalExecutor;
let python = '';
let world: WorkerWorld | undefined;

beforeAll(async () => {
  executor = new LocalExecutor({ logger: pino({ level: 'warn' }) });
  await executor.start();
  python = executor.runtimes().find((r) => r.lang === 'python')?.version ?? '';
  expect(python).not.toBe('');
}, 300_000);

afterAll(async () => {
  await executor?.stop();
});

afterEach(async () => {
  await world?.stop();
  world = undefined;
});

async function startWorld(env: Record<string, string> = {}): Promise<WorkerWorld> {
  world = new WorkerWorld(executor, env);
  await world.start();
  return world;
}

function outputs(recorded: Recorded[]): PlatformEventOf<'execution_output'>['payload'][] {
  return recorded.flatMap((r) => (r.event.event_type === 'execution_output' ? [r.event.payload] : []));
}

const text = (b64: string) => Buffer.from(b64, 'base64').toString();

describe('k8s worker with the local backend', () => {
  it('when it starts, then create_pod_command has 2 × MAX_CONCURRENT_EXECUTIONS partitions and the advert lists python until stop', async () => {
    const w = await startWorld();
    // The topic existed with 1 partition (created "by another process"); the worker raised it.
    expect(await w.partitionCount(w.commandTopic)).toBe(4);
    const advert = await w.directory.current();
    expect(advert).toMatchObject({ backend: 'local' });
    expect(advert?.runtimes.map((r) => r.lang)).toContain('python');
    expect(advert?.enforcement.network).toBeTruthy();

    await w.manager.stop();
    await w.advertiser.stop();
    expect(await w.directory.current()).toBeNull();
  });

  it('when hello world python runs, then started, output whose concatenation is "hello\\n", and completed with exit 0 and the right output_chunks are published', async () => {
    const w = await startWorld();
    const execution = await w.createExecution('python', python, 'print("hello")\n');
    await w.sendCreatePod(execution);

    const terminal = await w.recorder.terminalOf(execution.id);
    const events = w.recorder.of(execution.id);
    expect(events[0]?.event).toMatchObject({
      event_type: 'execution_started',
      payload: { execution_id: execution.id, backend: 'local' },
    });
    const result = resultOf(terminal);
    expect(terminal.event.event_type).toBe('execution_completed');
    expect(result).toMatchObject({
      verdict: 'completed',
      exit_code: 0,
      signal: null,
      output_truncated: false,
    });
    expect(text(result.stdout_b64)).toBe('hello\n');
    // Every output event was on Kafka before or with the terminal one: once caught up, all are here.
    await w.recorder.caughtUp();
    expect(outputs(w.recorder.of(execution.id))).toHaveLength(result.output_chunks);
    const chunks = outputs(w.recorder.of(execution.id)).sort((a, b) => a.seq - b.seq);
    expect(result.output_chunks).toBeGreaterThan(0);
    expect(chunks.map((c) => c.seq)).toEqual([...Array(result.output_chunks).keys()]);
    expect(chunks.map((c) => text(c.data_b64)).join('')).toBe('hello\n');
    expect(chunks.every((c) => c.stream === 'stdout')).toBe(true);
    expect(result.resource_usage?.wall_seconds).toBeGreaterThan(0);
  });

  it('when a script prints lines with pauses, then several output events arrive before the terminal one, in seq order', async () => {
    const w = await startWorld();
    const script =
      'import sys, time\nfor i in range(4):\n    print(f"line {i}", flush=True)\n    time.sleep(0.3)\nprint("err", file=sys.stderr)\n';
    const execution = await w.createExecution('python', python, script);
    await w.sendCreatePod(execution);

    const terminal = await w.recorder.terminalOf(execution.id);
    const before = outputs(w.recorder.of(execution.id).filter((r) => r.at < terminal.at));
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.map((c) => c.seq)).toEqual([...before.keys()]);
    const result = resultOf(terminal);
    await w.recorder.caughtUp();
    expect(outputs(w.recorder.of(execution.id))).toHaveLength(result.output_chunks);
    const all = outputs(w.recorder.of(execution.id));
    expect(all.map((c) => c.seq)).toEqual([...all.keys()]);
    expect(
      all
        .filter((c) => c.stream === 'stdout')
        .map((c) => text(c.data_b64))
        .join(''),
    ).toBe('line 0\nline 1\nline 2\nline 3\n');
    expect(all.at(-1)).toMatchObject({ stream: 'stderr' });
  });

  it('when a script alternates 1-byte writes to stdout and stderr for 20 KB, then at most two output events per 20 ms of its run are published and the result holds all of it', async () => {
    const w = await startWorld();
    // Unbuffered (-u) and flushed: every write is its own write(2), so the launcher reads bytes.
    const script =
      'import sys\nfor i in range(10_000):\n    sys.stdout.write("o"); sys.stdout.flush()\n    sys.stderr.write("e"); sys.stderr.flush()\n';
    const execution = await w.createExecution('python', python, script);
    await w.sendCreatePod(execution);
    const result = resultOf(await w.recorder.terminalOf(execution.id));
    expect(text(result.stdout_b64)).toBe('o'.repeat(10_000));
    expect(text(result.stderr_b64)).toBe('e'.repeat(10_000));
    await w.recorder.caughtUp();
    const all = outputs(w.recorder.of(execution.id)).sort((a, b) => a.seq - b.seq);
    expect(all).toHaveLength(result.output_chunks);
    // LiveOutput's window is 20 ms: one chunk per stream per window, plus the last batch.
    const wallMs = (result.resource_usage?.wall_seconds ?? 0) * 1000;
    expect(all.length).toBeLessThanOrEqual(2 * Math.ceil(wallMs / 20) + 2);
    expect(all.length).toBeLessThan(1000);
    const streamed = (stream: string) =>
      all
        .filter((c) => c.stream === stream)
        .map((c) => text(c.data_b64))
        .join('');
    expect(streamed('stdout')).toBe('o'.repeat(10_000));
    expect(streamed('stderr')).toBe('e'.repeat(10_000));
  });

  it('when a run would publish more than EXECUTION_MAX_OUTPUT_EVENTS output events, then live output stops at the cap and the result holds all output', async () => {
    const w = await startWorld({ INTEGR8SCODE_EXECUTION_MAX_OUTPUT_EVENTS: '3' });
    const script = 'import time\nfor i in range(8):\n    print(i, flush=True)\n    time.sleep(0.05)\n';
    const execution = await w.createExecution('python', python, script);
    await w.sendCreatePod(execution);
    const result = resultOf(await w.recorder.terminalOf(execution.id));
    expect(text(result.stdout_b64)).toBe('0\n1\n2\n3\n4\n5\n6\n7\n');
    expect(result.output_chunks).toBe(3);
    await w.recorder.caughtUp();
    const all = outputs(w.recorder.of(execution.id)).sort((a, b) => a.seq - b.seq);
    expect(all.map((c) => c.seq)).toEqual([0, 1, 2]);
    expect(all.map((c) => text(c.data_b64)).join('')).toBe('0\n1\n2\n');
  });

  it('when the script exits non-zero, then execution_completed carries that exit code', async () => {
    const w = await startWorld();
    const execution = await w.createExecution('python', python, 'import sys\nsys.exit(7)\n');
    await w.sendCreatePod(execution);
    const terminal = await w.recorder.terminalOf(execution.id);
    expect(terminal.event.event_type).toBe('execution_completed');
    expect(resultOf(terminal)).toMatchObject({ verdict: 'completed', exit_code: 7, output_chunks: 0 });
  });

  it('when the execution is already terminal in Mongo, then the command is committed and nothing is published', async () => {
    const w = await startWorld();
    const execution = await w.createExecution('python', python, 'print("never")\n', 'completed');
    await w.sendCreatePod(execution);
    await eventually(async () => ((await w.committedCommands()) === 1 ? true : undefined), {
      what: 'the command committed',
    });
    await w.recorder.caughtUp();
    expect(w.recorder.of(execution.id)).toEqual([]);
  });

  it('when delete_pod_command arrives mid-run, then the run ends as execution_cancelled within 2 s', async () => {
    const w = await startWorld();
    const execution = await w.createExecution(
      'python',
      python,
      'import time\nprint("tick", flush=True)\ntime.sleep(8)\nprint("never")\n',
    );
    await w.sendCreatePod(execution);
    await eventually(() => (outputs(w.recorder.of(execution.id)).length > 0 ? true : undefined), {
      what: 'first output',
    });

    const sentAt = Date.now();
    await w.sendDeletePod(execution.id);
    const terminal = await w.recorder.terminalOf(execution.id, 5_000);
    expect(terminal.at - sentAt).toBeLessThan(2_000);
    expect(terminal.event.event_type).toBe('execution_cancelled');
    const result = resultOf(terminal);
    expect(result.verdict).toBe('cancelled');
    expect(text(result.stdout_b64)).toBe('tick\n');
  });

  it('when three commands land on one partition with MAX_CONCURRENT_EXECUTIONS=2, then two run at once and the third starts once one of them ended', async () => {
    const w = await startWorld();
    const ids = await w.idsOnOnePartition(3);
    const script = 'import time\ntime.sleep(1.5)\nprint("done")\n';
    const [first, second, third] = await Promise.all(
      ids.map((id) => w.createExecutionWithId(id, 'python', python, script)),
    );
    // Offset order on the partition: first, second, third.
    for (const execution of [first!, second!, third!]) await w.sendCreatePod(execution);

    const ends = await Promise.all([first!, second!, third!].map((e) => w.recorder.terminalOf(e.id)));
    const starts = await Promise.all(
      [first!, second!, third!].map((e) => w.recorder.eventOf(e.id, 'execution_started')),
    );
    // The events' own timestamps: the worker stamps them when it builds them.
    const stamp = (r: Recorded) => Date.parse(r.event.timestamp);
    const [firstStart, secondStart, thirdStart] = starts.map(stamp);
    const [firstEnd, secondEnd] = ends.map(stamp);
    expect(secondStart).toBeLessThan(firstEnd!);
    expect(firstStart).toBeLessThan(secondEnd!);
    expect(thirdStart).toBeGreaterThanOrEqual(Math.min(firstEnd!, secondEnd!));
    expect(ends.map((end) => resultOf(end).verdict)).toEqual(['completed', 'completed', 'completed']);
    await eventually(async () => ((await w.committedCommands()) === 3 ? true : undefined), {
      what: 'the three commands committed',
    });
  });

  it('when the worker stops mid-run, then the run is reported as execution_cancelled', async () => {
    const w = await startWorld();
    const execution = await w.createExecution(
      'python',
      python,
      'import time\nprint("x", flush=True)\ntime.sleep(8)\n',
    );
    await w.sendCreatePod(execution);
    await w.recorder.eventOf(execution.id, 'execution_started');
    await eventually(() => (outputs(w.recorder.of(execution.id)).length > 0 ? true : undefined), {
      what: 'first output',
    });

    await w.manager.stop();
    const terminal = await w.recorder.terminalOf(execution.id, 5_000);
    expect(terminal.event.event_type).toBe('execution_cancelled');
  });
});
