import { afterEach, describe, expect, it } from 'vitest';
import type { PlatformEventDefinitions } from '../../src/events/definitions.js';
import { EventProducer } from '../../src/platform/kafka/producer.js';
import { ExecutionEvents, requestPayload } from '../../src/executions/execution-events.js';
import { step } from '../../src/sagas/saga.js';
import { SagaScheduler } from '../../src/sagas/saga-scheduler.js';
import { eventually } from '../test-logger.js';
import { PipelineWorld } from './pipeline.js';

describe('the saga scheduler', () => {
  let world: PipelineWorld | undefined;
  let scheduler: SagaScheduler | undefined;
  let producer: EventProducer<PlatformEventDefinitions> | undefined;

  afterEach(async () => {
    await scheduler?.stop();
    await producer?.stop();
    await world?.cleanup();
    world = undefined;
  });

  it('when the pod command cannot be published, then the claim is compensated (slot freed, re-queued) and retried once Kafka is back', async () => {
    world = await new PipelineWorld().start({});
    const w = world;
    // Not started yet: every publish through it fails, as with a broker that is down.
    producer = new EventProducer({ kafka: w.kafka, catalog: w.catalog, logger: w.logger });
    scheduler = new SagaScheduler({
      queue: w.queue,
      executions: w.executions,
      sagas: w.sagas,
      events: new ExecutionEvents(producer, w.catalog, { serviceName: 'it', serviceVersion: '0' }),
      logger: w.logger,
      maxConcurrent: 1,
      leaseMs: 60_000,
      pollIntervalMs: 50,
    });
    const execution = await w.submit({ publish: false });
    await w.sagas.createIfAbsent(execution.id, 'queued', step('requested'));
    await w.queue.enqueue(execution.id, 'normal');
    await scheduler.start();

    const compensated = await eventually(
      async () => {
        const saga = await w.sagas.findById(execution.id);
        return saga && saga.compensations.length > 0 ? saga : undefined;
      },
      { what: 'a compensation on the saga' },
    );
    expect(compensated.compensations[0]?.name).toBe('release_slot_and_requeue');
    await eventually(
      async () => {
        const stats = await w.queue.stats();
        const saga = await w.sagas.findById(execution.id);
        // Between attempts: back in the queue, no slot held, saga queued again.
        return stats.active === 0 && stats.queued.normal === 1 && saga?.state === 'queued' ? true : undefined;
      },
      { what: 'the execution back in the queue without a slot' },
    );

    await producer.start();
    await eventually(() => (w.seen('create_pod_command', execution.id).length === 1 ? true : undefined), {
      what: 'create_pod_command after recovery',
    });
    expect((await w.sagas.findById(execution.id))?.state).toBe('scheduled');
    expect((await w.queue.stats()).active).toBe(1);
  });

  it('when a new request finds a free slot, then admit sends its command at once, and queues the next one behind the cap', async () => {
    world = await new PipelineWorld().start({});
    const w = world;
    producer = new EventProducer({ kafka: w.kafka, catalog: w.catalog, logger: w.logger });
    await producer.start();
    const events = new ExecutionEvents(producer, w.catalog, { serviceName: 'it', serviceVersion: '0' });
    scheduler = new SagaScheduler({
      queue: w.queue,
      executions: w.executions,
      sagas: w.sagas,
      events,
      logger: w.logger,
      maxConcurrent: 1,
      leaseMs: 60_000,
      // No poll during the test: only admit() may dispatch.
      pollIntervalMs: 60_000,
    });
    await scheduler.start();
    const admit = async (publishedBefore: boolean) => {
      const execution = await w.submit({ publish: publishedBefore });
      await w.sagas.createIfAbsent(execution.id, 'queued', step('requested'));
      const request = requestPayload(execution);
      const announce = events.build(
        'execution_queued',
        execution.id,
        { execution_id: execution.id, priority: request.priority },
        request.user_id,
      );
      return { id: execution.id, admitted: await scheduler!.admit(request, announce) };
    };

    const first = await admit(false);
    expect(first.admitted).toBe('sent');
    expect((await w.sagas.findById(first.id))?.state).toBe('scheduled');
    await eventually(() => (w.seen('create_pod_command', first.id).length === 1 ? true : undefined), {
      what: 'the first command',
    });
    // The announcement went out too (with the command, in one produce request).
    await eventually(() => (w.seen('execution_queued', first.id).length === 1 ? true : undefined), {
      what: 'the first execution_queued',
    });

    const second = await admit(false);
    expect(second.admitted).toBe('waiting');
    expect((await w.sagas.findById(second.id))?.state).toBe('queued');
    const stats = await w.queue.stats();
    expect(stats.active).toBe(1);
    expect(stats.queued.normal).toBe(1);
    expect(w.seen('create_pod_command', second.id)).toHaveLength(0);
  });

  it('when the command of a request dispatched at once cannot be published, then the claim is compensated and the drain sends it once Kafka is back', async () => {
    world = await new PipelineWorld().start({});
    const w = world;
    // Not started yet: every publish through it fails, as with a broker that is down.
    producer = new EventProducer({ kafka: w.kafka, catalog: w.catalog, logger: w.logger });
    const events = new ExecutionEvents(producer, w.catalog, { serviceName: 'it', serviceVersion: '0' });
    scheduler = new SagaScheduler({
      queue: w.queue,
      executions: w.executions,
      sagas: w.sagas,
      events,
      logger: w.logger,
      maxConcurrent: 1,
      leaseMs: 60_000,
      pollIntervalMs: 50,
    });
    await scheduler.start();
    const execution = await w.submit({ publish: false });
    await w.sagas.createIfAbsent(execution.id, 'queued', step('requested'));
    const request = requestPayload(execution);
    const announce = events.build(
      'execution_queued',
      execution.id,
      { execution_id: execution.id, priority: request.priority },
      request.user_id,
    );
    expect(await scheduler.admit(request, announce)).toBe('compensated');
    const saga = await w.sagas.findById(execution.id);
    expect(saga?.state).toBe('queued');
    expect(saga?.compensations[0]?.name).toBe('release_slot_and_requeue');

    await producer.start();
    await eventually(() => (w.seen('create_pod_command', execution.id).length === 1 ? true : undefined), {
      what: 'create_pod_command after recovery',
    });
    expect((await w.sagas.findById(execution.id))?.state).toBe('scheduled');
    expect((await w.queue.stats()).active).toBe(1);
  });
});
