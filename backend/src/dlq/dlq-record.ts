import type { DlqMessage } from './dlq-message.js';

export interface DlqRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Readonly<Record<string, string>>;
}

const REASONS = new Set(['invalid', 'retries_exhausted']);

/** Header a DLQ retry adds to the republished message: which retry this is (1, 2, …). */
export const DLQ_ATTEMPT_HEADER = 'dlq_attempt';

/** Headers the dead-letter writer adds (platform/kafka/dead-letter.ts); a retry does not resend them. */
const DEAD_LETTER_HEADERS = new Set([
  'original_topic',
  'original_partition',
  'original_offset',
  'attempt',
  'error',
  'failed_at',
  'consumer_group',
  'dlq_reason',
  DLQ_ATTEMPT_HEADER,
]);

/**
 * A dead-letter Kafka record as a stored DLQ message (status pending; the intake applies the
 * retry policy). Tolerates missing headers (a record written by another tool) and values that are
 * not JSON: the DLQ is where broken messages end up.
 */
export function toDlqMessage(record: DlqRecord, receivedAt: Date): DlqMessage {
  const h = record.headers;
  const value = record.value?.toString('utf8') ?? '';
  const event = parseEventIdentity(value);
  const failedAt = h.failed_at ? new Date(h.failed_at) : receivedAt;
  const partition = h.original_partition === undefined ? NaN : Number(h.original_partition);
  const attempt = Number(h.attempt);
  const retryCount = Number(h[DLQ_ATTEMPT_HEADER]);
  return {
    id: `${record.topic}:${record.partition}:${record.offset}`,
    originalTopic: h.original_topic ?? 'unknown',
    originalPartition: Number.isInteger(partition) ? partition : null,
    originalOffset: h.original_offset ?? null,
    consumerGroup: h.consumer_group ?? null,
    eventId: event.eventId,
    eventType: event.eventType ?? h.event_type ?? null,
    key: record.key?.toString('utf8') ?? null,
    value,
    headers: Object.fromEntries(Object.entries(h).filter(([name]) => !DEAD_LETTER_HEADERS.has(name))),
    error: h.error ?? 'no error recorded',
    reason: h.dlq_reason && REASONS.has(h.dlq_reason) ? (h.dlq_reason as DlqMessage['reason']) : 'unknown',
    attempt: Number.isInteger(attempt) ? attempt : 0,
    failedAt: Number.isNaN(failedAt.getTime()) ? receivedAt : failedAt,
    receivedAt,
    status: 'pending',
    retryCount: Number.isInteger(retryCount) && retryCount > 0 ? retryCount : 0,
    nextRetryAt: null,
    retriedAt: null,
    discardedAt: null,
    expiresAt: null,
  };
}

/** The Kafka message a retry sends: original key, value and headers, plus the retry's number. */
export function retryMessage(message: DlqMessage): {
  key: string | null;
  value: string;
  headers: Record<string, string>;
} {
  return {
    key: message.key,
    value: message.value,
    headers: { ...message.headers, [DLQ_ATTEMPT_HEADER]: String(message.retryCount + 1) },
  };
}

function parseEventIdentity(value: string): { eventId: string | null; eventType: string | null } {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed && typeof parsed === 'object') {
      const o = parsed as Record<string, unknown>;
      return {
        eventId: typeof o.event_id === 'string' ? o.event_id : null,
        eventType: typeof o.event_type === 'string' ? o.event_type : null,
      };
    }
  } catch {
    // Not JSON: keep the raw value only.
  }
  return { eventId: null, eventType: null };
}
