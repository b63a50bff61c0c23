import { AppError } from '../platform/errors/app-error.js';
import type { Logger } from '../platform/logging/logger.js';
import type { DlqEvents } from './dlq-events.js';
import type { DlqMessage } from './dlq-message.js';
import type { DlqListFilter, DlqMessageRepository, DlqStats } from './dlq-message-repository.js';
import { archiveExpiry } from './retry-policy.js';

export interface DlqAdminOptions {
  repository: DlqMessageRepository;
  events: DlqEvents;
  retentionDays: number;
  logger: Logger;
}

/**
 * What admins do with the DLQ from the API process. A retry only makes the message due now
 * (status scheduled, nextRetryAt = now): the DLQ processor's scheduler republishes it, so every
 * republish goes through one claim and one code path.
 */
export class DlqAdmin {
  constructor(private readonly options: DlqAdminOptions) {}

  list(filter: DlqListFilter): Promise<{ messages: DlqMessage[]; total: number }> {
    return this.options.repository.page(filter);
  }

  async get(id: string): Promise<DlqMessage> {
    return (await this.options.repository.findById(id)) ?? notFound(id);
  }

  stats(): Promise<DlqStats> {
    return this.options.repository.stats();
  }

  async retryNow(id: string, adminId: string): Promise<DlqMessage> {
    const scheduled = await this.options.repository.scheduleNow(id, new Date());
    if (!scheduled) return this.refuse(id, 'retried');
    this.options.logger.info({ dlq_id: id, admin_id: adminId }, 'DLQ message scheduled for retry by admin');
    return scheduled;
  }

  async discard(id: string, adminId: string): Promise<DlqMessage> {
    const now = new Date();
    const discarded = await this.options.repository.discard(
      id,
      now,
      archiveExpiry(now, this.options.retentionDays),
    );
    if (!discarded) return this.refuse(id, 'discarded');
    this.options.logger.info({ dlq_id: id, admin_id: adminId }, 'DLQ message discarded by admin');
    await this.options.events.discarded(discarded, 'admin');
    return discarded;
  }

  /** Every pending or scheduled message of `topic` becomes due now. */
  async retryTopic(topic: string, adminId: string): Promise<number> {
    const scheduled = await this.options.repository.scheduleTopicNow(topic, new Date());
    this.options.logger.info(
      { topic, scheduled, admin_id: adminId },
      'DLQ topic scheduled for retry by admin',
    );
    return scheduled;
  }

  private async refuse(id: string, verb: 'retried' | 'discarded'): Promise<never> {
    const current = await this.get(id);
    throw new AppError('conflict', `DLQ message ${id} is ${current.status} and cannot be ${verb} now`);
  }
}

function notFound(id: string): never {
  throw new AppError('not_found', `No DLQ message ${id}`);
}
