import type { ExecutionRepository } from '../executions/execution-repository.js';
import type { RunOutboxRepository } from '../executions/run-outbox-repository.js';
import { isTerminal } from '../executions/execution.js';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import { withCorrelation, type Logger } from '../platform/logging/logger.js';
import type { ExecutionQueue } from '../queue/execution-queue.js';
import {
  requestPayload,
  resultWithoutOutput,
  unpublishableReason,
  type ExecutionEvents,
} from '../executions/execution-events.js';
import { isRecordError } from '../platform/kafka/producer.js';
import { step } from './saga.js';
import type { SagaRepository } from './saga-repository.js';

export interface SagaReconcilerOptions {
  queue: ExecutionQueue;
  executions: ExecutionRepository;
  sagas: SagaRepository;
  /** Results workers could not send yet: their runs are finished, not lost. */
  outbox: Pick<RunOutboxRepository, 'holding'>;
  events: ExecutionEvents;
  logger: Logger;
  wakeScheduler: () => void;
  /** RECONCILE_INTERVAL_SECONDS × 1000 */
  intervalMs: number;
  /** EXECUTION_MAX_QUEUE_SECONDS */
  maxQueueSeconds: number;
  /** An unpublished request younger than this may still be on its way from the API. Default 5 s. */
  unpublishedGraceMs?: number;
  /** A queued execution younger than this may still be between its saga and its enqueue. Default 2 s. */
  requeueGraceMs?: number;
  /** Most executions looked at per step and pass. Default 100. */
  batchSize?: number;
}

export const LOST_EXECUTOR_REASON = 'executor lost: no result within the wall limit plus grace';

/** What one pass did, per step; tests and logs read it. */
export interface ReconcileReport {
  republished: number;
  leasesExpired: number;
  queueTimeouts: number;
  requeued: number;
  orphanSlotsReleased: number;
  abandonedClaimsRequeued: number;
  /** Expired leases not failed because the run's result is in the run outbox (not a repair). */
  leasesAwaitingOutbox: number;
}

// No held slot has a lease deadline beyond this, so expiredLeases(ALL) lists every held slot.
const ALL_SLOTS = Number.MAX_SAFE_INTEGER;

/**
 * Repairs what a crash or a lost message left behind, every RECONCILE_INTERVAL_SECONDS. Each step
 * is bounded and isolated: its errors are logged and the next step still runs, and a failed pass
 * never stops the loop. Every repair is idempotent, so several orchestrator instances may run it.
 */
export class SagaReconciler implements Component {
  readonly name = 'saga-reconciler';
  private readonly gate = new LifecycleGate();
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ReconcileReport> | undefined;

  constructor(private readonly options: SagaReconcilerOptions) {
    this.logger = options.logger.child({ component: 'saga-reconciler' });
  }

  start(): Promise<void> {
    return this.gate.start(() => {
      this.timer = setInterval(() => {
        if (this.running === undefined) void this.reconcile();
      }, this.options.intervalMs);
      this.logger.info({ interval_ms: this.options.intervalMs }, 'saga reconciler started');
      return Promise.resolve();
    });
  }

  stop(): Promise<void> {
    return this.gate.stop(async () => {
      clearInterval(this.timer);
      await this.running;
      this.logger.info('saga reconciler stopped');
    });
  }

  /** One pass over every step; never throws. */
  reconcile(now = new Date()): Promise<ReconcileReport> {
    this.running ??= this.pass(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(now: Date): Promise<ReconcileReport> {
    const noSlots = {
      leasesExpired: 0,
      orphanSlotsReleased: 0,
      abandonedClaimsRequeued: 0,
      leasesAwaitingOutbox: 0,
    };
    const report: ReconcileReport = {
      republished: await this.guarded('republish unpublished requests', 0, () => this.republishRequests(now)),
      ...(await this.guarded('check held slots', noSlots, () => this.checkSlots(now))),
      queueTimeouts: await this.guarded('fail executions queued too long', 0, () =>
        this.failQueuedTooLong(now),
      ),
      requeued: await this.guarded('re-queue executions Redis lost', 0, () => this.requeueLost(now)),
    };
    const { leasesAwaitingOutbox: _waiting, ...repairs } = report;
    if (Object.values(repairs).some((n) => n > 0)) this.logger.info(report, 'reconcile pass repaired state');
    return report;
  }

  /** Runs one step; its failure is logged and counts as nothing done, and the next step still runs. */
  private async guarded<T>(what: string, nothing: T, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      this.logger.error({ err, step: what }, 'reconcile step failed; it runs again next pass');
      return nothing;
    }
  }

  /**
   * (1) The API stored the execution but died before execution_requested reached Kafka. A record
   * the broker refuses (too large, invalid) fails its execution and the pass goes on to the next,
   * so one such record never holds back the others; any other error ends the step (the broker is
   * likely down for all of them) and the next pass tries again.
   */
  private async republishRequests(now: Date): Promise<number> {
    const { executions, events } = this.options;
    const cutoff = new Date(now.getTime() - (this.options.unpublishedGraceMs ?? 5_000));
    const pending = await executions.unpublishedBefore(cutoff, this.options.batchSize ?? 100);
    for (const execution of pending) {
      const logger = withCorrelation(this.logger, execution.id);
      try {
        await events.publish(
          events.build('execution_requested', execution.id, requestPayload(execution), execution.userId),
        );
        logger.warn('execution_requested was never published; published it now');
      } catch (err) {
        if (!isRecordError(err)) throw err;
        const reason = unpublishableReason(err);
        await events.publish(
          events.build(
            'execution_failed',
            execution.id,
            resultWithoutOutput(execution.id, 'failed', reason),
            execution.userId,
          ),
        );
        logger.error({ err }, 'execution_requested refused by the broker; execution failed');
      }
      await executions.markRequestPublished(execution.id);
    }
    return pending.length;
  }

  /**
   * (2) A slot whose lease ran out while its execution is still active: the executor is lost, so
   * fail the execution and delete whatever sandbox may be left. (5) A slot whose execution is
   * already final in Mongo: its terminal event was lost on the way here, so only free the slot.
   * (6) A slot whose lease ran out while its saga is still `queued`: the orchestrator that claimed
   * it died before moving the saga to `scheduled`, which comes before the command, so nothing ran;
   * the execution is queued again instead of failed as lost. (A dispatch still alive a whole lease
   * after its claim would send a second command; a claim is followed by the move within
   * milliseconds, and a failed move compensates at once.) (7) A slot whose lease ran out while
   * the run's result is in the run outbox (a worker finished it while Kafka was away, and sends
   * it when the broker is back): not lost, so it waits; the relay keeps a sent entry for a lease
   * grace, so the wait ends with the stored result or, a grace after sending, as lost.
   */
  private async checkSlots(
    now: Date,
  ): Promise<
    Pick<
      ReconcileReport,
      'leasesExpired' | 'orphanSlotsReleased' | 'abandonedClaimsRequeued' | 'leasesAwaitingOutbox'
    >
  > {
    const { queue, executions, sagas, events, outbox } = this.options;
    const expired = new Set(await queue.expiredLeases(now.getTime()));
    const held = (await queue.expiredLeases(ALL_SLOTS)).slice(0, this.options.batchSize ?? 100);
    const parked = await outbox.holding(held.filter((id) => expired.has(id)));
    let leasesExpired = 0;
    let orphanSlotsReleased = 0;
    let abandonedClaimsRequeued = 0;
    let leasesAwaitingOutbox = 0;
    for (const id of held) {
      const logger = withCorrelation(this.logger, id);
      const execution = await executions.findById(id);
      if (execution === null || isTerminal(execution.status)) {
        if (await queue.release(id)) orphanSlotsReleased++;
        logger.warn({ status: execution?.status ?? 'absent' }, 'slot held by a finished execution; released');
        continue;
      }
      if (!expired.has(id)) continue;
      if (parked.has(id)) {
        leasesAwaitingOutbox++;
        logger.debug('lease expired, but the result is in the run outbox; waiting for it');
        continue;
      }
      if ((await sagas.findById(id))?.state === 'queued') {
        await queue.requeue(id, execution.priority);
        await sagas.recordStep(id, step('requeued_by_reconciler', 'slot claimed but its command never sent'));
        abandonedClaimsRequeued++;
        logger.warn('lease expired before the command was sent; queued again');
        continue;
      }
      const userId = execution.userId;
      await events.publish(
        events.build('execution_failed', id, resultWithoutOutput(id, 'failed', LOST_EXECUTOR_REASON), userId),
        events.build(
          'delete_pod_command',
          id,
          { execution_id: id, saga_id: id, reason: LOST_EXECUTOR_REASON },
          userId,
        ),
      );
      await queue.release(id);
      leasesExpired++;
      logger.warn({ status: execution.status }, 'lease expired; execution failed as lost and its slot freed');
    }
    if (leasesExpired + orphanSlotsReleased + abandonedClaimsRequeued > 0) this.options.wakeScheduler();
    return { leasesExpired, orphanSlotsReleased, abandonedClaimsRequeued, leasesAwaitingOutbox };
  }

  /** (3) Waited longer than EXECUTION_MAX_QUEUE_SECONDS for a slot. */
  private async failQueuedTooLong(now: Date): Promise<number> {
    const { queue, executions, sagas, events, maxQueueSeconds } = this.options;
    const cutoff = new Date(now.getTime() - maxQueueSeconds * 1000);
    const stale = await executions.staleActive(['queued'], cutoff, this.options.batchSize ?? 100);
    const reason = `not scheduled within ${maxQueueSeconds} s`;
    let failed = 0;
    for (const execution of stale) {
      const id = execution.id;
      // The conditional move is the lock against the scheduler: if it won, the execution runs.
      const done = step('failed_by_reconciler', reason);
      const moved =
        (await sagas.transition(id, ['queued'], 'failed', done, { error: reason })) ??
        (await sagas.createIfAbsent(id, 'failed', done, reason)).saga;
      if (moved.state !== 'failed') continue;
      await queue.release(id);
      // Repeats until the result processor has written the verdict; duplicates change nothing.
      await events.publish(
        events.build('execution_failed', id, resultWithoutOutput(id, 'failed', reason), execution.userId),
      );
      withCorrelation(this.logger, id).warn(
        { max_queue_seconds: maxQueueSeconds },
        'execution failed: never scheduled',
      );
      failed++;
    }
    if (failed > 0) this.options.wakeScheduler();
    return failed;
  }

  /** (4) Mongo and the saga say queued, but Redis has neither the entry nor a slot (Redis lost state). */
  private async requeueLost(now: Date): Promise<number> {
    const { queue, executions, sagas } = this.options;
    const cutoff = new Date(now.getTime() - (this.options.requeueGraceMs ?? 2_000));
    const queued = await executions.staleActive(['queued'], cutoff, this.options.batchSize ?? 100);
    let requeued = 0;
    for (const execution of queued) {
      if (!execution.requestPublished) continue;
      const saga = await sagas.findById(execution.id);
      if (saga?.state !== 'queued') continue;
      // enqueue is a no-op while the execution is queued or holds a slot: it adds only what Redis lost.
      if (!(await queue.enqueue(execution.id, execution.priority, Date.now(), execution.userId))) continue;
      await sagas.recordStep(execution.id, step('requeued_by_reconciler'));
      withCorrelation(this.logger, execution.id).warn('queued execution missing from Redis; re-queued');
      requeued++;
    }
    if (requeued > 0) this.options.wakeScheduler();
    return requeued;
  }
}
