import { createHash } from 'node:crypto';
import type { PayloadInputOf } from '../events/catalog.js';
import type {
  ExecutionResult,
  PlatformEvent,
  PlatformEventCatalog,
  PlatformEventDefinitions,
  PlatformEventOf,
  PlatformEventType,
} from '../events/definitions.js';
import type { Execution } from './execution.js';
import type { EventProducer } from '../platform/kafka/producer.js';

export interface EventSource {
  /** TRACING_SERVICE_NAME of the publishing process. */
  serviceName: string;
  serviceVersion: string;
}

/** Builds and publishes execution-pipeline events: key and correlation id = execution id. */
export class ExecutionEvents {
  constructor(
    private readonly producer: Pick<EventProducer<PlatformEventDefinitions>, 'publishMany'>,
    private readonly catalog: PlatformEventCatalog,
    private readonly source: EventSource,
  ) {}

  build<K extends PlatformEventType>(
    type: K,
    executionId: string,
    payload: PayloadInputOf<PlatformEventDefinitions, K>,
    userId: string | null = null,
    options: { eventId?: string } = {},
  ): PlatformEventOf<K> {
    return this.catalog.build(
      type,
      executionId,
      payload,
      {
        service_name: this.source.serviceName,
        service_version: this.source.serviceVersion,
        user_id: userId,
        correlation_id: executionId,
      },
      options,
    );
  }

  /** One send for all events: either all were accepted by the broker or the call throws. */
  async publish(...events: PlatformEvent[]): Promise<void> {
    await this.producer.publishMany(events);
  }
}

/** A terminal result the platform decides without the script having produced anything. */
export function resultWithoutOutput(
  executionId: string,
  verdict: 'failed' | 'cancelled',
  reason: string,
): ExecutionResult {
  return {
    execution_id: executionId,
    verdict,
    exit_code: null,
    signal: null,
    stdout_b64: '',
    stderr_b64: '',
    output_truncated: false,
    output_chunks: 0,
    resource_usage: null,
    reason,
  };
}

export function requestPayload(execution: Execution): RequestedExecution {
  return {
    execution_id: execution.id,
    user_id: execution.userId,
    lang: execution.lang,
    lang_version: execution.langVersion,
    script: execution.script,
    stdin: execution.stdin,
    args: execution.args,
    limits: execution.limits,
    priority: execution.priority,
  };
}

/** What an execution_requested event says about the execution: all a pod command needs. */
export type RequestedExecution = PayloadInputOf<PlatformEventDefinitions, 'execution_requested'>;

export function createPodCommandPayload(
  requested: RequestedExecution,
): PayloadInputOf<PlatformEventDefinitions, 'create_pod_command'> {
  const { priority: _priority, ...request } = requested;
  return { ...request, saga_id: requested.execution_id };
}

/**
 * A stable event id (UUID v5 layout, SHA-1 of the name in a fixed namespace) for an event a process
 * may publish again after a restart: `${executionId}/output/${seq}`, `${executionId}/terminal`.
 * Consumers that dedupe by event id (the SSE log) then keep one copy.
 */
export function stableEventId(name: string): string {
  const hash = createHash('sha1').update(`integr8scode:${name}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Room left for the envelope, metadata and Kafka headers around a request's payload. */
const ENVELOPE_ALLOWANCE_BYTES = 4096;

/**
 * Encoded size of the largest event that carries this request's script (the request itself or
 * its pod command), envelope included. JSON escapes control characters as `\uXXXX`, so a script
 * within EXECUTION_MAX_SCRIPT_BYTES can still encode to six times its size.
 */
export function encodedRequestBytes(requested: RequestedExecution): number {
  const payloadBytes = Math.max(
    Buffer.byteLength(JSON.stringify(requested)),
    Buffer.byteLength(JSON.stringify(createPodCommandPayload(requested))),
  );
  return payloadBytes + ENVELOPE_ALLOWANCE_BYTES;
}

/** Why an execution failed when its request could not go out (the broker refused the record). */
export function unpublishableReason(err: unknown): string {
  const detail = err instanceof Error ? err.message : String(err);
  return `request could not be published: the broker refused the record (${detail})`;
}
