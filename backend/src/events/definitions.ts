import { z } from 'zod';
import { defineEvents, EventCatalog, type AnyEventOf, type EventOf, type EventType } from './catalog.js';

const Id = z.string().min(1);

export const UserRole = z.enum(['user', 'admin']);
export type UserRole = z.infer<typeof UserRole>;

export const ExecutionPriority = z.enum(['critical', 'high', 'normal', 'low', 'background']);
export type ExecutionPriority = z.infer<typeof ExecutionPriority>;

export const ResourceUsage = z.object({
  wall_seconds: z.number().nonnegative(),
  cpu_seconds: z.number().nonnegative(),
  peak_memory_bytes: z.number().int().nonnegative(),
});
export type ResourceUsage = z.infer<typeof ResourceUsage>;

/**
 * How an execution ended. `completed` covers every exit code of the script (zero or not); the
 * limits name what stopped it; `failed` is a platform failure, with a reason.
 */
export const ExecutionVerdict = z.enum([
  'completed',
  'timeout',
  'cpu_limit',
  'memory_limit',
  'output_limit',
  'cancelled',
  'failed',
]);
export type ExecutionVerdict = z.infer<typeof ExecutionVerdict>;

export const ExecutionLimits = z.object({
  wall_seconds: z.number().int().positive(),
  cpu_seconds: z.number().positive(),
  memory_bytes: z.number().int().positive(),
  max_processes: z.number().int().positive(),
  max_file_bytes: z.number().int().positive(),
  max_output_bytes: z.number().int().positive(),
});
export type ExecutionLimits = z.infer<typeof ExecutionLimits>;

/** The one payload of every terminal execution event; output is base64 so any bytes survive. */
export const ExecutionResult = z.object({
  execution_id: Id,
  verdict: ExecutionVerdict,
  exit_code: z.number().int().nullable(),
  signal: z.string().nullable(),
  stdout_b64: z.string(),
  stderr_b64: z.string(),
  output_truncated: z.boolean(),
  /** Number of execution_output events published before this one (lets SSE wait for all of them). */
  output_chunks: z.number().int().nonnegative(),
  resource_usage: ResourceUsage.nullable(),
  reason: z.string().nullable(),
});
export type ExecutionResult = z.infer<typeof ExecutionResult>;

const ExecutionRequest = z.object({
  execution_id: Id,
  user_id: Id,
  lang: Id,
  lang_version: Id,
  script: z.string(),
  stdin: z.string(),
  args: z.array(z.string()),
  limits: ExecutionLimits,
});

/** Which DLQ message an event is about. */
const DlqMessageRef = z.object({
  dlq_id: Id,
  original_topic: Id,
  event_type: z.string().nullable(),
  event_id: z.string().nullable(),
  /** DLQ retries so far (the retried event: this retry's number). */
  retry_count: z.number().int().nonnegative(),
});

/** The production event catalog: every event the platform's processes exchange over Kafka. */
export const platformEventDefinitions = defineEvents({
  user_registered: {
    version: 1,
    payload: z.object({ user_id: Id, username: Id, email: z.email(), role: UserRole }),
  },
  user_logged_in: { version: 1, payload: z.object({ user_id: Id, username: Id }) },
  user_logged_out: { version: 1, payload: z.object({ user_id: Id, username: Id }) },
  auth_failed: {
    version: 1,
    payload: z.object({ username: z.string(), reason: z.string().min(1), ip: z.string().optional() }),
  },
  /** A user's settings changed (user-settings/): each changed leaf by dotted path, before and after. */
  user_settings_updated: {
    version: 1,
    payload: z.object({
      user_id: Id,
      /** The settings' version after this change: 1, 2, 3… per user. */
      version: z.number().int().positive(),
      changes: z
        .array(
          z.object({
            field: z.string().min(1),
            old: z.union([z.string(), z.number(), z.boolean(), z.null()]),
            new: z.union([z.string(), z.number(), z.boolean(), z.null()]),
          }),
        )
        .min(1),
      /** The earlier version this change restored, or null for an ordinary update. */
      restored_from: z.number().int().nonnegative().nullable(),
    }),
  },

  execution_requested: {
    version: 1,
    payload: ExecutionRequest.extend({ priority: ExecutionPriority }),
  },
  execution_queued: { version: 1, payload: z.object({ execution_id: Id, priority: ExecutionPriority }) },
  execution_scheduled: { version: 1, payload: z.object({ execution_id: Id, saga_id: Id }) },
  execution_started: {
    version: 1,
    payload: z.object({ execution_id: Id, backend: Id, pod_name: z.string().optional() }),
  },
  execution_output: {
    version: 1,
    payload: z.object({
      execution_id: Id,
      stream: z.enum(['stdout', 'stderr']),
      /** 0, 1, 2… per execution across both streams, in the order produced. */
      seq: z.number().int().nonnegative(),
      data_b64: z.string(),
    }),
  },
  execution_completed: { version: 1, payload: ExecutionResult },
  execution_failed: { version: 1, payload: ExecutionResult },
  execution_timeout: { version: 1, payload: ExecutionResult },
  execution_cancelled: { version: 1, payload: ExecutionResult },
  execution_cancel_requested: {
    version: 1,
    payload: z.object({ execution_id: Id, requested_by: Id, reason: z.string().min(1) }),
  },

  result_stored: { version: 1, payload: z.object({ execution_id: Id, verdict: ExecutionVerdict }) },
  result_failed: { version: 1, payload: z.object({ execution_id: Id, reason: z.string().min(1) }) },

  create_pod_command: {
    version: 1,
    payload: ExecutionRequest.extend({ saga_id: Id }),
  },
  /** Kubernetes backend: the worker created the executor pod (and its script ConfigMap). */
  pod_created: {
    version: 1,
    payload: z.object({ execution_id: Id, pod_name: z.string().min(1), namespace: z.string().min(1) }),
  },
  /** Kubernetes backend: the pod was bound to a node (pod monitor). */
  pod_scheduled: {
    version: 1,
    payload: z.object({ execution_id: Id, pod_name: z.string().min(1), node_name: z.string().nullable() }),
  },
  /** Kubernetes backend: the pod was deleted after its result was reported, or on cancel. */
  pod_deleted: {
    version: 1,
    payload: z.object({ execution_id: Id, pod_name: z.string().min(1), reason: z.string().min(1) }),
  },
  delete_pod_command: {
    version: 1,
    payload: z.object({ execution_id: Id, saga_id: Id.optional(), reason: z.string().min(1) }),
  },

  /** DLQ processor: a dead-lettered message was stored (status per the retry policy). */
  dlq_message_received: {
    version: 1,
    payload: DlqMessageRef.extend({
      error: z.string(),
      reason: z.string().min(1),
      status: z.enum(['pending', 'scheduled', 'discarded']),
      next_retry_at: z.iso.datetime().nullable(),
    }),
  },
  /** DLQ processor: the message was republished to its original topic. */
  dlq_message_retried: { version: 1, payload: DlqMessageRef },
  /** DLQ processor or admin: the message went to the archive, never to be retried automatically. */
  dlq_message_discarded: {
    version: 1,
    payload: DlqMessageRef.extend({ by: z.enum(['policy', 'admin']) }),
  },
  /** Unresolved DLQ messages rose to a threshold; once per crossing, for admin notifications. */
  dlq_threshold_crossed: {
    version: 1,
    payload: z.object({
      level: z.enum(['warning', 'critical']),
      count: z.number().int().nonnegative(),
      threshold: z.number().int().positive(),
    }),
  },
});

/** The terminal event types, and which one carries a verdict. */
export const TERMINAL_EVENT_TYPES = [
  'execution_completed',
  'execution_failed',
  'execution_timeout',
  'execution_cancelled',
] as const;
export type TerminalEventType = (typeof TERMINAL_EVENT_TYPES)[number];

export function terminalEventTypeOf(verdict: ExecutionVerdict): TerminalEventType {
  switch (verdict) {
    case 'completed':
      return 'execution_completed';
    case 'timeout':
      return 'execution_timeout';
    case 'cancelled':
      return 'execution_cancelled';
    case 'cpu_limit':
    case 'memory_limit':
    case 'output_limit':
    case 'failed':
      return 'execution_failed';
  }
}

export type PlatformEventDefinitions = typeof platformEventDefinitions;
export type PlatformEventType = EventType<PlatformEventDefinitions>;
export type PlatformEvent = AnyEventOf<PlatformEventDefinitions>;
export type PlatformEventOf<K extends PlatformEventType> = EventOf<PlatformEventDefinitions, K>;
export type PlatformEventCatalog = EventCatalog<PlatformEventDefinitions>;

export function createPlatformCatalog(topicPrefix: string): PlatformEventCatalog {
  return new EventCatalog(platformEventDefinitions, { topicPrefix });
}
