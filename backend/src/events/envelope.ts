import { z } from 'zod';

/** Who produced an event and which request it belongs to; carried unchanged through the pipeline. */
export const EventMetadata = z.object({
  service_name: z.string().min(1),
  service_version: z.string(),
  user_id: z.string().min(1).nullish(),
  /** Execution id for the execution pipeline, trace or request id otherwise. */
  correlation_id: z.string().min(1),
});
export type EventMetadata = z.infer<typeof EventMetadata>;

/**
 * The shape every event on Kafka shares. `payload` is checked against the schema of its
 * `event_type` by the event catalog, not here.
 */
export const EventEnvelope = z.object({
  event_id: z.uuid(),
  event_type: z.string().min(1),
  event_version: z.number().int().positive(),
  timestamp: z.iso.datetime({ offset: true }),
  /** The entity the event is about (execution id, user id); also the Kafka message key. */
  aggregate_id: z.string().min(1),
  metadata: EventMetadata,
  payload: z.unknown(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;
