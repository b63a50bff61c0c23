import type { Response } from 'express';
import type { Execution } from '../executions/execution.js';
import { isTerminal } from '../executions/execution.js';
import type { Logger } from '../platform/logging/logger.js';
import {
  compareStreamIds,
  lifecycleRank,
  parseNotification,
  READ_PAGE,
  type ExecutionEventLog,
  type LogEntry,
} from './execution-event-log.js';
import type { ExecutionStreamHub } from './execution-stream-hub.js';

export interface ExecutionStreamOptions {
  execution: Execution;
  /** The latest stored state, read when the log says a result was stored. */
  reload: () => Promise<Execution | null>;
  log: ExecutionEventLog;
  hub: ExecutionStreamHub;
  lastEventId: string | undefined;
  heartbeatMs: number;
  /** How the final result is shown to the client. */
  renderResult: (execution: Execution) => unknown;
  /**
   * Safety net: how often the stored status is checked, and how long a stored verdict may go
   * without its `result` log entry before the stream sends the stored result itself (0 when no
   * bridge feeds the log at all).
   */
  poll?: { everyMs: number; graceMs: number };
  /** Where a failure that ends the stream is logged in full (the client gets a generic frame). */
  logger: Logger;
}

function frame(event: string, data: unknown, id?: string): string {
  const idLine = id === undefined ? '' : `id: ${id}\n`;
  return `${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Serves one execution's SSE stream: the current status first, then the log from Last-Event-ID
 * (or its start) and every new entry as the bridge appends it, then the stored result, then close.
 * An execution that already ended gets its result at once.
 */
export async function streamExecution(res: Response, options: ExecutionStreamOptions): Promise<void> {
  const { execution, log, hub } = options;
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.write(frame('status', { execution_id: execution.id, status: execution.status }));

  if (isTerminal(execution.status)) {
    res.write(frame('result', options.renderResult(execution)));
    res.end();
    return;
  }

  let lastId = options.lastEventId;
  // The first frame is the stored status; a logged step at or before it would be a step back.
  let stepSent = lifecycleRank(execution.status);
  let closed = false;
  let draining: Promise<void> = Promise.resolve();
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const send = async (entry: LogEntry): Promise<void> => {
    if (entry.kind === 'result') {
      const latest = await options.reload();
      res.write(frame('result', latest ? options.renderResult(latest) : JSON.parse(entry.data), entry.id));
      closed = true;
      return;
    }
    if (entry.kind === 'status') {
      const rank = lifecycleRank((JSON.parse(entry.data) as { status?: unknown }).status);
      if (rank <= stepSent) return;
      stepSent = rank;
    }
    res.write(`id: ${entry.id}\nevent: ${entry.kind}\ndata: ${entry.data}\n\n`);
  };
  const sendAll = async (entries: LogEntry[]): Promise<void> => {
    for (const entry of entries) {
      if (closed) return;
      await send(entry);
      lastId = entry.id;
    }
  };
  // Reads until a short page: what is appended after that comes with its wake-up (the channel is
  // watched before the first read).
  const readStream = async (): Promise<void> => {
    while (!closed) {
      const entries = await log.readAfter(execution.id, lastId, READ_PAGE);
      await sendAll(entries);
      if (entries.length < READ_PAGE) return;
    }
  };
  // Steps are chained so entries go out once and in order even when wake-ups overlap.
  const serialized = (work: () => Promise<void>): Promise<void> => {
    draining = draining.then(async () => {
      if (closed) return;
      try {
        await work();
      } catch (err) {
        // The client reconnects with Last-Event-ID and resumes where this stream stopped. The
        // cause (often Redis's own error text) is for the log, not for the client.
        options.logger.warn(
          { err, execution_id: execution.id, last_event_id: lastId },
          'SSE stream interrupted',
        );
        res.write(frame('error', { detail: 'stream interrupted; reconnect with Last-Event-ID to resume' }));
        closed = true;
      }
      if (closed) finish();
    });
    return draining;
  };
  // A wake-up carries the entries it announces (consecutive in the stream). Those not sent yet go
  // out as they are when they follow the last entry sent; after a gap the stream is read instead.
  const onNotification = (message: string): void => {
    const notification = parseNotification(message);
    void serialized(() => {
      if (notification === null) return readStream();
      const fresh = notification.entries.filter(
        (entry) => lastId === undefined || compareStreamIds(entry.id, lastId) > 0,
      );
      if (fresh.length === 0) return Promise.resolve();
      const follows = fresh.length < notification.entries.length || notification.prev === (lastId ?? '');
      return follows ? sendAll(fresh) : readStream();
    });
  };
  const unwatch = await hub.watch(log.channel(execution.id), onNotification);
  const heartbeat = setInterval(() => res.write(`: keep-alive\n\n`), options.heartbeatMs);
  let terminalSince: number | undefined;
  const poll = options.poll;
  const poller =
    poll &&
    setInterval(() => {
      void serialized(async () => {
        const latest = await options.reload().catch(() => null);
        if (!latest || !isTerminal(latest.status)) return;
        terminalSince ??= Date.now();
        if (Date.now() - terminalSince < poll.graceMs) return;
        res.write(frame('result', options.renderResult(latest)));
        closed = true;
      });
    }, poll.everyMs);
  res.on('close', () => {
    closed = true;
    finish();
  });
  // Subscribe first, then read: an entry appended in between is read, not missed.
  await serialized(readStream);
  await done;
  clearInterval(heartbeat);
  if (poller) clearInterval(poller);
  await unwatch();
  if (!res.writableEnded) res.end();
}
