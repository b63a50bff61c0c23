import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../test-logger.js';
import { SseLogReader } from './sse-log.js';
import { signUp, submit, SystemUnderTest, waitForResult, waitForRuntimes, type Client } from './system.js';

interface StoredEventView {
  event_id: string;
  event_type: string;
  timestamp: string;
  aggregate_id: string;
  metadata: { user_id?: string | null };
  payload: { execution_id?: string };
}
interface EventsBody {
  execution_id: string;
  events: StoredEventView[];
}

const LIFECYCLE = [
  'execution_requested',
  'execution_queued',
  'execution_scheduled',
  'execution_started',
  'execution_completed',
  'result_stored',
];

const sseLog = new SseLogReader();
afterAll(() => sseLog.close());

async function eventsOf(client: Client, id: string, query = ''): Promise<EventsBody> {
  const res = await client.request(`/executions/${id}/events${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as EventsBody;
}

/** Runs a script to its end and waits until the event-replay process has stored result_stored. */
async function runAndReadEvents(
  client: Client,
  script: string,
): Promise<{ id: string; events: StoredEventView[] }> {
  const id = await submit(client, script);
  await waitForResult(client, id);
  const events = await eventually(
    async () => {
      const body = await eventsOf(client, id);
      return body.events.some((e) => e.event_type === 'result_stored') ? body.events : undefined;
    },
    { what: 'result_stored in the event store', timeoutMs: 30_000 },
  );
  return { id, events };
}

/** A whole system for one describe block, stopped at its end. */
function useSystem(env: Record<string, string> = {}): {
  system: SystemUnderTest;
  users: () => [Client, Client];
} {
  const system = new SystemUnderTest(env);
  let users: [Client, Client] | undefined;
  beforeAll(async () => {
    await system.startAll();
    users = [await signUp(system.apiUrl()), await signUp(system.apiUrl())];
    await waitForRuntimes(users[0]);
  }, 180_000);
  afterAll(() => system.stop(), 60_000);
  return {
    system,
    users: () => {
      if (!users) throw new Error('system not started');
      return users;
    },
  };
}

describe('GET /executions/{id}/events reads the event store the event-replay process fills', () => {
  const sut = useSystem();
  let alice: Client;
  let bob: Client;
  let id: string;
  let all: StoredEventView[];

  beforeAll(async () => {
    [alice, bob] = sut.users();
    ({ id, events: all } = await runAndReadEvents(alice, 'print("stored")'));
  }, 120_000);

  it('when an execution has completed, then its lifecycle events come back once each, oldest first, with their envelopes', () => {
    const types = all.map((e) => e.event_type);
    for (const type of LIFECYCLE)
      expect(
        types.filter((t) => t === type),
        type,
      ).toHaveLength(1);
    expect(new Set(all.map((e) => e.event_id)).size).toBe(all.length);
    for (const e of all) expect(e.aggregate_id).toBe(id);
    const times = all.map((e) => Date.parse(e.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(all.find((e) => e.event_type === 'execution_requested')?.metadata.user_id).toBe(alice.userId);
  });

  it('when the Redis SSE log of the execution is deleted, then the same events are still served (the store is the source)', async () => {
    expect((await sseLog.read(id)).length).toBeGreaterThan(0);
    expect(await sseLog.delete(id)).toBeGreaterThan(0);
    expect(await sseLog.read(id)).toEqual([]);
    expect((await eventsOf(alice, id)).events).toEqual(all);
  });

  it('when event_types is given comma-separated or repeated, then only those types come back', async () => {
    const comma = await eventsOf(alice, id, '?event_types=execution_started,result_stored');
    expect(comma.events.map((e) => e.event_type).sort()).toEqual(['execution_started', 'result_stored']);
    const repeated = await eventsOf(
      alice,
      id,
      '?event_types=execution_queued&event_types=execution_completed',
    );
    expect(repeated.events.map((e) => e.event_type).sort()).toEqual([
      'execution_completed',
      'execution_queued',
    ]);
  });

  it('when limit is given, then the oldest that many come back; beyond the maximum is refused with 422', async () => {
    expect((await eventsOf(alice, id, '?limit=2')).events).toEqual(all.slice(0, 2));
    expect((await alice.request(`/executions/${id}/events?limit=10001`)).status).toBe(422);
    expect((await alice.request(`/executions/${id}/events?event_types=Not-A-Type`)).status).toBe(422);
  });

  it('when another user asks for the events, then the answer is the one they get for the result', async () => {
    const result = await bob.request(`/executions/${id}/result`);
    expect([403, 404]).toContain(result.status);
    const events = await bob.request(`/executions/${id}/events`);
    expect(events.status).toBe(result.status);
    expect(JSON.stringify(await events.json())).not.toContain('execution_requested');
  });
});

describe('with ENABLE_EVENT_STREAMING off (no SSE bridge, no Redis log)', () => {
  const sut = useSystem({ INTEGR8SCODE_ENABLE_EVENT_STREAMING: 'false' });

  it('when an execution has completed, then its lifecycle events are still served from the store', async () => {
    const [carol] = sut.users();
    const { id, events } = await runAndReadEvents(carol, 'print("no streaming")');
    expect(await sseLog.read(id)).toEqual([]);
    const types = events.map((e) => e.event_type);
    for (const type of LIFECYCLE) expect(types).toContain(type);
  });
});
