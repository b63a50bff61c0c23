/**
 * A message the consumers gave up on, as stored for inspection and retry:
 * pending (waits for an admin) | scheduled (waits for nextRetryAt) → retrying (claimed by one DLQ
 * processor) → retried | discarded (the archive, kept until expiresAt).
 */
export const DLQ_STATUSES = ['pending', 'scheduled', 'retrying', 'retried', 'discarded'] as const;
export type DlqStatus = (typeof DLQ_STATUSES)[number];

export interface DlqMessage {
  /** `<dlq topic>:<partition>:<offset>`: the same DLQ record stored twice is one message. */
  id: string;
  originalTopic: string;
  originalPartition: number | null;
  originalOffset: string | null;
  consumerGroup: string | null;
  eventId: string | null;
  eventType: string | null;
  key: string | null;
  value: string;
  /** The original message's headers, without the dead-letter ones: what a retry sends again. */
  headers: Record<string, string>;
  error: string;
  reason: 'invalid' | 'retries_exhausted' | 'unknown';
  /** Handler attempts of the consumer that dead-lettered it. */
  attempt: number;
  failedAt: Date;
  receivedAt: Date;
  status: DlqStatus;
  /** DLQ retries this event already had before this failure (the `dlq_attempt` header). */
  retryCount: number;
  nextRetryAt: Date | null;
  retriedAt: Date | null;
  discardedAt: Date | null;
  /** Set once the message is retried or discarded; pending and scheduled messages never expire. */
  expiresAt: Date | null;
}
