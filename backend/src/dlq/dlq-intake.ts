import type { Consumer, Kafka } from 'kafkajs';
import { decodeHeaders } from '../platform/kafka/headers.js';
import { deadLetterTopic } from '../platform/kafka/topics.js';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import { retentionCutoff } from '../platform/mongo/retention.js';
import type { Settings } from '../settings/settings.js';
import type { DlqMessageRepository } from './dlq-message-repository.js';
import { toDlqMessage } from './dlq-record.js';

export type DlqIntakeSettings = Pick<
  Settings,
  | 'KAFKA_TOPIC_PREFIX'
  | 'KAFKA_DLQ_TOPIC'
  | 'KAFKA_CONSUMER_GROUP_ID'
  | 'KAFKA_SESSION_TIMEOUT_MS'
  | 'KAFKA_HEARTBEAT_INTERVAL_MS'
  | 'KAFKA_AUTO_OFFSET_RESET'
  | 'KAFKA_ENABLE_AUTO_COMMIT'
  | 'DLQ_RETENTION_DAYS'
  | 'DLQ_WARNING_THRESHOLD'
  | 'DLQ_CRITICAL_THRESHOLD'
>;

export interface DlqIntakeOptions {
  kafka: Kafka;
  repository: DlqMessageRepository;
  settings: DlqIntakeSettings;
  logger: Logger;
  /** How often retention pruning and the queue-size alert run. */
  housekeepingIntervalMs?: number;
}

/**
 * The DLQ processor's intake: every record on the dead-letter topic is stored in Mongo
 * (`dlq_messages`, status pending) before its offset is committed, so nothing that failed is
 * lost. Storing is idempotent by record coordinates, so a redelivery after a crash stores nothing
 * twice. Housekeeping prunes messages older than DLQ_RETENTION_DAYS and logs when the pending
 * queue passes DLQ_WARNING_THRESHOLD / DLQ_CRITICAL_THRESHOLD.
 */
export class DlqIntake implements Component {
  readonly name = 'dlq-intake';
  private readonly gate = new LifecycleGate();
  private readonly consumer: Consumer;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: DlqIntakeOptions) {
    const s = options.settings;
    this.consumer = options.kafka.consumer({
      groupId: s.KAFKA_CONSUMER_GROUP_ID,
      sessionTimeout: s.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: s.KAFKA_HEARTBEAT_INTERVAL_MS,
    });
  }

  start(): Promise<void> {
    return this.gate.start(async () => {
      const { settings, logger } = this.options;
      const topic = deadLetterTopic(settings);
      this.consumer.on(this.consumer.events.GROUP_JOIN, (e) =>
        logger.info(
          { group: e.payload.groupId, member: e.payload.memberId },
          'dlq intake joined consumer group',
        ),
      );
      await this.consumer.connect();
      await this.consumer.subscribe({
        topic,
        fromBeginning: settings.KAFKA_AUTO_OFFSET_RESET === 'earliest',
      });
      // eachMessage: kafkajs commits a message's offset only after this promise resolves; a
      // rejection (Mongo down) makes it retry the same message instead of skipping it.
      await this.consumer.run({
        autoCommit: settings.KAFKA_ENABLE_AUTO_COMMIT,
        eachMessage: async ({ topic: t, partition, message }) => {
          const stored = toDlqMessage(
            {
              topic: t,
              partition,
              offset: message.offset,
              key: message.key,
              value: message.value,
              headers: decodeHeaders(message.headers),
            },
            new Date(),
          );
          const inserted = await this.options.repository.insertIfAbsent(stored);
          logger.warn(
            {
              dlq_id: stored.id,
              original_topic: stored.originalTopic,
              event_type: stored.eventType,
              reason: stored.reason,
              error: stored.error,
              duplicate: !inserted,
            },
            'dead-lettered message stored',
          );
          if (!settings.KAFKA_ENABLE_AUTO_COMMIT) {
            await this.consumer.commitOffsets([
              { topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() },
            ]);
          }
        },
      });
      this.timer = setInterval(() => void this.housekeeping(), this.options.housekeepingIntervalMs ?? 60_000);
      this.timer.unref();
      logger.info({ topic, group: settings.KAFKA_CONSUMER_GROUP_ID }, 'dlq intake consuming');
    });
  }

  /** Prunes expired messages and raises the queue-size alert. Errors are logged, never thrown. */
  async housekeeping(now = new Date()): Promise<{ pruned: number; pending: number }> {
    const { repository, settings, logger } = this.options;
    try {
      const pruned = await repository.pruneReceivedBefore(retentionCutoff(now, settings.DLQ_RETENTION_DAYS));
      const pending = await repository.countByStatus('pending');
      if (pending >= settings.DLQ_CRITICAL_THRESHOLD) {
        logger.error({ pending, threshold: settings.DLQ_CRITICAL_THRESHOLD }, 'DLQ size critical');
      } else if (pending >= settings.DLQ_WARNING_THRESHOLD) {
        logger.warn(
          { pending, threshold: settings.DLQ_WARNING_THRESHOLD },
          'DLQ size above warning threshold',
        );
      }
      if (pruned > 0) logger.info({ pruned }, 'pruned DLQ messages past retention');
      return { pruned, pending };
    } catch (err) {
      logger.error({ err }, 'DLQ housekeeping failed');
      return { pruned: 0, pending: -1 };
    }
  }

  stop(): Promise<void> {
    return this.gate.stop(async () => {
      clearInterval(this.timer);
      await this.consumer.disconnect();
    });
  }
}
