import { afterEach, describe, expect, it } from 'vitest';
import type { PlatformEventDefinitions } from '../../src/events/definitions.js';
import { EventProducer } from '../../src/platform/kafka/producer.js';
import { ExecutionEvents } from '../../src/executions/execution-events.js';
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
});
