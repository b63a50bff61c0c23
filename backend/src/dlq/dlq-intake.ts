import type { Consumer, Kafka } from 'kafkajs';
import { decodeHeaders } from '../platform/kafka/headers.js';
import { deadLetterTopic } from '../platform/kafka/topics.js';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Settings } from '../settings/settings.js';
import type { DlqEvents } from './dlq-events.js';
import type { DlqMessage } from './dlq-message.js';
import type { DlqMessageRepository } from './dlq-message-repository.js';
import { toDlqMessage } from './dlq-record.js';
import { planArrival, type RetryRules } from './retry-policy.js';

export type DlqIntakeSettings = Pick<
  Settings,
  | 'KAFKA_TOPIC_PREFIX'
  | 'KAFKA_DLQ_TOPIC'
  | 'KAFKA_CONSUMER_GROUP_ID'
  | 'KAFKA_SESSION_TIMEOUT_MS'
  | 'KAFKA_HEARTBEAT_INTERVAL_MS'
  | 'KAFKA_AUTO_OFFSET_RESET'
  | 'KAFKA_ENABLE_AUTO_COMMIT'
>;

export interface DlqIntakeOptions {
  kafka: Kafka;
  repository: DlqMessageRepository;
  events: DlqEvents;
  rules: RetryRules;
  settings: DlqIntakeSettings;
  logger: Logger;
}

/**
 * The DLQ processor's intake: every record on the dead-letter topic is stored in Mongo, already
 * planned by the retry policy (pending, scheduled or discarded), before its offset is committed,
 * so nothing that failed is lost. Storing is idempotent by record coordinates, so a redelivery
 * after a crash stores nothing twice (its dlq_message_received event may repeat: at least once).
 */
export class DlqIntake implements Component {
  readonly name = 'dlq-intake';
  private readonly gate = new LifecycleGate();
  private readonly consumer: Consumer;

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
          await this.store(
            toDlqMessage(
              {
                topic: t,
                partition,
                offset: message.offset,
                key: message.key,
                value: message.value,
                headers: decodeHeaders(message.headers),
              },
              new Date(),
            ),
          );
          if (!settings.KAFKA_ENABLE_AUTO_COMMIT) {
            await this.consumer.commitOffsets([
              { topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() },
            ]);
          }
        },
      });
      logger.info({ topic, group: settings.KAFKA_CONSUMER_GROUP_ID }, 'dlq intake consuming');
    });
  }

  private async store(received: DlqMessage): Promise<void> {
    const { repository, events, rules, logger } = this.options;
    const stored: DlqMessage = { ...received, ...planArrival(received, rules, received.receivedAt) };
    const inserted = await repository.insertIfAbsent(stored);
    logger.warn(
      {
        dlq_id: stored.id,
        original_topic: stored.originalTopic,
        event_type: stored.eventType,
        reason: stored.reason,
        error: stored.error,
        status: stored.status,
        retry_count: stored.retryCount,
        next_retry_at: stored.nextRetryAt,
        duplicate: !inserted,
      },
      stored.status === 'discarded'
        ? 'dead-lettered message archived: DLQ retries exhausted'
        : 'dead-lettered message stored',
    );
    await events.received(stored);
    if (stored.status === 'discarded') await events.discarded(stored, 'policy');
  }

  stop(): Promise<void> {
    return this.gate.stop(async () => {
      await this.consumer.disconnect();
    });
  }
}
