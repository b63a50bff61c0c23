import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../../src/events/definitions.js';
import { eventually } from '../test-logger.js';
import { PipelineWorld } from '../sagas/pipeline.js';

// Every byte value, so a lossy decode (utf8 instead of base64, a trimmed NUL) shows.
const STDOUT = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const STDERR = Buffer.from('warning: \u00e9\n', 'utf8');

function result(id: string, overrides: Partial<ExecutionResult>): ExecutionResult {
  return {
    execution_id: id,
    verdict: 'completed',
    exit_code: 3,
    signal: null,
    stdout_b64: STDOUT.toString('base64'),
    stderr_b64: STDERR.toString('base64'),
    output_truncated: false,
    output_chunks: 2,
    resource_usage: { wall_seconds: 0.25, cpu_seconds: 0.125, peak_memory_bytes: 2048 },
    reason: null,
    ...overrides,
  };
}

describe('the result processor', () => {
  let world: PipelineWorld | undefined;

  afterEach(async () => {
    await world?.cleanup();
    world = undefined;
  });

  it('when completed is followed by a late timeout, then the execution stays completed, written once, output bytes exact', async () => {
    world = await new PipelineWorld().start({ resultProcessor: true });
    const w = world;
    const execution = await w.submit({ publish: false });

    await w.events.publish(w.events.build('execution_completed', execution.id, result(execution.id, {})));
    const stored = await w.waitForStatus(execution.id, 'completed');
    await eventually(() => (w.seen('result_stored', execution.id).length === 1 ? true : undefined), {
      what: 'result_stored',
    });

    await w.events.publish(
      w.events.build(
        'execution_timeout',
        execution.id,
        result(execution.id, { verdict: 'timeout', exit_code: null, signal: 'SIGKILL', reason: 'late' }),
      ),
    );
    await w.waitDrained(w.resultGroup, ['execution_completed', 'execution_timeout']);

    const after = await w.executions.findById(execution.id);
    expect(after?.status).toBe('completed');
    // One write: the late event left the record exactly as the first verdict wrote it.
    expect(after?.updatedAt.getTime()).toBe(stored.updatedAt.getTime());
    expect(after?.finishedAt?.getTime()).toBe(stored.finishedAt?.getTime());
    expect(after?.outcome?.stdout.equals(STDOUT)).toBe(true);
    expect(after?.outcome?.stderr.equals(STDERR)).toBe(true);
    expect(after?.outcome).toMatchObject({
      exitCode: 3,
      signal: null,
      outputTruncated: false,
      resourceUsage: { wall_seconds: 0.25, cpu_seconds: 0.125, peak_memory_bytes: 2048 },
      reason: null,
    });
    expect(w.seen('result_stored', execution.id).map((e) => e.payload)).toEqual([
      { execution_id: execution.id, verdict: 'completed' },
    ]);
  });

  it('when progress events arrive out of order or twice, then status only moves forward', async () => {
    world = await new PipelineWorld().start({ resultProcessor: true });
    const w = world;
    const execution = await w.submit({ publish: false });
    const id = execution.id;

    await w.events.publish(w.events.build('execution_started', id, { execution_id: id, backend: 'test' }));
    const running = await w.waitForStatus(id, 'running');
    await w.events.publish(
      w.events.build('execution_scheduled', id, { execution_id: id, saga_id: id }),
      w.events.build('execution_queued', id, { execution_id: id, priority: 'normal' }),
    );
    await w.waitDrained(w.resultGroup, ['execution_started', 'execution_scheduled']);

    const after = await w.executions.findById(id);
    expect(after?.status).toBe('running');
    expect(after?.scheduledAt).toBeNull();
    expect(after?.updatedAt.getTime()).toBe(running.updatedAt.getTime());
  });

  it('when a terminal event names an unknown execution, then it is dead-lettered, not acknowledged as done', async () => {
    world = await new PipelineWorld().start({ resultProcessor: true });
    const w = world;
    await w.events.publish(w.events.build('execution_completed', 'exec-nobody', result('exec-nobody', {})));
    await w.waitDrained(w.resultGroup, ['execution_completed']);
    const letter = await eventually(() => w.deadLettered[0], { what: 'the dead letter' });
    expect(letter).toMatchObject({ event_type: 'execution_completed', dlq_reason: 'invalid' });
    expect(letter.error).toContain('unknown execution exec-nobody');
    expect(w.seen('result_stored', 'exec-nobody')).toHaveLength(0);
  });
});
