import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DlqMessage } from '../../src/dlq/dlq-message.js';
import { createDlqProcessorProcess, type DlqProcessorProcess } from '../../src/dlq/dlq-processor-process.js';
import { cappedDelayMs, retryRulesFrom } from '../../src/dlq/retry-policy.js';
import { outcome } from '../../src/platform/kafka/handler.js';
import type { EventProducer } from '../../src/platform/kafka/producer.js';
import { KafkaTest, type RecordedMessage, type TestEvents } from '../kafka/harness.js';
import { eventually, holdsFor } from '../test-logger.js';
import { uniqueSuffix } from '../test-settings.js';

function payloadsOf(messages: RecordedMessage[]): Array<Record<string, unknown>> {
  return messages.map(
    (m) => (JSON.parse(m.value!.toString('utf8')) as { payload: Record<string, unknown> }).payload,
  );
}

describe('DLQ processor: from a failing handler to retries by policy, against the real servers', () => {
  const suffix = uniqueSuffix();
  const world = new KafkaTest({
    INTEGR8SCODE_KAFKA_CONSUMER_GROUP_ID: `dlq-${suffix}`,
    INTEGR8SCODE_DATABASE_NAME: `it_dlq_${suffix}`,
    INTEGR8SCODE_DLQ_RETRY_MAX_ATTEMPTS: '2',
    INTEGR8SCODE_DLQ_RETRY_BASE_DELAY_SECONDS: '0.2',
    INTEGR8SCODE_DLQ_RETRY_MAX_DELAY_SECONDS: '0.3',
    INTEGR8SCODE_DLQ_RETRY_POLICIES: 'default=retry',
  });
  const rules = retryRulesFrom(world.settings);
  const handlerAttempts = world.settings.KAFKA_CONSUMER_MAX_ATTEMPTS;
  let dlq: DlqProcessorProcess;
  let producer: EventProducer<TestEvents>;
  /** Handler calls and successful effects per order id. */
  const calls = new Map<string, number>();
  const effects = new Map<string, number>();
  /** Orders whose cause of failure is fixed after this many handler calls; absent: never. */
  const fixedAfter = new Map<string, number>();

  beforeAll(async () => {
    producer = await world.setUp();
    dlq = createDlqProcessorProcess(world.settings, world.logger, { pollIntervalMs: 50 });
    await dlq.host.start();
    await world.startRunner({
      producer,
      handlers: {
        order_placed: (event) => {
          const id = event.payload.order_id;
          const n = (calls.get(id) ?? 0) + 1;
          calls.set(id, n);
          if (n <= (fixedAfter.get(id) ?? Infinity)) {
            return Promise.resolve(outcome.retry('warehouse unavailable'));
          }
          effects.set(id, (effects.get(id) ?? 0) + 1);
          return Promise.resolve(outcome.done());
        },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await dlq?.host.stop();
    await world.cleanup();
  });

  const messagesOf = async (eventId: string): Promise<DlqMessage[]> =>
    (await dlq.repository.list({ eventType: 'order_placed' }))
      .filter((m) => m.eventId === eventId)
      .sort((a, b) => a.retryCount - b.retryCount);

  function expectBackoffSchedule(messages: DlqMessage[]): void {
    for (const m of messages.filter((x) => x.status === 'retried')) {
      const cap = cappedDelayMs(m.retryCount + 1, rules.backoff);
      const delay = m.nextRetryAt!.getTime() - m.receivedAt.getTime();
      expect(delay, `delay before retry ${m.retryCount + 1}`).toBeGreaterThanOrEqual(cap / 2);
      expect(delay, `delay before retry ${m.retryCount + 1}`).toBeLessThanOrEqual(cap);
      // Never early: republished at or after its due time.
      expect(m.retriedAt!.getTime()).toBeGreaterThanOrEqual(m.nextRetryAt!.getTime());
      expect(m.expiresAt!.getTime() - m.retriedAt!.getTime()).toBe(rules.retentionDays * 86_400_000);
    }
    // Each failure of a retry arrived after the retry that caused it.
    for (let i = 1; i < messages.length; i++) {
      expect(messages[i]!.receivedAt.getTime()).toBeGreaterThanOrEqual(messages[i - 1]!.retriedAt!.getTime());
    }
  }

  it('when a poison message fails until its cause is fixed, then it is retried on the backoff schedule and has exactly one effect', async () => {
    // The first delivery and the first DLQ retry fail; the second DLQ retry finds the cause fixed.
    fixedAfter.set('fixable', 2 * handlerAttempts);
    const event = world.orderPlaced('fixable');
    await producer.publish(event);

    await eventually(() => (effects.get('fixable') === 1 ? true : undefined), {
      what: 'the effect of the retried order',
      timeoutMs: 30_000,
    });
    const messages = await eventually(
      async () => {
        const ms = await messagesOf(event.event_id);
        return ms.length === 2 && ms.every((m) => m.status === 'retried') ? ms : undefined;
      },
      { what: 'both DLQ messages retried' },
    );
    expect(messages.map((m) => m.retryCount)).toEqual([0, 1]);
    expect(messages[0]).toMatchObject({
      originalTopic: world.topic,
      key: 'fixable',
      reason: 'retries_exhausted',
      attempt: handlerAttempts,
      consumerGroup: world.groupId,
    });
    expect(messages[0]!.error).toContain('warehouse unavailable');
    expectBackoffSchedule(messages);
    expect(calls.get('fixable')).toBe(2 * handlerAttempts + 1);
    await holdsFor(
      1_000,
      async () => effects.get('fixable') === 1 && (await messagesOf(event.event_id)).length === 2,
    );
  });

  it('when a message fails permanently, then after the last retry it is archived, announced and visible as discarded', async () => {
    const event = world.orderPlaced('permanent');
    await producer.publish(event);

    const archived = await eventually(
      async () =>
        (await dlq.repository.list({ status: 'discarded' })).find((m) => m.eventId === event.event_id),
      { what: 'the archived DLQ message', timeoutMs: 30_000 },
    );
    const messages = await messagesOf(event.event_id);
    expect(messages.map((m) => [m.retryCount, m.status])).toEqual([
      [0, 'retried'],
      [1, 'retried'],
      [2, 'discarded'],
    ]);
    expectBackoffSchedule(messages);
    expect(archived.expiresAt!.getTime() - archived.discardedAt!.getTime()).toBe(
      rules.retentionDays * 86_400_000,
    );
    expect(calls.get('permanent')).toBe((rules.maxAttempts + 1) * handlerAttempts);
    expect(effects.get('permanent')).toBeUndefined();

    const prefix = world.settings.KAFKA_TOPIC_PREFIX;
    const discardedEvents = await world.record(`${prefix}dlq_message_discarded`);
    const retriedEvents = await world.record(`${prefix}dlq_message_retried`);
    await eventually(
      () => (payloadsOf(discardedEvents).some((p) => p.dlq_id === archived.id) ? true : undefined),
      { what: 'the dlq_message_discarded event' },
    );
    expect(payloadsOf(discardedEvents).find((p) => p.dlq_id === archived.id)).toMatchObject({
      event_id: event.event_id,
      by: 'policy',
      retry_count: 2,
    });
    await eventually(
      () =>
        payloadsOf(retriedEvents).filter((p) => p.event_id === event.event_id).length === 2
          ? true
          : undefined,
      { what: 'two dlq_message_retried events' },
    );
  });

  it('when a message waits for an admin and the admin retries it now, then the processor republishes it', async () => {
    await world.sendRaw(world.topic, [{ key: 'manual-1', value: 'not an event' }]);
    const waiting = await eventually(
      async () => (await dlq.repository.list({ status: 'pending' })).find((m) => m.key === 'manual-1'),
      { what: 'the invalid message waiting for an admin' },
    );
    expect(waiting).toMatchObject({ reason: 'invalid', nextRetryAt: null, retryCount: 0 });
    await holdsFor(500, async () => (await dlq.repository.findById(waiting.id))?.status === 'pending');

    // What POST /admin/dlq/messages/{id}/retry does: due now; the processor sends it.
    await dlq.repository.scheduleNow(waiting.id, new Date());
    const again = await eventually(
      async () =>
        (await dlq.repository.list({ topic: world.topic })).find(
          (m) => m.key === 'manual-1' && m.retryCount === 1,
        ),
      { what: 'the republished message dead-lettered again' },
    );
    expect(again).toMatchObject({ status: 'pending', reason: 'invalid', value: 'not an event' });
    expect((await dlq.repository.findById(waiting.id))?.status).toBe('retried');
  });
});

describe('DLQ queue-size alert against the real servers', () => {
  const suffix = uniqueSuffix();
  const world = new KafkaTest({
    INTEGR8SCODE_KAFKA_CONSUMER_GROUP_ID: `dlq-${suffix}`,
    INTEGR8SCODE_DATABASE_NAME: `it_dlq_alert_${suffix}`,
    INTEGR8SCODE_DLQ_WARNING_THRESHOLD: '2',
    INTEGR8SCODE_DLQ_CRITICAL_THRESHOLD: '4',
  });
  let dlq: DlqProcessorProcess;

  beforeAll(async () => {
    await world.setUp();
    dlq = createDlqProcessorProcess(world.settings, world.logger, { pollIntervalMs: 50 });
    await dlq.host.start();
  }, 60_000);
  afterAll(async () => {
    await dlq?.host.stop();
    await world.cleanup();
  });

  const pending = (n: number): DlqMessage => ({
    id: `manual:${suffix}:${n}`,
    originalTopic: 'user_registered',
    originalPartition: 0,
    originalOffset: String(n),
    consumerGroup: 'g',
    eventId: null,
    eventType: 'user_registered',
    key: null,
    value: '{}',
    headers: {},
    error: 'boom',
    reason: 'retries_exhausted',
    attempt: 3,
    failedAt: new Date(),
    receivedAt: new Date(),
    status: 'pending',
    retryCount: 0,
    nextRetryAt: null,
    retriedAt: null,
    discardedAt: null,
    expiresAt: null,
  });

  it('when unresolved messages rise across a threshold, then one alert per crossing, however many polls and messages', async () => {
    const alerts = await world.record(`${world.settings.KAFKA_TOPIC_PREFIX}dlq_threshold_crossed`);
    const levels = () => payloadsOf(alerts).map((p) => p.level);
    const settle = async (expected: unknown[]) => {
      await eventually(() => (levels().length >= expected.length ? true : undefined), {
        what: `${expected.length} alerts`,
      });
      // Several polls pass meanwhile (every 50 ms); none may alert again.
      await holdsFor(600, () => levels().length === expected.length);
      expect(levels()).toEqual(expected);
    };
    const add = async (from: number, to: number) => {
      for (let n = from; n <= to; n++) await dlq.repository.insertIfAbsent(pending(n));
    };

    await add(1, 1);
    await settle([]);
    await add(2, 3);
    await settle(['warning']);
    await add(4, 6);
    await settle(['warning', 'critical']);
    expect(payloadsOf(alerts)[1]).toMatchObject({ level: 'critical', threshold: 4 });
    // Back below the warning threshold, then above it again: a new crossing.
    for (let n = 1; n <= 5; n++) {
      await dlq.repository.discard(`manual:${suffix}:${n}`, new Date(), new Date(Date.now() + 86_400_000));
    }
    await eventually(async () => ((await dlq.repository.alertLevel()) === 'normal' ? true : undefined), {
      what: 'the alert level back to normal',
    });
    await settle(['warning', 'critical']);
    await add(7, 8);
    await settle(['warning', 'critical', 'warning']);
  });
});
