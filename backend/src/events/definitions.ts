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

/** Platform failures (a non-zero exit code of the script is a completed execution, not a failure). */
export const ExecutionErrorType = z.enum(['memory_limit', 'cpu_time_limit', 'output_limit', 'system_error']);
export type ExecutionErrorType = z.infer<typeof ExecutionErrorType>;

export const TerminalStatus = z.enum(['completed', 'failed', 'timeout', 'cancelled']);
export type TerminalStatus = z.infer<typeof TerminalStatus>;

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

  execution_requested: {
    version: 1,
    payload: z.object({
      execution_id: Id,
      script: z.string(),
      lang: Id,
      lang_version: Id,
      user_id: Id,
      priority: ExecutionPriority.optional(),
      timeout_seconds: z.number().int().positive().optional(),
    }),
  },
  execution_started: {
    version: 1,
    payload: z.object({ execution_id: Id, pod_name: z.string().optional() }),
  },
  execution_completed: {
    version: 1,
    payload: z.object({
      execution_id: Id,
      exit_code: z.number().int(),
      stdout: z.string(),
      stderr: z.string(),
      resource_usage: ResourceUsage,
    }),
  },
  execution_failed: {
    version: 1,
    payload: z.object({
      execution_id: Id,
      reason: z.string().min(1),
      error_type: ExecutionErrorType,
      resource_usage: ResourceUsage.optional(),
    }),
  },
  execution_timeout: {
    version: 1,
    payload: z.object({
      execution_id: Id,
      timeout_seconds: z.number().int().positive(),
      resource_usage: ResourceUsage.optional(),
    }),
  },
  execution_cancelled: {
    version: 1,
    payload: z.object({ execution_id: Id, reason: z.string().min(1), cancelled_by: Id.optional() }),
  },

  result_stored: { version: 1, payload: z.object({ execution_id: Id, status: TerminalStatus }) },
  result_failed: { version: 1, payload: z.object({ execution_id: Id, reason: z.string().min(1) }) },

  create_pod_command: {
    version: 1,
    payload: z.object({
      execution_id: Id,
      saga_id: Id,
      script: z.string(),
      lang: Id,
      lang_version: Id,
      user_id: Id,
      timeout_seconds: z.number().int().positive(),
    }),
  },
  delete_pod_command: {
    version: 1,
    payload: z.object({ execution_id: Id, saga_id: Id.optional(), reason: z.string().min(1) }),
  },
});

export type PlatformEventDefinitions = typeof platformEventDefinitions;
export type PlatformEventType = EventType<PlatformEventDefinitions>;
export type PlatformEvent = AnyEventOf<PlatformEventDefinitions>;
export type PlatformEventOf<K extends PlatformEventType> = EventOf<PlatformEventDefinitions, K>;
export type PlatformEventCatalog = EventCatalog<PlatformEventDefinitions>;

export function createPlatformCatalog(topicPrefix: string): PlatformEventCatalog {
  return new EventCatalog(platformEventDefinitions, { topicPrefix });
}
