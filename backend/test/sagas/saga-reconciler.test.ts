import { afterEach, describe, expect, it } from 'vitest';
import { step } from '../../src/sagas/saga.js';
import { eventually } from '../test-logger.js';
import { PipelineWorld } from './pipeline.js';

/**
 * Each reconcile step against a lost message or lost Redis state. The periodic pass is switched
 * off (interval 600 s) and `reconcile(now)` is called with a clock moved forward, so no test waits
 * out a real deadline.
 */
describe('the saga reconciler', () => {
  let world: PipelineWorld | undefined;

  afterEach(async () => {
    await world?.cleanup();
    world = undefined;
  });

  async function withHolder(env: Record<string, string> = {}) {
    world = await new PipelineWorld({
      INTEGR8SCODE_RECONCILE_INTERVAL_SECONDS: '600',
      INTEGR8SCODE_MAX_CONCURRENT_EXECUTIONS: '1',
      ...env,
    }).start();
    const w = world;
    const holder = await w.submit({ mode: 'hold' });
    await w.waitForStatus(holder.id, 'running');
    const reconciler = w.orchestrator?.reconciler;
    if (reconciler === undefined) throw new Error('no orchestrator');
    return { w, holder, reconciler };
  }

  it('when a held slot belongs to an execution already final in Mongo, then the slot is released', async () => {
    const { w, holder, reconciler } = await withHolder();
    // The terminal event never reached the orchestrator: only Mongo knows the execution ended.
    await w.executions.advance(holder.id, 'completed');

    const report = await reconciler.reconcile();
    expect(report.orphanSlotsReleased).toBe(1);
    expect((await w.queue.stats()).active).toBe(0);
  });

  it('when a lease runs out while the run’s result waits in the run outbox, then the execution is not failed as lost until the outbox lets go of it', async () => {
    const { w, holder, reconciler } = await withHolder();
    // A worker finished the run while Kafka was away and kept its result in the outbox.
    const entryId = `${holder.id}/terminal`;
    await w.runOutbox.park({ id: entryId, executionId: holder.id, events: [] }, 1 << 20);
    const afterLease = () => new Date(Date.now() + 3_600_000);

    expect(await reconciler.reconcile(afterLease())).toMatchObject({
      leasesExpired: 0,
      leasesAwaitingOutbox: 1,
    });
    // Sent, but kept for a grace: still waiting for the result processor.
    await w.runOutbox.markSent(entryId, new Date());
    expect(await reconciler.reconcile(afterLease())).toMatchObject({ leasesExpired: 0 });
    expect((await w.executions.findById(holder.id))?.status).toBe('running');

    // Pruned and still no result: now it is lost.
    await w.runOutbox.pruneSentBefore(new Date(Date.now() + 1_000));
    expect(await reconciler.reconcile(afterLease())).toMatchObject({
      leasesExpired: 1,
      leasesAwaitingOutbox: 0,
    });
    expect((await w.waitForStatus(holder.id, 'failed')).outcome?.reason).toMatch(/executor lost/);
  });

  it('when Redis lost a queued execution, then it is queued again and runs', async () => {
    const { w, holder, reconciler } = await withHolder();
    const victim = await w.submit();
    await eventually(async () => ((await w.queue.isQueued(victim.id)) ? true : undefined), {
      what: 'the victim in the queue',
    });
    await w.queue.release(victim.id);

    const report = await reconciler.reconcile(new Date(Date.now() + 3_000));
    expect(report).toMatchObject({ requeued: 1, leasesExpired: 0, queueTimeouts: 0 });
    expect(await w.queue.isQueued(victim.id)).toBe(true);
    await w.worker?.finish(holder.id);
    await w.waitForStatus(victim.id, 'completed');
  });

  it('when an execution waits longer than EXECUTION_MAX_QUEUE_SECONDS, then it fails as not scheduled and never runs', async () => {
    const { w, holder, reconciler } = await withHolder({ INTEGR8SCODE_EXECUTION_MAX_QUEUE_SECONDS: '1' });
    const victim = await w.submit();
    await eventually(async () => ((await w.queue.isQueued(victim.id)) ? true : undefined), {
      what: 'the victim in the queue',
    });

    const report = await reconciler.reconcile(new Date(Date.now() + 2_000));
    expect(report).toMatchObject({ queueTimeouts: 1, leasesExpired: 0 });
    const failed = await w.waitForStatus(victim.id, 'failed');
    expect(failed.outcome?.reason).toBe('not scheduled within 1 s');
    expect(await w.queue.isQueued(victim.id)).toBe(false);
    expect((await w.executions.findById(holder.id))?.status).toBe('running');

    await w.worker?.finish(holder.id);
    await w.waitForStatus(holder.id, 'completed');
    await w.waitDrained(w.orchestratorGroup, ['execution_failed', 'execution_completed']);
    expect(w.seen('create_pod_command', victim.id)).toHaveLength(0);
    expect((await w.sagas.findById(victim.id))?.state).toBe('failed');
  });

  it('when a lease runs out while the saga is still queued (the orchestrator died between claim and command), then the execution is queued again and runs instead of failing as lost', async () => {
    world = await new PipelineWorld({
      INTEGR8SCODE_RECONCILE_INTERVAL_SECONDS: '600',
      INTEGR8SCODE_MAX_CONCURRENT_EXECUTIONS: '1',
    }).start();
    const w = world;
    const reconciler = w.orchestrator?.reconciler;
    if (reconciler === undefined) throw new Error('no orchestrator');
    // What a dead dispatcher leaves: the saga queued, the slot claimed a lease ago, no command.
    const victim = await w.submit({ publish: false });
    await w.sagas.createIfAbsent(victim.id, 'queued', step('requested'));
    expect(await w.queue.enqueueOrClaim(victim.id, 'normal', 1, 1_000, Date.now() - 60_000)).toBe('claimed');

    const report = await reconciler.reconcile();
    expect(report).toMatchObject({ abandonedClaimsRequeued: 1, leasesExpired: 0 });
    await w.waitForStatus(victim.id, 'completed');
    expect(w.seen('create_pod_command', victim.id)).toHaveLength(1);
    const saga = await w.sagas.findById(victim.id);
    expect(saga?.steps.map((s) => s.name)).toContain('requeued_by_reconciler');
  });

  it('when the broker refuses an unpublished request (encoded over its message size), then that execution fails with the reason and a later unpublished request is still published and runs', async () => {
    world = await new PipelineWorld({ INTEGR8SCODE_RECONCILE_INTERVAL_SECONDS: '600' }).start();
    const w = world;
    const reconciler = w.orchestrator?.reconciler;
    if (reconciler === undefined) throw new Error('no orchestrator');
    // Within the script byte limit, but JSON writes each control character as \u0001: ~1.5 MB.
    const oversize = await w.submit({ publish: false, script: '\u0001'.repeat(262_000) });
    const next = await w.submit({ publish: false });

    const report = await reconciler.reconcile(new Date(Date.now() + 10_000));
    expect(report.republished).toBe(2);
    const failed = await w.waitForStatus(oversize.id, 'failed');
    expect(failed.outcome?.reason).toMatch(/^request could not be published: the broker refused the record/);
    await w.waitForStatus(next.id, 'completed');
    expect((await reconciler.reconcile(new Date(Date.now() + 10_000))).republished).toBe(0);
    expect(w.seen('create_pod_command', oversize.id)).toHaveLength(0);
  });
});
