import type { Component } from '../platform/lifecycle/component.js';
import { LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Settings } from '../settings/settings.js';
import type { DlqEvents } from './dlq-events.js';
import type { DlqMessage } from './dlq-message.js';
import type { DlqMessageRepository } from './dlq-message-repository.js';
import { retryMessage } from './dlq-record.js';
import { alertLevelOf, isRise } from './queue-alert.js';
import { archiveExpiry, retryDelayMs, type RetryRules } from './retry-policy.js';

/** Sends a raw message (original key, value, headers) to a topic; the EventProducer's raw send. */
export type Republish = (topic: string, message: ReturnType<typeof retryMessage>) => Promise<void>;

export interface DlqRetrySchedulerOptions {
  repository: DlqMessageRepository;
  republish: Republish;
  events: DlqEvents;
  rules: RetryRules;
  settings: Pick<Settings, 'DLQ_WARNING_THRESHOLD' | 'DLQ_CRITICAL_THRESHOLD'>;
  logger: Logger;
  /** How often due messages are looked for and the queue size checked. */
  pollIntervalMs?: number;
  /** A claim older than this belongs to a processor that died mid-retry and is taken back. */
  claimLeaseMs?: number;
  /** How often retried and discarded messages past retention are pruned. */
  pruneIntervalMs?: number;
}

/**
 * Retries due DLQ messages: each poll claims scheduled messages whose nextRetryAt has come
 * (scheduled → retrying, one conditional update, so two processors never retry the same one),
 * republishes each to its original topic and marks it retried. A message that fails again comes
 * back through the DLQ as a new message with the next retry number; the intake schedules or
 * archives it. Each poll also checks the queue-size thresholds; pruning runs less often.
 */
export class DlqRetryScheduler implements Component {
  readonly name = 'dlq-retry-scheduler';
  private readonly gate = new LifecycleGate();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastPrune = 0;
  private stopping = false;

  constructor(private readonly options: DlqRetrySchedulerOptions) {}

  start(): Promise<void> {
    return this.gate.start(() => {
      this.schedule();
      this.options.logger.info(
        { poll_interval_ms: this.pollIntervalMs, max_attempts: this.options.rules.maxAttempts },
        'dlq retry scheduler started',
      );
      return Promise.resolve();
    });
  }

  /** Stops polling, then waits for the poll in flight (a claimed message is finished, not dropped). */
  stop(): Promise<void> {
    this.stopping = true;
    return this.gate.stop(async () => {
      clearTimeout(this.timer);
      await this.running;
      this.options.logger.info('dlq retry scheduler stopped');
    });
  }

  /** One poll: take back stale claims, retry every due message, check the thresholds, prune. */
  async poll(): Promise<{ retried: number }> {
    const { repository } = this.options;
    const now = new Date();
    await repository.releaseStaleClaims(new Date(now.getTime() - (this.options.claimLeaseMs ?? 60_000)));
    let retried = 0;
    while (!this.stopping) {
      const message = await repository.claimDue(new Date());
      if (!message) break;
      if (await this.retry(message)) retried++;
    }
    await this.checkQueueSize();
    if (now.getTime() - this.lastPrune >= (this.options.pruneIntervalMs ?? 60_000)) {
      this.lastPrune = now.getTime();
      await this.prune(now);
    }
    return { retried };
  }

  /** Deletes retried and discarded messages past DLQ_RETENTION_DAYS; pending and scheduled stay. */
  async prune(now = new Date()): Promise<number> {
    const pruned = await this.options.repository.pruneExpired(now);
    if (pruned > 0) this.options.logger.info({ pruned }, 'pruned DLQ messages past retention');
    return pruned;
  }

  private get pollIntervalMs(): number {
    return this.options.pollIntervalMs ?? 1_000;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.poll()
        .then(
          () => undefined,
          (err: unknown) => this.options.logger.error({ err }, 'dlq retry poll failed'),
        )
        .finally(() => {
          this.running = undefined;
          if (this.gate.running) this.schedule();
        });
    }, this.pollIntervalMs);
    this.timer.unref();
  }

  private async retry(message: DlqMessage): Promise<boolean> {
    const { repository, republish, events, rules, logger } = this.options;
    const log = { dlq_id: message.id, original_topic: message.originalTopic, retry: message.retryCount + 1 };
    try {
      await republish(message.originalTopic, retryMessage(message));
    } catch (err) {
      // Kafka refused it: keep the message scheduled, later, instead of losing the retry.
      const later = new Date(Date.now() + retryDelayMs(message.retryCount + 1, rules.backoff));
      await repository.releaseClaim(message.id, later);
      logger.error({ ...log, err, next_retry_at: later }, 'DLQ retry could not be published');
      return false;
    }
    const at = new Date();
    await repository.markRetried(message.id, at, archiveExpiry(at, rules.retentionDays));
    logger.info(log, 'DLQ message republished to its original topic');
    await events.retried(message).catch((err: unknown) => logger.error({ err, ...log }, 'dlq event failed'));
    return true;
  }

  /** Alerts once per rise across a threshold; the level lives in Mongo so processors share it. */
  private async checkQueueSize(): Promise<void> {
    const { repository, events, settings, logger } = this.options;
    const count = await repository.countUnresolved();
    const thresholds = { warning: settings.DLQ_WARNING_THRESHOLD, critical: settings.DLQ_CRITICAL_THRESHOLD };
    const level = alertLevelOf(count, thresholds);
    const current = await repository.alertLevel();
    if (level === current || !(await repository.swapAlertLevel(current, level, new Date()))) return;
    if (level === 'normal' || !isRise(current, level)) {
      logger.info({ count, level, was: current }, 'DLQ size fell below a threshold');
      return;
    }
    const threshold = thresholds[level];
    if (level === 'critical') logger.error({ count, threshold }, 'DLQ size critical');
    else logger.warn({ count, threshold }, 'DLQ size above warning threshold');
    await events.thresholdCrossed(level, count, threshold);
  }
}
