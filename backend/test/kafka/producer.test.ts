import { context, propagation, trace } from '@opentelemetry/api';
import { node } from '@opentelemetry/sdk-node';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/platform/errors/app-error.js';
import { outcome } from '../../src/platform/kafka/handler.js';
import { countingProduceRequests, KafkaTest, waitForLength, type OrderPlaced } from './harness.js';

describe('EventProducer', () => {
  let test: KafkaTest;
  afterEach(async () => test.cleanup());

  it('when an envelope is invalid, then publishing throws a validation AppError and nothing is sent', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    const valid = test.orderPlaced('o-1');

    const badId = await producer.publish({ ...valid, event_id: 'not-a-uuid' }).catch((err: unknown) => err);
    expect(badId).toBeInstanceOf(AppError);
    expect(badId).toMatchObject({ code: 'validation' });
    expect((badId as AppError).message).toMatch(/event_id/);
    const badBatch = await producer
      .publishMany([valid, { ...valid, payload: { order_id: 'o-1', quantity: 0 } }])
      .catch((err: unknown) => err);
    expect(badBatch).toMatchObject({ code: 'validation' });
    expect((badBatch as AppError).message).toMatch(/payload\.quantity/);
    expect(await test.endOffset(test.topic)).toBe(0);

    await producer.publish(valid);
    expect(await test.endOffset(test.topic)).toBe(1);
  });

  it('when an event is published, then the message is its JSON keyed by aggregate id with type, id and correlation headers', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    const messages = await test.record(test.topic);
    const event = test.orderPlaced('o-7', 3);

    await producer.publish(event);

    await waitForLength(messages, 1, 'messages');
    const [message] = messages;
    expect(message?.key).toBe('o-7');
    expect(JSON.parse(message?.value?.toString() ?? '')).toEqual(event);
    // No OpenTelemetry SDK is registered here, so no trace headers.
    expect(message?.headers).toEqual({
      event_type: 'order_placed',
      event_id: event.event_id,
      correlation_id: 'o-7',
    });
  });

  it('when many events are published at once, then they go out in fewer requests, each call resolving, in call order', async () => {
    test = new KafkaTest();
    const { kafka, produceRequests } = countingProduceRequests(test.kafka);
    const producer = await test.setUp({ kafka });
    const messages = await test.record(test.topic);
    const before = produceRequests();

    // One key, so one partition: its order is the order of the calls.
    const events = Array.from({ length: 40 }, (_, i) => ({ ...test.orderPlaced('o-same', i + 1) }));
    await Promise.all(events.map((event) => producer.publish(event)));

    const requests = produceRequests() - before;
    expect(requests).toBeGreaterThanOrEqual(2);
    expect(requests).toBeLessThan(events.length / 2);
    await waitForLength(messages, events.length, 'messages');
    expect(
      messages.map((m) => (JSON.parse(m.value?.toString() ?? '') as OrderPlaced).payload.quantity),
    ).toEqual(events.map((e) => e.payload.quantity));
  });

  it('when one coalesced call cannot be written, then only that call fails and the others land', async () => {
    test = new KafkaTest();
    const producer = await test.setUp();
    const messages = await test.record(test.topic);
    // Above the broker's message.max.bytes (1 MiB by default): the broker refuses it. The bulk
    // is in the payload only (kafkajs encodes megabyte keys and headers very slowly).
    const placed = test.orderPlaced('o-big');
    const tooBig = { ...placed, payload: { ...placed.payload, order_id: 'x'.repeat(2 * 1024 * 1024) } };

    const first = producer.publish(test.orderPlaced('o-1'));
    const big = producer.publish(tooBig).then(
      () => 'sent',
      (err: unknown) => err,
    );
    const after = producer.publish(test.orderPlaced('o-2'));
    await first;
    await after;
    expect(await big).toBeInstanceOf(Error);
    await waitForLength(messages, 2, 'messages');
    expect(messages.map((m) => m.key)).toEqual(['o-1', 'o-2']);
  });

  it('when a span is active while publishing, then traceparent carries it and the handler runs in that trace', async () => {
    test = new KafkaTest();
    const provider = new node.NodeTracerProvider();
    provider.register();
    test.defer(async () => {
      trace.disable();
      context.disable();
      propagation.disable();
      await provider.shutdown();
    });
    const producer = await test.setUp();
    const traceIdsInHandler: Array<string | undefined> = [];
    await test.startRunner({
      producer,
      handlers: {
        order_placed: async () => {
          traceIdsInHandler.push(trace.getSpanContext(context.active())?.traceId);
          return Promise.resolve(outcome.done());
        },
      },
    });
    const messages = await test.record(test.topic);

    const span = await trace.getTracer('kafka-test').startActiveSpan('publish', async (span) => {
      await producer.publish(test.orderPlaced('traced'));
      span.end();
      return span;
    });

    await waitForLength(messages, 1, 'messages');
    await waitForLength(traceIdsInHandler, 1, 'handled events');
    const { traceId, spanId } = span.spanContext();
    expect(messages[0]?.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    expect(traceIdsInHandler).toEqual([traceId]);
  });
});
