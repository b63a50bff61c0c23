/** A message the consumers gave up on, as stored for inspection and (later) retry. */
export type DlqStatus = 'pending' | 'scheduled' | 'retried' | 'discarded';

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
  error: string;
  reason: 'invalid' | 'retries_exhausted' | 'unknown';
  attempt: number;
  failedAt: Date;
  receivedAt: Date;
  status: DlqStatus;
  retryCount: number;
  nextRetryAt: Date | null;
}
