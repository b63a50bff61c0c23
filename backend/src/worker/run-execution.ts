import { terminalEventTypeOf, type PlatformEvent, type PlatformEventOf } from '../events/definitions.js';
import type { ExecutionRepository } from '../executions/execution-repository.js';
import { isTerminal } from '../executions/execution.js';
import type { ExecutionOutcome, ExecutionRequest, ExecutorBackend } from '../executor/executor-backend.js';
import type { RunOutboxRepository } from '../executions/run-outbox-repository.js';
import { AppError } from '../platform/errors/app-error.js';
import { outcome, type HandlerContext, type HandlerOutcome } from '../platform/kafka/handler.js';
import { isRecordError } from '../platform/kafka/producer.js';
import type { Logger } from '../platform/logging/logger.js';
import { LiveOutput, type OutputChunk } from './live-output.js';
import type { RunningExecutions } from './running-executions.js';
import { resultWithoutOutput, stableEventId, type ExecutionEvents } from '../executions/execution-events.js';
import { settleBy } from './settle-by.js';
import { resultOf } from './worker-events.js';

export interface RunExecutionDeps {
  backend: Pick<ExecutorBackend, 'run'>;
  /** Name in execution_started (EXECUTOR_BACKEND: `local`, `kubernetes`). */
  backendName: string;
  executions: Pick<ExecutionRepository, 'findById'>;
  events: ExecutionEvents;
  running: RunningExecutions;
  /** Output batching; defaults 20 ms / 16 KiB. */
  flushMs?: number;
  flushBytes?: number;
  /** EXECUTION_MAX_OUTPUT_EVENTS: live output events per run; unlimited when absent. */
  maxOutputEvents?: number;
  /** Where a finished run's events wait while Kafka cannot take them. */
  outbox: Pick<RunOutboxRepository, 'park' | 'holds'>;
  /** WORKER_OUTBOX_MAX_BYTES */
  outboxMaxBytes: number;
  /** WORKER_OUTBOX_AFTER_MS: how long the end of a run waits for Kafka before using the outbox. */
  outboxAfterMs: number;
  /** Told when events were put in the outbox (wakes the relay). */
  parked: () => void;
}

type CreatePodCommand = PlatformEventOf<'create_pod_command'>;

export function executionRequestOf(command: CreatePodCommand['payload']): ExecutionRequest {
  const { limits } = command;
  return {
    executionId: command.execution_id,
    runtime: { lang: command.lang, version: command.lang_version },
    script: command.script,
    stdin: command.stdin,
    args: command.args,
    limits: {
      wallSeconds: limits.wall_seconds,
      cpuSeconds: limits.cpu_seconds,
      memoryBytes: limits.memory_bytes,
      maxProcesses: limits.max_processes,
      maxFileBytes: limits.max_file_bytes,
      maxOutputBytes: limits.max_output_bytes,
    },
  };
}

/**
 * create_pod_command: run the script and report it. Published, in this order on each execution's
 * key: execution_started (at once, while the sandbox starts), execution_output batches while it
 * runs, then the last batch together with the terminal event. The runner commits the command
 * only after the terminal event is on Kafka or, when Kafka does not take it within
 * WORKER_OUTBOX_AFTER_MS, in the run outbox (the relay sends it later); when neither works the
 * command is retried and the script runs again (at-least-once). A failed live-output publish
 * stops only the live output. Output and terminal events carry ids derived from the execution id
 * (and seq), so a re-sent copy is deduped downstream.
 */
export async function runCreatePodCommand(
  deps: RunExecutionDeps,
  command: CreatePodCommand,
  ctx: HandlerContext,
): Promise<HandlerOutcome> {
  const payload = command.payload;
  const id = payload.execution_id;
  const userId = payload.user_id;
  const { logger } = ctx;

  // A duplicate delivery while the first is still running here (e.g. after a rebalance).
  const inProgress = deps.running.get(id);
  if (inProgress) {
    logger.info('execution already running in this worker; waiting for it instead of starting it twice');
    await inProgress.catch(() => undefined);
    return outcome.done();
  }
  const [execution, parked] = await Promise.all([deps.executions.findById(id), deps.outbox.holds(id)]);
  if (execution && isTerminal(execution.status)) {
    logger.info({ status: execution.status }, 'execution already finished; command skipped');
    return outcome.done();
  }
  if (parked) {
    logger.info('execution already finished, its result is in the outbox; command skipped');
    return outcome.done();
  }
  if (deps.running.wasCancelled(id)) {
    const result = resultWithoutOutput(id, 'cancelled', 'cancelled before it started');
    await deps.events.publish(deps.events.build('execution_cancelled', id, result, userId));
    logger.info('execution cancelled before it started');
    return outcome.done();
  }

  const abort = new AbortController();
  const onStop = () => abort.abort(new Error('worker stopping'));
  ctx.signal.addEventListener('abort', onStop, { once: true });
  if (ctx.signal.aborted) onStop();
  const outputEvent = (chunk: OutputChunk) =>
    deps.events.build('execution_output', id, chunk, userId, {
      eventId: stableEventId(`${id}/output/${chunk.seq}`),
    });
  const live = new LiveOutput({
    executionId: id,
    publish: (chunks) => deps.events.publish(...chunks.map(outputEvent)),
    ...(deps.flushMs === undefined ? {} : { flushMs: deps.flushMs }),
    ...(deps.flushBytes === undefined ? {} : { flushBytes: deps.flushBytes }),
    ...(deps.maxOutputEvents === undefined ? {} : { maxChunks: deps.maxOutputEvents }),
    onPublishError: (err) => {
      logger.warn({ err }, 'publishing live output failed; live output stopped, the run goes on');
    },
  });
  const run = (async (): Promise<ExecutionOutcome | { failed: string }> => {
    live.after(
      deps.events.publish(
        deps.events.build('execution_started', id, { execution_id: id, backend: deps.backendName }, userId),
      ),
    );
    try {
      return await deps.backend.run(
        executionRequestOf(payload),
        {
          started: (info) => logger.debug({ pid: info.pid }, 'sandbox started'),
          output: (stream, chunk) => live.push(stream, chunk),
        },
        abort.signal,
      );
    } catch (err) {
      // A request the backend refuses (unknown runtime, bad limits) fails the execution, for good.
      if (err instanceof AppError && err.code === 'validation') return { failed: err.message };
      throw err;
    }
  })();
  deps.running.add(id, abort, run);
  try {
    const ran = await run;
    const deadline = Date.now() + deps.outboxAfterMs;
    const rest = await live.finish(deadline);
    const chunks = live.chunkCount;
    const result =
      'failed' in ran ? resultWithoutOutput(id, 'failed', ran.failed) : resultOf(id, ran, chunks);
    const terminal = deps.events.build(terminalEventTypeOf(result.verdict), id, result, userId, {
      eventId: stableEventId(`${id}/terminal`),
    });
    const via = await publishOrPark(deps, id, [...rest.map(outputEvent), terminal], deadline, logger);
    logger.info(
      {
        verdict: result.verdict,
        exit_code: result.exit_code,
        output_chunks: result.output_chunks,
        ...(live.capped ? { live_output_capped: true } : {}),
        ...(live.stopped ? { live_output_stopped: true } : {}),
        ...(via === 'outbox' ? { reported_via: 'outbox' } : {}),
      },
      'execution finished',
    );
    return outcome.done();
  } finally {
    ctx.signal.removeEventListener('abort', onStop);
    // Stops the batching timer; publishes still in flight settle on their own.
    await live.finish(0);
  }
}

/**
 * Sends a finished run's last events. When Kafka has not taken them by `deadline` (failed or
 * still trying), they go to the outbox and the relay sends them; a publish still in flight may
 * land as well, a duplicate consumers dedupe by event id. Throws, so that the command is retried,
 * when the broker refused the records (the outbox could not send them either) or the outbox is
 * full or unreachable and the publish failed.
 */
async function publishOrPark(
  deps: RunExecutionDeps,
  executionId: string,
  events: PlatformEvent[],
  deadline: number,
  logger: Logger,
): Promise<'kafka' | 'outbox'> {
  const sending = deps.events.publish(...events);
  const first = await settleBy(sending, deadline);
  if (first.kind === 'fulfilled') return 'kafka';
  if (first.kind === 'rejected' && !outboxCanSend(first.err)) throw first.err;
  const terminalId = events.at(-1)?.event_id ?? stableEventId(`${executionId}/terminal`);
  const parked = await deps.outbox
    .park({ id: terminalId, executionId, events }, deps.outboxMaxBytes)
    .catch((err: unknown) => {
      logger.error({ err }, 'the run outbox is unreachable too');
      return 'unreachable' as const;
    });
  if (parked === 'parked') {
    logger.warn(
      { err: first.kind === 'rejected' ? first.err : undefined, events: events.length },
      'Kafka did not take the result in time; kept in the run outbox for the relay',
    );
    deps.parked();
    return 'outbox';
  }
  if (parked === 'full') logger.error({ max_bytes: deps.outboxMaxBytes }, 'the run outbox is full');
  if (first.kind === 'rejected') throw first.err;
  await sending;
  return 'kafka';
}

/** Broker refusals of the records themselves, and events that fail validation, never go through. */
function outboxCanSend(err: unknown): boolean {
  return !isRecordError(err) && !(err instanceof AppError);
}
