import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEvents, EventCatalog, type AnyEventOf } from '../../events/catalog.js';
import { createLogger } from '../logging/logger.js';
import type { DeadLetterMessage } from './dead-letter.js';
import { outcome, type AnyEventHandler } from './handler.js';
import { MessageProcessor } from './message-processor.js';

const definitions = defineEvents({
  parcel_sent: { version: 1, payload: z.object({ parcel_id: z.string().min(1) }) },
});
type Definitions = typeof definitions;
const catalog = new EventCatalog(definitions, { topicPrefix: 'unit.' });
const settings = {
  KAFKA_CONSUMER_MAX_ATTEMPTS: 3,
  KAFKA_CONSUMER_RETRY_BASE_MS: 1,
  KAFKA_CONSUMER_RETRY_MAX_MS: 1,
  KAFKA_TOPIC_PREFIX: 'unit.',
  KAFKA_DLQ_TOPIC: 'dlq',
};

function kafkaMessage(event: AnyEventOf<Definitions>): KafkaMessage {
  return {
    key: Buffer.from(event.aggregate_id),
    value: Buffer.from(JSON.stringify(event)),
    headers: {},
    offset: '7',
    timestamp: String(Date.now()),
    attributes: 0,
  };
}

describe('MessageProcessor', () => {
  it('when committing the finished messages before a retry wait fails, then the retries go on and the message is dead-lettered after the last attempt', async () => {
    const deadLetters: Array<{ topic: string; message: DeadLetterMessage }> = [];
    const attempts: number[] = [];
    const handler: AnyEventHandler<Definitions> = async (_event, ctx) => {
      attempts.push(ctx.attempt);
      return Promise.resolve(outcome.retry('still failing'));
    };
    const processor = new MessageProcessor({
      catalog,
      settings,
      handlers: new Map([['parcel_sent', handler]]),
      producer: {
        sendDeadLetter: async (topic, message) => {
          deadLetters.push({ topic, message });
          return Promise.resolve();
        },
      },
      groupId: 'unit-group',
      logger: createLogger({ service: 'unit', version: '0', level: 'silent' }),
    });
    let commits = 0;
    const event = catalog.build(
      'parcel_sent',
      'p-1',
      { parcel_id: 'p-1' },
      {
        service_name: 'unit',
        service_version: '0',
        correlation_id: 'p-1',
      },
    );

    const disposition = await processor.process(
      { topic: catalog.topicFor('parcel_sent'), partition: 0, offset: '7' },
      kafkaMessage(event),
      {
        signal: new AbortController().signal,
        commitFinished: async () => {
          commits += 1;
          return Promise.reject(new Error('coordinator not available'));
        },
      },
    );

    expect(disposition).toBe('commit');
    expect(attempts).toEqual([1, 2, 3]);
    expect(commits).toBe(2);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]?.topic).toBe('unit.dlq');
    expect(deadLetters[0]?.message.headers).toMatchObject({
      dlq_reason: 'retries_exhausted',
      attempt: '3',
      error: 'still failing',
    });
  });
});
