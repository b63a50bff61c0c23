import { terminalEventTypeOf, type PlatformEventOf } from '../events/definitions.js';
import type { ExecutionRepository } from '../executions/execution-repository.js';
import { isTerminal } from '../executions/execution.js';
import type { ExecutionOutcome, ExecutionRequest, ExecutorBackend } from '../executor/executor-backend.js';
import { AppError } from '../platform/errors/app-error.js';
import { outcome, type HandlerContext, type HandlerOutcome } from '../platform/kafka/handler.js';
import { LiveOutput } from './live-output.js';
import type { RunningExecutions } from './running-executions.js';
import { resultWithoutOutput, type ExecutionEvents } from '../executions/execution-events.js';
import { resultOf } from './worker-events.js';

export interface RunExecutionDeps {
  backend: ExecutorBackend;
  /** Name in execution_started (EXECUTOR_BACKEND: `local`, `kubernetes`). */
  backendName: string;
  executions: Pick<ExecutionRepository, 'findById'>;
  events: ExecutionEvents;
  running: RunningExecutions;
  /** Output batching; defaults 20 ms / 16 KiB. */
  flushMs?: number;
  flushBytes?: number;
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
 * runs, then the last batch together with the terminal event. Everything is awaited, so the
 * runner commits the command only after the terminal event is on Kafka; a failed publish aborts
 * the run and the command is retried (the script then runs again: at-least-once).
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
  const execution = await deps.executions.findById(id);
  if (execution && isTerminal(execution.status)) {
    logger.info({ status: execution.status }, 'execution already finished; command skipped');
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
  const live = new LiveOutput({
    executionId: id,
    publish: (chunks) =>
      deps.events.publish(...chunks.map((chunk) => deps.events.build('execution_output', id, chunk, userId))),
    ...(deps.flushMs === undefined ? {} : { flushMs: deps.flushMs }),
    ...(deps.flushBytes === undefined ? {} : { flushBytes: deps.flushBytes }),
    onPublishError: (err) => {
      logger.error({ err }, 'publishing the run’s events failed; stopping the run');
      abort.abort(new Error('event publish failed'));
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
    const rest = await live.finish();
    const chunks = live.chunkCount;
    const result =
      'failed' in ran ? resultWithoutOutput(id, 'failed', ran.failed) : resultOf(id, ran, chunks);
    const outputs = rest.map((chunk) => deps.events.build('execution_output', id, chunk, userId));
    await deps.events.publish(
      ...outputs,
      deps.events.build(terminalEventTypeOf(result.verdict), id, result, userId),
    );
    logger.info(
      { verdict: result.verdict, exit_code: result.exit_code, output_chunks: result.output_chunks },
      'execution finished',
    );
    return outcome.done();
  } finally {
    ctx.signal.removeEventListener('abort', onStop);
    // Started/output publishes still in flight must not end up as unhandled rejections.
    await live.finish().catch(() => undefined);
  }
}
