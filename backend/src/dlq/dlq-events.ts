import type { PlatformEvent, PlatformEventCatalog } from '../events/definitions.js';
import type { DlqMessage } from './dlq-message.js';
import type { AlertLevel } from './queue-alert.js';

export interface DlqEventsOptions {
  catalog: PlatformEventCatalog;
  publish: (event: PlatformEvent) => Promise<void>;
  service: { name: string; version: string };
}

/** Builds and publishes the dlq_* events of the catalog. */
export class DlqEvents {
  constructor(private readonly options: DlqEventsOptions) {}

  received(m: DlqMessage): Promise<void> {
    if (m.status !== 'pending' && m.status !== 'scheduled' && m.status !== 'discarded') {
      return Promise.resolve();
    }
    const payload = {
      ...ref(m),
      error: m.error,
      reason: m.reason,
      status: m.status,
      next_retry_at: m.nextRetryAt?.toISOString() ?? null,
    };
    return this.send(this.options.catalog.build('dlq_message_received', m.id, payload, this.metadata(m.id)));
  }

  retried(m: DlqMessage): Promise<void> {
    const payload = { ...ref(m), retry_count: m.retryCount + 1 };
    return this.send(this.options.catalog.build('dlq_message_retried', m.id, payload, this.metadata(m.id)));
  }

  discarded(m: DlqMessage, by: 'policy' | 'admin'): Promise<void> {
    const payload = { ...ref(m), by };
    return this.send(this.options.catalog.build('dlq_message_discarded', m.id, payload, this.metadata(m.id)));
  }

  thresholdCrossed(level: Exclude<AlertLevel, 'normal'>, count: number, threshold: number): Promise<void> {
    const payload = { level, count, threshold };
    return this.send(
      this.options.catalog.build('dlq_threshold_crossed', 'dlq', payload, this.metadata('dlq')),
    );
  }

  private metadata(correlationId: string) {
    const { service } = this.options;
    return { service_name: service.name, service_version: service.version, correlation_id: correlationId };
  }

  private send(event: PlatformEvent): Promise<void> {
    return this.options.publish(event);
  }
}

function ref(m: DlqMessage) {
  return {
    dlq_id: m.id,
    original_topic: m.originalTopic,
    event_type: m.eventType,
    event_id: m.eventId,
    retry_count: m.retryCount,
  };
}
