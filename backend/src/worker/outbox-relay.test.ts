import { describe, expect, it, vi } from 'vitest';
import { createPlatformCatalog, type PlatformEvent } from '../events/definitions.js';
import type { RunOutboxEntry } from '../executions/run-outbox-repository.js';
import { createLogger } from '../platform/logging/logger.js';
import { OutboxRelay } from './outbox-relay.js';

const catalog = createPlatformCatalog('t.');
const logger = createLogger({ service: 'outbox-relay-test', version: '0', level: 'silent' });

function entry(executionId: string, createdAt: number): RunOutboxEntry {
  const event = catalog.build(
    'execution_output',
    executionId,
    { execution_id: executionId, stream: 'stdout', seq: 0, data_b64: 'aGk=' },
    { service_name: 'test', service_version: '0', correlation_id: executionId },
  );
  return {
    id: `${executionId}/terminal`,
    executionId,
    events: [JSON.parse(JSON.stringify(event)) as unknown],
    createdAt: new Date(createdAt),
  };
}

/** An in-memory outbox and a broker that answers each publish as told. */
function relayWith(entries: RunOutboxEntry[], broker: (events: PlatformEvent[]) => Promise<void>) {
  const sent = new Map<string, Date>();
  const published: string[] = [];
  const relay = new OutboxRelay({
    outbox: {
      unsent: (limit) =>
        Promise.resolve(
          entries
            .filter((e) => !sent.has(e.id))
            .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
            .slice(0, limit),
        ),
      markSent: (id) => {
        sent.set(id, new Date());
        return Promise.resolve();
      },
      pruneSentBefore: () => Promise.resolve(0),
    },
    catalog,
    publish: async (...events) => {
      await broker(events);
      published.push(events[0]!.aggregate_id);
    },
    logger,
    keepSentMs: 1_000,
    batchSize: 2,
    pollMs: 20,
    backoff: { baseMs: 10, maxMs: 20 },
  });
  return { relay, sent, published };
}

const down = () => Promise.reject(new Error('Connection error: ECONNREFUSED'));
const up = () => Promise.resolve();

describe('OutboxRelay', () => {
  it('when the broker takes the entries, then one pass sends a batch, oldest first, and marks each sent', async () => {
    const { relay, sent, published } = relayWith([entry('b', 2), entry('a', 1), entry('c', 3)], up);
    expect(await relay.pass()).toEqual({ sent: 2, dropped: 0, failed: false, more: true });
    expect(published).toEqual(['a', 'b']);
    expect([...sent.keys()]).toEqual(['a/terminal', 'b/terminal']);
  });

  it('when the broker is down, then the pass stops at the first entry and nothing is marked sent', async () => {
    const { relay, sent } = relayWith([entry('a', 1), entry('b', 2)], down);
    expect(await relay.pass()).toMatchObject({ sent: 0, failed: true });
    expect(sent.size).toBe(0);
  });

  it('when the broker refuses an entry for good, then it is dropped and the next one is still sent', async () => {
    const refuse = (events: PlatformEvent[]) =>
      events[0]!.aggregate_id === 'a'
        ? Promise.reject(Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' }))
        : Promise.resolve();
    const { relay, sent, published } = relayWith([entry('a', 1), entry('b', 2)], refuse);
    expect(await relay.pass()).toMatchObject({ sent: 1, dropped: 1, failed: false });
    expect(published).toEqual(['b']);
    expect(sent.size).toBe(2);
  });

  it('when started with entries left by an earlier run and the broker comes back later, then it sends them all without being woken', async () => {
    let brokerUp = false;
    const entries = [entry('a', 1), entry('b', 2), entry('c', 3)];
    const { relay, sent } = relayWith(entries, () => (brokerUp ? up() : down()));
    await relay.start();
    try {
      // While the broker is down, several of the relay's retries pass and nothing goes out.
      for (const until = Date.now() + 100; Date.now() < until;) {
        expect(sent.size).toBe(0);
        await new Promise((r) => setTimeout(r, 10));
      }
      brokerUp = true;
      await vi.waitFor(() => expect(sent.size).toBe(3), { timeout: 2_000, interval: 10 });
    } finally {
      await relay.stop();
    }
  });
});
