import type {
  ExecutionResult,
  PlatformEventDefinitions,
  PlatformEventOf,
  TerminalEventType,
} from '../events/definitions.js';
import type { ExecutionRepository } from '../executions/execution-repository.js';
import type { ExecutionOutcomeRecord, ExecutionStatus } from '../executions/execution.js';
import {
  outcome,
  type EventHandlers,
  type HandlerContext,
  type HandlerOutcome,
} from '../platform/kafka/handler.js';
import type { ExecutionEvents } from '../executions/execution-events.js';

export interface ResultHandlerDeps {
  executions: ExecutionRepository;
  events: ExecutionEvents;
}

export function outcomeOf(result: ExecutionResult): ExecutionOutcomeRecord {
  return {
    exitCode: result.exit_code,
    signal: result.signal,
    stdout: Buffer.from(result.stdout_b64, 'base64'),
    stderr: Buffer.from(result.stderr_b64, 'base64'),
    outputTruncated: result.output_truncated,
    resourceUsage: result.resource_usage,
    reason: result.reason,
  };
}

/**
 * Moves the execution forward. A null from `advance` means it was already there or further (a
 * duplicate or a late event): done without a write, unless the execution does not exist at all.
 */
async function advanceOrSkip(
  deps: ResultHandlerDeps,
  id: string,
  to: ExecutionStatus,
  { logger }: HandlerContext,
): Promise<HandlerOutcome> {
  const moved = await deps.executions.advance(id, to);
  if (moved !== null) {
    logger.debug({ status: to }, 'execution status advanced');
    return outcome.done();
  }
  if ((await deps.executions.findById(id)) === null) return outcome.invalid(`unknown execution ${id}`);
  return outcome.done();
}

/**
 * A terminal event: the first verdict written wins. result_stored is published whenever the
 * stored verdict is this event's verdict, so a crash between the write and the publish is repaired
 * by the redelivery; the cost is that a duplicate event of the same verdict publishes
 * result_stored again (consumers of result_stored must tolerate that).
 */
export async function onTerminalResult(
  deps: ResultHandlerDeps,
  event: PlatformEventOf<TerminalEventType>,
  { logger }: HandlerContext,
): Promise<HandlerOutcome> {
  const result = event.payload;
  const id = result.execution_id;
  let stored = await deps.executions.advance(id, result.verdict, { outcome: outcomeOf(result) });
  if (stored === null) {
    stored = await deps.executions.findById(id);
    if (stored === null) return outcome.invalid(`unknown execution ${id}`);
    if (stored.status !== result.verdict) {
      logger.info(
        { stored: stored.status, late: result.verdict },
        'late terminal event ignored; verdict kept',
      );
      return outcome.done();
    }
  } else {
    logger.info({ verdict: result.verdict, exit_code: result.exit_code }, 'result stored');
  }
  await deps.events.publish(
    deps.events.build('result_stored', id, { execution_id: id, verdict: result.verdict }, stored.userId),
  );
  return outcome.done();
}

export function resultHandlers(deps: ResultHandlerDeps): EventHandlers<PlatformEventDefinitions> {
  const terminal = (event: PlatformEventOf<TerminalEventType>, ctx: HandlerContext) =>
    onTerminalResult(deps, event, ctx);
  // No execution_queued handler: the API stores every execution as `queued`, so that event could
  // only confirm what is stored; not consuming it saves a Kafka fetch and two Mongo reads per run.
  return {
    execution_scheduled: (event, ctx) => advanceOrSkip(deps, event.payload.execution_id, 'scheduled', ctx),
    execution_started: (event, ctx) => advanceOrSkip(deps, event.payload.execution_id, 'running', ctx),
    execution_completed: terminal,
    execution_failed: terminal,
    execution_timeout: terminal,
    execution_cancelled: terminal,
  };
}
