import type { ExecutionRepository } from '../executions/execution-repository.js';
import { isTerminal } from '../executions/execution.js';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import { withCorrelation, type Logger } from '../platform/logging/logger.js';
import type { PlatformEvent } from '../events/definitions.js';
import type { ExecutionQueue, Priority } from '../queue/execution-queue.js';
import {
  createPodCommandPayload,
  requestPayload,
  type ExecutionEvents,
  type RequestedExecution,
} from '../executions/execution-events.js';
import { step } from './saga.js';
import type { SagaRepository } from './saga-repository.js';

export interface SagaSchedulerOptions {
  queue: ExecutionQueue;
  executions: ExecutionRepository;
  sagas: SagaRepository;
  events: ExecutionEvents;
  logger: Logger;
  /** MAX_CONCURRENT_EXECUTIONS */
  maxConcurrent: number;
  /** (K8S_POD_EXECUTION_TIMEOUT + EXECUTION_LEASE_GRACE_SECONDS) × 1000 */
  leaseMs: number;
  /** Poll for slots freed and work queued by other instances. Default 200 ms. */
  pollIntervalMs?: number;
}

type Dispatch = 'sent' | 'skipped' | 'compensated';

/** What `admit` did: dispatched at once (`sent`/`skipped`/`compensated`), or left `waiting` in the queue. */
export type Admitted = Dispatch | 'waiting';

/** How long a request handed over by the request handler may stand in for a Mongo read. */
const HANDED_OVER_MS = 5_000;

/**
 * Turns queued executions into pod commands while slots are free. `wake()` runs it at once
 * (after an enqueue or a release in this process); a short poll notices work and freed slots of
 * other orchestrator instances. One drain runs at a time per instance; the Redis claim is atomic
 * across instances.
 */
export class SagaScheduler implements Component {
  readonly name = 'saga-scheduler';
  private readonly gate = new LifecycleGate();
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private wakeAgain = false;
  /**
   * Requests of executions this process's request handler just queued. The scheduler uses such a
   * request instead of reading the execution when it claims it within HANDED_OVER_MS: this saves a
   * Mongo round trip only for a request that had to wait in the queue (`admit` dispatches one that
   * finds a free slot itself) and is claimed soon after. What it needs (script, limits, user,
   * priority) never changes once stored; a cancel or a final state since is caught by the saga's
   * conditional queued→scheduled move.
   */
  private readonly handedOver = new Map<string, { request: RequestedExecution; at: number }>();

  constructor(private readonly options: SagaSchedulerOptions) {
    this.logger = options.logger.child({ component: 'saga-scheduler' });
  }

  start(): Promise<void> {
    return this.gate.start(() => {
      this.timer = setInterval(() => this.wake(), this.options.pollIntervalMs ?? 200);
      this.logger.info(
        { max_concurrent: this.options.maxConcurrent, lease_ms: this.options.leaseMs },
        'saga scheduler started',
      );
      this.wake();
      return Promise.resolve();
    });
  }

  stop(): Promise<void> {
    return this.gate.stop(async () => {
      clearInterval(this.timer);
      // Stop taking slots, then let the dispatch in flight finish (it compensates on failure).
      await this.draining;
      this.logger.info('saga scheduler stopped');
    });
  }

  /** Claims and dispatches until the cap is reached or the queue is empty. */
  wake(justQueued?: RequestedExecution): void {
    if (!this.gate.running) return;
    if (justQueued) {
      const now = Date.now();
      for (const [id, entry] of this.handedOver)
        if (now - entry.at > HANDED_OVER_MS) this.handedOver.delete(id);
      this.handedOver.set(justQueued.execution_id, { request: justQueued, at: now });
    }
    if (this.draining) {
      this.wakeAgain = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      }
    });
  }

  private async drain(): Promise<void> {
    const { queue, maxConcurrent, leaseMs } = this.options;
    while (this.gate.running) {
      let id: string | null;
      try {
        id = await queue.claim(maxConcurrent, leaseMs);
      } catch (err) {
        this.logger.error({ err }, 'claiming a slot failed; retrying on the next poll');
        return;
      }
      if (id === null) return;
      let result: Dispatch;
      try {
        result = await this.dispatch(id);
      } catch (err) {
        // Failed before the command went out (Mongo or Redis): undo the claim. Without the
        // priority at hand, the reconciler re-queues it from Mongo.
        await this.compensate(id, null, `dispatch failed: ${String(err)}`, withCorrelation(this.logger, id));
        result = 'compensated';
      }
      // After a compensation, wait for the next poll rather than spin on a failing dependency.
      if (result === 'compensated') return;
    }
  }

  /**
   * A request whose saga was just created: it takes a slot at once when one is free and nothing of
   * its priority or higher waits (`enqueueOrClaim`), and its command goes out right here, with
   * `announce` (its execution_queued) in the same produce request. This spares every execution
   * that finds a free slot the drain's claim round trip and a produce request of its own for the
   * announcement. Otherwise it is queued and the drain is woken, as for any enqueue.
   */
  async admit(request: RequestedExecution, announce: PlatformEvent): Promise<Admitted> {
    const { queue, maxConcurrent, leaseMs } = this.options;
    const id = request.execution_id;
    const admission = await queue.enqueueOrClaim(
      id,
      request.priority,
      maxConcurrent,
      leaseMs,
      Date.now(),
      request.user_id,
    );
    if (admission !== 'claimed') {
      this.wake(request);
      return 'waiting';
    }
    const logger = withCorrelation(this.logger, id);
    try {
      return await this.send(id, request, [announce], logger);
    } catch (err) {
      await this.compensate(id, request.priority, `dispatch failed: ${String(err)}`, logger);
      return 'compensated';
    }
  }

  private async dispatch(id: string): Promise<Dispatch> {
    const { queue, executions } = this.options;
    const logger = withCorrelation(this.logger, id);
    const handed = this.handedOver.get(id);
    this.handedOver.delete(id);
    let request: RequestedExecution;
    if (handed && Date.now() - handed.at <= HANDED_OVER_MS) {
      request = handed.request;
    } else {
      const execution = await executions.findById(id);
      if (execution === null || isTerminal(execution.status)) {
        logger.info(
          { status: execution?.status ?? 'absent' },
          'claimed execution is gone or final; slot freed',
        );
        await queue.release(id);
        return 'skipped';
      }
      request = requestPayload(execution);
    }
    return this.send(id, request, [], logger);
  }

  /** The claimed execution's saga → scheduled, then its command (after `before`) goes out. */
  private async send(
    id: string,
    request: RequestedExecution,
    before: readonly PlatformEvent[],
    logger: Logger,
  ): Promise<Dispatch> {
    const { queue, sagas, events } = this.options;
    const userId = request.user_id;
    // `scheduled` too: the reconciler may have re-enqueued an execution whose command never went out.
    const saga = await sagas.transition(id, ['queued', 'scheduled'], 'scheduled', step('scheduled'));
    if (saga === null) {
      logger.info('saga was cancelled, failed or is unknown before it got a slot; slot freed');
      await queue.release(id);
      return 'skipped';
    }
    try {
      await events.publish(
        ...before,
        events.build('execution_scheduled', id, { execution_id: id, saga_id: id }, userId),
        events.build('create_pod_command', id, createPodCommandPayload(request), userId),
      );
    } catch (err) {
      await this.compensate(
        id,
        request.priority,
        `publishing create_pod_command failed: ${String(err)}`,
        logger,
      );
      return 'compensated';
    }
    // The command is out: from here nothing may undo the claim, so a failed bookkeeping write is only logged.
    await sagas.recordStep(id, step('command_published')).catch((err: unknown) => {
      logger.warn({ err }, 'could not record command_published on the saga');
    });
    logger.info({ priority: request.priority }, 'execution scheduled; create_pod_command published');
    return 'sent';
  }

  /** Undoes a claim whose command did not go out: saga back to queued, slot freed, entry re-queued. */
  private async compensate(
    id: string,
    priority: Priority | null,
    reason: string,
    logger: Logger,
  ): Promise<void> {
    const { queue, sagas } = this.options;
    logger.warn({ reason }, 'dispatch failed; releasing the slot and re-queueing');
    try {
      const now = new Date();
      await sagas.transition(id, ['scheduled'], 'queued', step('scheduled', 'compensated', now), {
        error: reason,
        compensation: { name: 'release_slot_and_requeue', at: now, reason },
      });
      // Without the priority (execution unreadable) the reconciler re-queues it from Mongo.
      if (priority === null) await queue.release(id);
      else await queue.requeue(id, priority);
    } catch (err) {
      // The lease or the reconciler's re-queue pass finishes what this could not.
      logger.error({ err }, 'compensation failed; the reconciler will recover the execution');
    }
  }
}
