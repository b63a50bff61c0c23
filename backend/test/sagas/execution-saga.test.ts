import { afterEach, describe, expect, it } from 'vitest';
import { TERMINAL_EVENT_TYPES } from '../../src/events/definitions.js';
import { LOST_EXECUTOR_REASON } from '../../src/sagas/saga-reconciler.js';
import { eventually } from '../test-logger.js';
import { HELLO_STDOUT, PipelineWorld, type WorldParts } from './pipeline.js';

const ORCHESTRATOR_TOPICS = [
  'execution_requested',
  'execution_cancel_requested',
  ...TERMINAL_EVENT_TYPES,
] as const;

describe('the execution saga, with the real orchestrator and result processor', () => {
  let world: PipelineWorld | undefined;

  afterEach(async () => {
    await world?.cleanup();
    world = undefined;
  });

  // The reconciler repairs lost releases too, so tests of the main flow switch it off: what they
  // observe must come from the event handlers. Reconciler tests turn it back on.
  async function startWorld(env: Record<string, string> = {}, parts?: WorldParts): Promise<PipelineWorld> {
    world = new PipelineWorld({ INTEGR8SCODE_RECONCILE_INTERVAL_SECONDS: '600', ...env });
    return world.start(parts);
  }

  async function slotsFree(w: PipelineWorld): Promise<void> {
    await eventually(async () => ((await w.queue.stats()).active === 0 ? true : undefined), {
      what: 'every slot released',
    });
  }

  it('when an execution is requested, then it goes queued → scheduled → running → completed, result_stored once, slot freed', async () => {
    const w = await startWorld();
    const execution = await w.submit({ mode: 'hold' });

    // Held until it is seen running: scheduled, started and the verdict travel on different topics,
    // so only a run that lasts a moment (as real ones do) has every step written in order.
    const running = await w.waitForStatus(execution.id, 'running');
    expect(running.startedAt).toBeInstanceOf(Date);
    await w.worker?.finish(execution.id);
    const done = await w.waitForStatus(execution.id, 'completed');
    expect(done.startedAt?.getTime()).toBe(running.startedAt?.getTime());
    expect(done.outcome?.stdout.equals(HELLO_STDOUT)).toBe(true);
    await eventually(() => (w.seen('result_stored', execution.id).length > 0 ? true : undefined), {
      what: 'result_stored',
    });
    await w.waitDrained(w.resultGroup, TERMINAL_EVENT_TYPES);
    await w.waitDrained(w.orchestratorGroup, ORCHESTRATOR_TOPICS);
    await slotsFree(w);

    // The recorder reads several topics at once, so order is checked by when each event was made.
    const at = (type: Parameters<typeof w.seen>[0]): number => {
      const [event, ...more] = w.seen(type, execution.id);
      expect(more, `one ${type}`).toHaveLength(0);
      return Date.parse(event?.timestamp ?? 'missing');
    };
    const times = [
      at('execution_requested'),
      at('execution_queued'),
      at('execution_scheduled'),
      at('execution_started'),
      at('execution_completed'),
      at('result_stored'),
    ];
    expect(times.every((t) => !Number.isNaN(t))).toBe(true);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(w.seen('create_pod_command', execution.id)).toHaveLength(1);
    expect(done.startedAt!.getTime()).toBeLessThanOrEqual(done.finishedAt!.getTime());
    expect(w.seen('execution_queued', execution.id)[0]?.payload.priority).toBe('normal');
    expect(w.seen('result_stored', execution.id).map((e) => e.payload.verdict)).toEqual(['completed']);
    const saga = await w.sagas.findById(execution.id);
    expect(saga?.state).toBe('completed');
    expect(saga?.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining(['requested', 'enqueued', 'scheduled', 'command_published', 'terminal_event']),
    );
  });

  it('when 6 executions are requested with MAX_CONCURRENT_EXECUTIONS=2, then never more than 2 run at once and all 6 complete', async () => {
    const w = await startWorld({ INTEGR8SCODE_MAX_CONCURRENT_EXECUTIONS: '2' });
    const executions = await Promise.all(Array.from({ length: 6 }, () => w.submit({ mode: 'slow' })));

    for (const e of executions) await w.waitForStatus(e.id, 'completed');
    await slotsFree(w);
    expect(w.worker?.commandIds()).toHaveLength(6);
    expect(w.worker?.maxOutstanding).toBe(2);
  });

  it('when slots are scarce, then waiting executions are scheduled by priority, then age', async () => {
    const w = await startWorld({ INTEGR8SCODE_MAX_CONCURRENT_EXECUTIONS: '1' });
    const holder = await w.submit({ mode: 'hold' });
    await w.waitForStatus(holder.id, 'running');
    const low = await w.submit({ priority: 'low' });
    const normal = await w.submit({ priority: 'normal' });
    const critical = await w.submit({ priority: 'critical' });
    const high = await w.submit({ priority: 'high' });
    await eventually(
      async () => {
        const { queued } = await w.queue.stats();
        return Object.values(queued).reduce((a, b) => a + b, 0) === 4 ? true : undefined;
      },
      { what: 'four executions waiting in the queue' },
    );

    await w.worker?.finish(holder.id);
    for (const e of [low, normal, critical, high]) await w.waitForStatus(e.id, 'completed');
    expect(w.worker?.commandIds()).toEqual([holder.id, critical.id, high.id, normal.id, low.id]);
  });

  it('when execution_requested is delivered twice, then exactly one create_pod_command goes out', async () => {
    const w = await startWorld();
    const execution = await w.submit({ publish: false });
    const request = w.requestOf(execution);
    await w.events.publish(request, request);
    await w.executions.markRequestPublished(execution.id);

    await w.waitForStatus(execution.id, 'completed');
    await w.waitDrained(w.orchestratorGroup, ORCHESTRATOR_TOPICS);
    expect(w.seen('execution_requested', execution.id)).toHaveLength(2);
    expect(w.seen('create_pod_command', execution.id)).toHaveLength(1);
    expect(w.worker?.commandIds()).toEqual([execution.id]);
  });

  it('when execution_requested is delivered again after the execution ended, then it is neither queued nor run again', async () => {
    const w = await startWorld();
    const execution = await w.submit();
    await w.waitForStatus(execution.id, 'completed');
    await w.waitDrained(w.orchestratorGroup, ORCHESTRATOR_TOPICS);
    await slotsFree(w);

    await w.events.publish(w.requestOf(execution));
    await w.waitDrained(w.orchestratorGroup, ORCHESTRATOR_TOPICS);
    expect(w.seen('execution_requested', execution.id)).toHaveLength(2);
    expect(w.seen('execution_queued', execution.id)).toHaveLength(1);
    expect(w.seen('create_pod_command', execution.id)).toHaveLength(1);
    expect((await w.queue.stats()).active).toBe(0);
    expect((await w.executions.findById(execution.id))?.status).toBe('completed');
  });

  it('when a queued execution is cancelled, then it ends cancelled without ever getting a pod command', async () => {
    const w = await startWorld({ INTEGR8SCODE_MAX_CONCURRENT_EXECUTIONS: '1' });
    const holder = await w.submit({ mode: 'hold' });
    await w.waitForStatus(holder.id, 'running');
    const victim = await w.submit();
    await eventually(async () => ((await w.queue.isQueued(victim.id)) ? true : undefined), {
      what: 'the victim waiting in the queue',
    });

    await w.events.publish(
      w.events.build('execution_cancel_requested', victim.id, {
        execution_id: victim.id,
        requested_by: 'user-1',
        reason: 'user cancelled',
      }),
    );
    const cancelled = await w.waitForStatus(victim.id, 'cancelled');
    expect(cancelled.outcome?.reason).toBe('user cancelled');
    expect(await w.queue.isQueued(victim.id)).toBe(false);

    await w.worker?.finish(holder.id);
    await w.waitForStatus(holder.id, 'completed');
    await w.waitDrained(w.orchestratorGroup, ORCHESTRATOR_TOPICS);
    await slotsFree(w);
    expect(w.seen('create_pod_command', victim.id)).toHaveLength(0);
    expect((await w.sagas.findById(victim.id))?.state).toBe('cancelled');
  });

  it('when a running execution is cancelled, then delete_pod_command is sent and it ends cancelled with its slot freed', async () => {
    const w = await startWorld();
    const execution = await w.submit({ mode: 'hold' });
    await w.waitForStatus(execution.id, 'running');

    await w.events.publish(
      w.events.build('execution_cancel_requested', execution.id, {
        execution_id: execution.id,
        requested_by: 'user-1',
        reason: 'user cancelled',
      }),
    );
    await w.waitForStatus(execution.id, 'cancelled');
    // At least once: a redelivered cancel may repeat the command, never change it.
    expect(w.worker?.deletes.length).toBeGreaterThan(0);
    for (const d of w.worker?.deletes ?? []) {
      expect(d.payload).toEqual({
        execution_id: execution.id,
        saga_id: execution.id,
        reason: 'user cancelled',
      });
    }
    await slotsFree(w);
    expect((await w.sagas.findById(execution.id))?.state).toBe('cancelled');
  });

  it('when the worker never answers, then the lease expires, the execution fails as lost and its slot is freed', async () => {
    const w = await startWorld({
      INTEGR8SCODE_K8S_POD_EXECUTION_TIMEOUT: '1',
      INTEGR8SCODE_EXECUTION_LEASE_GRACE_SECONDS: '1',
      INTEGR8SCODE_RECONCILE_INTERVAL_SECONDS: '0.5',
    });
    const execution = await w.submit({ mode: 'silent' });
    await w.waitForStatus(execution.id, 'scheduled');

    const failed = await w.waitForStatus(execution.id, 'failed');
    expect(failed.outcome?.reason).toBe(LOST_EXECUTOR_REASON);
    await eventually(() => (w.worker?.deletes.length ? true : undefined), {
      what: 'delete_pod_command',
    });
    expect(w.worker?.deletes[0]?.payload.reason).toBe(LOST_EXECUTOR_REASON);
    await slotsFree(w);
    await eventually(
      async () => ((await w.sagas.findById(execution.id))?.state === 'failed' ? true : undefined),
      {
        what: 'saga failed',
      },
    );
  });

  it('when the API stored an execution but never published its request, then the reconciler publishes it and it completes', async () => {
    const w = await startWorld({ INTEGR8SCODE_RECONCILE_INTERVAL_SECONDS: '0.5' });
    const execution = await w.submit({ publish: false });

    const done = await w.waitForStatus(execution.id, 'completed', 20_000);
    expect(done.requestPublished).toBe(true);
    expect(w.seen('execution_requested', execution.id)).toHaveLength(1);
  });
});
