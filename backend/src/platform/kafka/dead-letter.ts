import type { IHeaders } from 'kafkajs';

export type DeadLetterReason = 'invalid' | 'retries_exhausted';

/** Long enough for a stack-less error message, short enough to keep headers small. */
export const MAX_ERROR_HEADER_LENGTH = 1000;

export interface DeadLetterInfo {
  originalTopic: string;
  originalPartition: number;
  originalOffset: string;
  /** Handler attempts made (0 when the message failed validation before any handler ran). */
  attempt: number;
  error: string;
  failedAt: Date;
  consumerGroup: string;
  reason: DeadLetterReason;
}

/** The original key and value bytes, with the original headers plus the dead-letter headers. */
export interface DeadLetterMessage {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: IHeaders;
}

/** Where a consumer writes messages it gives up on; the EventProducer is the production one. */
export interface DeadLetterSink {
  sendDeadLetter(topic: string, message: DeadLetterMessage): Promise<void>;
}

function deadLetterHeaders(info: DeadLetterInfo): Record<string, string> {
  return {
    original_topic: info.originalTopic,
    original_partition: String(info.originalPartition),
    original_offset: info.originalOffset,
    attempt: String(info.attempt),
    error: truncate(info.error, MAX_ERROR_HEADER_LENGTH),
    failed_at: info.failedAt.toISOString(),
    consumer_group: info.consumerGroup,
    dlq_reason: info.reason,
  };
}

export function deadLetterMessage(
  original: { key: Buffer | null; value: Buffer | null; headers?: IHeaders | undefined },
  info: DeadLetterInfo,
): DeadLetterMessage {
  return {
    key: original.key,
    value: original.value,
    headers: { ...original.headers, ...deadLetterHeaders(info) },
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
