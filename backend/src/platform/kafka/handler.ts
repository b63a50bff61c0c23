import type { AnyEventOf, EventDefinitions, EventOf, EventType } from '../../events/catalog.js';
import type { Logger } from '../logging/logger.js';

/** What a handler tells the consumer runner to do with the message. */
export type HandlerOutcome =
  | { kind: 'done' }
  /** Transient failure: try again with backoff, then dead-letter. */
  | { kind: 'retry'; reason: string }
  /** The event can never be handled (e.g. refers to nothing we know): dead-letter at once. */
  | { kind: 'invalid'; reason: string };

export const outcome = {
  done: (): HandlerOutcome => ({ kind: 'done' }),
  retry: (reason: string): HandlerOutcome => ({ kind: 'retry', reason }),
  invalid: (reason: string): HandlerOutcome => ({ kind: 'invalid', reason }),
};

export interface HandlerContext {
  topic: string;
  partition: number;
  offset: string;
  headers: Readonly<Record<string, string>>;
  /** 1 on first delivery to this process, +1 per in-process retry. */
  attempt: number;
  /** Child logger carrying the event's correlation id, event id and type. */
  logger: Logger;
  /** Fires when the consumer stops; long work should give up and return `retry`. */
  signal: AbortSignal;
}

/**
 * Handles one event. Delivery is at-least-once: the same event (same event_id) can arrive more
 * than once, so a handler must be idempotent by event_id. A thrown error counts as `retry`.
 */
export type EventHandler<E> = (event: E, context: HandlerContext) => Promise<HandlerOutcome>;

export type EventHandlers<D extends EventDefinitions> = {
  readonly [K in EventType<D>]?: EventHandler<EventOf<D, K>>;
};

export type AnyEventHandler<D extends EventDefinitions> = EventHandler<AnyEventOf<D>>;
