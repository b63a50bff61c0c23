import type { PlatformEventCatalog, PlatformEventDefinitions } from '../events/definitions.js';
import type { AnyEventOf } from '../events/catalog.js';
import {
  outcome,
  type AnyEventHandler,
  type EventHandlers,
  type HandlerContext,
  type HandlerOutcome,
} from '../platform/kafka/handler.js';
import type { EventBatchWriter } from './event-batch-writer.js';

export interface EventStoreHandlerDeps {
  writer: Pick<EventBatchWriter, 'store'>;
}

/** Stores one event with its Kafka coordinates; a failed insert throws, which the runner retries. */
export async function onAnyEvent(
  deps: EventStoreHandlerDeps,
  event: AnyEventOf<PlatformEventDefinitions>,
  { topic, partition, offset }: HandlerContext,
): Promise<HandlerOutcome> {
  await deps.writer.store({ envelope: event, topic, partition, offset });
  return outcome.done();
}

/** The same handler for every event type of the catalog: the store keeps them all. */
export function eventStoreHandlers(
  catalog: PlatformEventCatalog,
  deps: EventStoreHandlerDeps,
): EventHandlers<PlatformEventDefinitions> {
  const store: AnyEventHandler<PlatformEventDefinitions> = (event, ctx) => onAnyEvent(deps, event, ctx);
  return Object.fromEntries(catalog.eventTypes.map((type) => [type, store]));
}
