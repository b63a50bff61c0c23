import { afterEach, describe, expect, it } from 'vitest';
import type { PlatformEventDefinitions } from '../../src/events/definitions.js';
import { EventProducer } from '../../src/platform/kafka/producer.js';
import { ExecutionEvents, requestPayload } from '../../src/executions/execution-events.js';
import { step } from '../../src/sagas/saga.js';
import { SagaScheduler } from '../../src/sagas/saga-scheduler.js';
import { eventually } from '../test-logger.js';
import { PipelineWorld } from './pipeline.js';

/** A scheduler with one slot on the world's queue, publishing through its own producer. */
interface Rig {
  w: PipelineWorld;
  producer: EventProducer<PlatformEventDefinitions>;
  scheduler: SagaScheduler;
  /** Stores an execution and its queued saga (as the request handler does), without a request event. */
  newExecution(): Promise<string>;
  /** Hands a stored execution to admit(), as the request handler does. */
  admit(id: string): ReturnType<SagaScheduler['admit']>;
}

describe('the saga scheduler', () => {
  let rig: Rig | undefined;

  afterEach(async () => {
    await rig?.scheduler.stop();
    await rig?.producer.stop();
    await rig?.w.cleanup();
    rig = undefined;
  });

  /** `producerUp: false`: every publish fails, as with a broker that is down, until producer.start(). */
  async function startRig(options: { producerUp: boolean; pollIntervalMs: number }): Promise<Rig> {
    const w = await new PipelineWorld().start({});
    const producer = new EventProducer({ kafka: w.kafka, catalog: w.catalog, logger: w.logger });
    if (options.producerUp) await producer.start();
    const events = new ExecutionEvents(producer, w.catalog, { serviceName: 'it', serviceVersion: '0' });
    const scheduler = new SagaScheduler({
      queue: w.queue,
      executions: w.executions,
      sagas: w.sagas,
      events,
      logger: w.logger,
      maxConcurrent: 1,
      leaseMs: 60_000,
      pollIntervalMs: options.pollIntervalMs,
    });
    const newExecution = async (): Promise<string> => {
      const execution = await w.submit({ publish: false });
      await w.sagas.createIfAbsent(execution.id, 'queued', step('requested'));
      return execution.id;
    };
    const admit = async (id: string): ReturnType<SagaScheduler['admit']> => {
      const execution = await w.executions.findById(id);
      if (execution === null) throw new Error(`execution ${id} not stored`);
      const request = requestPayload(execution);
      const announce = events.build(
        'execution_queued',
        id,
        { execution_id: id, priority: request.priority },
        request.user_id,
      );
      return scheduler.admit(request, announce);
    };
    rig = { w, producer, scheduler, newExecution, admit };
    return rig;
  }

  /** Kafka comes back: the drain sends the command, and the slot stays held by the execution. */
  async function expectSentAfterRecovery({ w, producer }: Rig, id: string): Promise<void> {
    await producer.start();
    await eventually(() => (w.seen('create_pod_command', id).length === 1 ? true : undefined), {
      what: 'create_pod_command after recovery',
    });
    expect((await w.sagas.findById(id))?.state).toBe('scheduled');
    expect((await w.queue.stats()).active).toBe(1);
  }

  it('when the pod command cannot be published, then the claim is compensated (slot freed, re-queued) and retried once Kafka is back', async () => {
    const r = await startRig({ producerUp: false, pollIntervalMs: 50 });
    const { w } = r;
    const id = await r.newExecution();
    await w.queue.enqueue(id, 'normal');
    await r.scheduler.start();

    const compensated = await eventually(
      async () => {
        const saga = await w.sagas.findById(id);
        return saga && saga.compensations.length > 0 ? saga : undefined;
      },
      { what: 'a compensation on the saga' },
    );
    expect(compensated.compensations[0]?.name).toBe('release_slot_and_requeue');
    await eventually(
      async () => {
        const stats = await w.queue.stats();
        const saga = await w.sagas.findById(id);
        // Between attempts: back in the queue, no slot held, saga queued again.
        return stats.active === 0 && stats.queued.normal === 1 && saga?.state === 'queued' ? true : undefined;
      },
      { what: 'the execution back in the queue without a slot' },
    );
    await expectSentAfterRecovery(r, id);
  });

  it('when a new request finds a free slot, then admit sends its command at once, and queues the next one behind the cap', async () => {
    // No poll during the test: only admit() may dispatch.
    const r = await startRig({ producerUp: true, pollIntervalMs: 60_000 });
    const { w } = r;
    await r.scheduler.start();

    const first = await r.newExecution();
    expect(await r.admit(first)).toBe('sent');
    expect((await w.sagas.findById(first))?.state).toBe('scheduled');
    await eventually(() => (w.seen('create_pod_command', first).length === 1 ? true : undefined), {
      what: 'the first command',
    });
    // The announcement went out too (with the command, in one produce request).
    await eventually(() => (w.seen('execution_queued', first).length === 1 ? true : undefined), {
      what: 'the first execution_queued',
    });

    const second = await r.newExecution();
    expect(await r.admit(second)).toBe('waiting');
    expect((await w.sagas.findById(second))?.state).toBe('queued');
    const stats = await w.queue.stats();
    expect(stats.active).toBe(1);
    expect(stats.queued.normal).toBe(1);
    expect(w.seen('create_pod_command', second)).toHaveLength(0);
  });

  it('when the command of a request dispatched at once cannot be published, then the claim is compensated and the drain sends it once Kafka is back', async () => {
    const r = await startRig({ producerUp: false, pollIntervalMs: 50 });
    const { w } = r;
    await r.scheduler.start();
    const id = await r.newExecution();

    expect(await r.admit(id)).toBe('compensated');
    const saga = await w.sagas.findById(id);
    expect(saga?.state).toBe('queued');
    expect(saga?.compensations[0]?.name).toBe('release_slot_and_requeue');
    await expectSentAfterRecovery(r, id);
  });
});
