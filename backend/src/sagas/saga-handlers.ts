import type {
  PlatformEvent,
  PlatformEventDefinitions,
  PlatformEventOf,
  TerminalEventType,
} from '../events/definitions.js';
import type { ExecutionRepository } from '../executions/execution-repository.js';
import { isTerminal } from '../executions/execution.js';
import {
  outcome,
  type EventHandlers,
  type HandlerContext,
  type HandlerOutcome,
} from '../platform/kafka/handler.js';
import type { ExecutionQueue } from '../queue/execution-queue.js';
import {
  resultWithoutOutput,
  type ExecutionEvents,
  type RequestedExecution,
} from '../executions/execution-events.js';
import { sagaStateForVerdict, step } from './saga.js';
import type { SagaRepository } from './saga-repository.js';
import type { Admitted } from './saga-scheduler.js';

export interface SagaHandlerDeps {
  queue: ExecutionQueue;
  executions: ExecutionRepository;
  sagas: SagaRepository;
  events: ExecutionEvents;
  /** Runs the scheduler now (a slot may be claimable). */
  wakeScheduler: () => void;
  /**
   * Queues a request whose saga was just created, or dispatches it at once when a slot is free
   * (SagaScheduler.admit); `announce` (its execution_queued) then goes out with its command.
   */
  admit: (request: RequestedExecution, announce: PlatformEvent) => Promise<Admitted>;
}

/**
 * execution_requested: create the saga, queue the execution (or, with a slot free, dispatch it at
 * once), announce it. Idempotent by execution id: a redelivery finds the saga and re-runs only
 * steps that are themselves idempotent (`admit` leaves an execution already queued or holding a
 * slot as it is: enqueueOrClaim answers `present`; execution_queued may repeat).
 *
 * The execution is not read from Mongo: the API stored it before publishing this event (which
 * carries everything a pod command needs), and an execution that ended or was cancelled before
 * its request got here has a final saga already, which stops it below.
 */
export async function onExecutionRequested(
  deps: SagaHandlerDeps,
  event: PlatformEventOf<'execution_requested'>,
  { logger }: HandlerContext,
): Promise<HandlerOutcome> {
  const { execution_id: id, priority, user_id: userId } = event.payload;
  // `enqueued` is recorded with the creation, one write instead of two: if this process dies before
  // the admit below, the redelivered request finds the saga `queued` and admits it then.
  const { saga } = await deps.sagas.createIfAbsent(id, 'queued', [
    step('requested', event.event_id),
    step('enqueued', priority),
  ]);
  if (saga.state !== 'queued') {
    logger.info({ saga_state: saga.state }, 'saga already past queueing; duplicate request ignored');
    return outcome.done();
  }
  const queued = deps.events.build('execution_queued', id, { execution_id: id, priority }, userId);
  const admitted = await deps.admit(event.payload, queued);
  // Sent with its command, or its saga ended meanwhile: nothing left to announce.
  if (admitted === 'sent' || admitted === 'skipped') return outcome.done();
  // Waiting for a slot (or back in the queue after a failed dispatch): the scheduler takes it from here.
  await deps.events.publish(queued);
  logger.info({ priority, admitted }, 'execution queued');
  return outcome.done();
}

/** A terminal event: free the slot and close the saga. Safe to repeat; late duplicates change nothing. */
export async function onTerminal(
  deps: SagaHandlerDeps,
  event: PlatformEventOf<TerminalEventType>,
  { logger }: HandlerContext,
): Promise<HandlerOutcome> {
  const { execution_id: id, verdict, reason } = event.payload;
  const released = await deps.queue.release(id);
  const final = sagaStateForVerdict(verdict);
  const error = final === 'failed' ? reason : null;
  const done = step('terminal_event', `${event.event_type}:${event.event_id}`);
  const moved = await deps.sagas.transition(id, ['queued', 'scheduled'], final, done, { error });
  // A terminal event for a saga never seen: record it final so a late request does not start it.
  if (moved === null) await deps.sagas.createIfAbsent(id, final, done, error);
  logger.info({ verdict, slot_released: released, saga_state: moved?.state ?? 'unchanged' }, 'saga closed');
  if (released) deps.wakeScheduler();
  return outcome.done();
}

/**
 * execution_cancel_requested: still queued → take it out of the queue and publish
 * execution_cancelled ourselves; scheduled or running → ask the worker to delete the sandbox (it
 * reports execution_cancelled); already final → nothing. The queued→cancelled move is
 * conditional, so it races the scheduler's queued→scheduled move safely.
 */
export async function onCancelRequested(
  deps: SagaHandlerDeps,
  event: PlatformEventOf<'execution_cancel_requested'>,
  { logger }: HandlerContext,
): Promise<HandlerOutcome> {
  const { execution_id: id, reason } = event.payload;
  const execution = await deps.executions.findById(id);
  if (execution === null) {
    logger.warn('cancel requested for an unknown execution; nothing to cancel');
    return outcome.done();
  }
  if (isTerminal(execution.status)) {
    logger.info({ status: execution.status }, 'cancel requested after the execution ended; nothing to do');
    return outcome.done();
  }
  const userId = execution.userId;
  const publishCancelled = async (): Promise<HandlerOutcome> => {
    await deps.queue.release(id);
    await deps.events.publish(
      deps.events.build('execution_cancelled', id, resultWithoutOutput(id, 'cancelled', reason), userId),
    );
    await deps.sagas.recordStep(id, step('cancelled_published'));
    logger.info('cancelled while queued');
    deps.wakeScheduler();
    return outcome.done();
  };

  // Two rounds at most: a lost race against the scheduler means the saga is now scheduled.
  for (let round = 0; round < 2; round++) {
    const requested = step('cancel_requested', reason);
    const { saga, created } = await deps.sagas.createIfAbsent(id, 'cancelled', requested);
    if (created) return publishCancelled();
    switch (saga.state) {
      case 'queued': {
        const moved = await deps.sagas.transition(id, ['queued'], 'cancelled', requested);
        if (moved !== null) return publishCancelled();
        continue;
      }
      case 'cancelled':
        // Our earlier attempt moved the saga but the event may not have gone out; Mongo is not final.
        return publishCancelled();
      case 'scheduled':
        await deps.events.publish(
          deps.events.build('delete_pod_command', id, { execution_id: id, saga_id: id, reason }, userId),
        );
        await deps.sagas.recordStep(id, step('delete_requested', reason));
        logger.info('cancel requested while scheduled or running; delete_pod_command published');
        return outcome.done();
      case 'completed':
      case 'failed':
        return outcome.done();
    }
  }
  return outcome.retry('saga state kept changing under the cancel');
}

export function sagaHandlers(deps: SagaHandlerDeps): EventHandlers<PlatformEventDefinitions> {
  const terminal = (event: PlatformEventOf<TerminalEventType>, ctx: HandlerContext) =>
    onTerminal(deps, event, ctx);
  return {
    execution_requested: (event, ctx) => onExecutionRequested(deps, event, ctx),
    execution_cancel_requested: (event, ctx) => onCancelRequested(deps, event, ctx),
    execution_completed: terminal,
    execution_failed: terminal,
    execution_timeout: terminal,
    execution_cancelled: terminal,
  };
}
