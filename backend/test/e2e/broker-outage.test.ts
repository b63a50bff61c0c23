import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { eventually, testLogger } from '../test-logger.js';
import { testSettings } from '../test-settings.js';
import { PrivateBroker } from './private-broker.js';
import { SseLogReader } from './sse-log.js';
import {
  PRODUCTION_COMMIT_MODE,
  signUp,
  submit,
  SystemUnderTest,
  waitForResult,
  waitForRuntimes,
  type Client,
  type ResultView,
} from './system.js';

/**
 * The whole system against a Kafka broker of this file's own, which the tests kill -9 and start
 * again (the other test files keep using the shared test broker). Every execution must end once,
 * with the result its script really produced: none failed as "executor lost", none run twice,
 * none stuck.
 */
let broker: PrivateBroker | undefined;
let system: SystemUnderTest | undefined;
let mongo: MongoConnection | undefined;
const sseLog = new SseLogReader();
afterAll(() => sseLog.close());

beforeAll(async () => {
  broker = await PrivateBroker.create();
  await broker.start();
}, 120_000);
afterAll(async () => {
  await broker?.destroy();
}, 60_000);
afterEach(async () => {
  await system?.stop();
  system = undefined;
  await mongo?.stop();
  mongo = undefined;
}, 60_000);

/** How long the broker stays dead before it is started again (its start takes a few s more). */
const OUTAGE_MS = 5_000;
const PARKED_MSG = 'Kafka did not take the result in time; kept in the run outbox for the relay';

function brokerOf(): PrivateBroker {
  if (!broker) throw new Error('no private broker');
  return broker;
}

async function startSystem(
  env: Record<string, string> = {},
): Promise<{ sut: SystemUnderTest; client: Client }> {
  const sut = new SystemUnderTest({
    ...PRODUCTION_COMMIT_MODE,
    INTEGR8SCODE_KAFKA_BOOTSTRAP_SERVERS: brokerOf().bootstrap,
    ...env,
  });
  system = sut;
  await sut.startAll();
  const client = await signUp(sut.apiUrl());
  await waitForRuntimes(client);
  mongo = new MongoConnection({
    url: testSettings().MONGODB_URL,
    dbName: `e2e_${sut.suffix}`,
    logger: testLogger(),
  });
  await mongo.start();
  return { sut, client };
}

function outbox() {
  if (!mongo) throw new Error('no mongo');
  return mongo.connection.collection<{ executionId: string; events: string; sentAt: Date | null }>(
    'run_outbox',
  );
}

async function statusOf(client: Client, id: string): Promise<string> {
  return ((await (await client.request(`/executions/${id}/result`)).json()) as { status: string }).status;
}

/** The execution's SSE log: exactly one verdict and one result, and the live output it streamed. */
async function expectLoggedOnce(client: Client, id: string): Promise<string> {
  const log = {
    events: (await sseLog.read(id)) as Array<{ kind: string; data: { stream?: string; text?: string } }>,
  };
  expect(log.events.filter((e) => e.kind === 'terminal').length, `terminal entries of ${id}`).toBe(1);
  expect(log.events.filter((e) => e.kind === 'result').length, `result entries of ${id}`).toBe(1);
  return log.events
    .filter((e) => e.kind === 'output' && e.data.stream === 'stdout')
    .map((e) => e.data.text ?? '')
    .join('');
}

/** Worker log lines saying a run's result went to the outbox. */
function parkedRuns(sut: SystemUnderTest, label = 'k8s-worker'): number {
  return sut.process(label).lines.filter((line) => line.includes(PARKED_MSG)).length;
}

describe('broker outage: kill -9 the Kafka broker mid-batch, start it again', () => {
  it('when the broker dies while scripts run and comes back 5 s later, then every execution completes once with its real output', async () => {
    // Production's lease grace: this test is about results finished during the outage. With the
    // test config's 5 s, a result already on Kafka but not yet stored when the broker died would
    // race the reconciler after the restart; the outbox's own lease handling is the next test's.
    const { sut, client } = await startSystem({ INTEGR8SCODE_EXECUTION_LEASE_GRACE_SECONDS: '30' });
    const BATCH = 16;
    const ids: string[] = [];
    for (let i = 0; i < BATCH; i++) {
      const seconds = 1 + (i % 3);
      ids.push(
        await submit(
          client,
          `import random, time\nprint("start ${i}", random.random(), flush=True)\ntime.sleep(${seconds})\nprint("end ${i}")`,
        ),
      );
    }
    await eventually(
      async () => {
        const statuses = await Promise.all(ids.map((id) => statusOf(client, id)));
        return statuses.includes('running') ? true : undefined;
      },
      { what: 'a running execution', intervalMs: 50 },
    );
    await brokerOf().kill();
    await sleep(OUTAGE_MS);
    await brokerOf().start();

    const results: ResultView[] = await Promise.all(ids.map((id) => waitForResult(client, id, 150_000)));
    for (const [i, r] of results.entries()) {
      expect(r.status, `${r.execution_id}: ${r.reason}`).toBe('completed');
      expect(r.exit_code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^start ${i} 0\\.\\d+\\nend ${i}\\n$`));
      // What a client streamed is what the stored result says: the script ran once.
      expect(await expectLoggedOnce(client, r.execution_id)).toBe(r.stdout);
    }
    // The outage hit running scripts: some results went through the outbox, and it is drained.
    expect(parkedRuns(sut)).toBeGreaterThan(0);
    expect(await outbox().countDocuments({ sentAt: null })).toBe(0);
  }, 240_000);

  it('when the worker dies while the broker is down and its finished run waits in the outbox, then after both restart the result arrives, without running the script again', async () => {
    // The test config's lease (5 s + 5 s grace) runs out while the broker and the worker are
    // down: the reconciler must see the outbox entry and wait instead of failing the run as lost.
    const { sut, client } = await startSystem();
    const id = await submit(
      client,
      'import random, time\nprint("token", random.random(), flush=True)\ntime.sleep(1)\nprint("done")',
    );
    await eventually(async () => ((await statusOf(client, id)) === 'running' ? true : undefined), {
      what: 'the execution running',
      intervalMs: 50,
    });
    await brokerOf().kill();
    const entry = await eventually(
      () =>
        outbox()
          .findOne({ executionId: id })
          .then((doc) => doc ?? undefined),
      {
        what: 'the result in the run outbox',
        timeoutMs: 30_000,
      },
    );
    await sut.crash('k8s-worker');
    const parked = JSON.parse(entry.events) as Array<{
      event_type: string;
      payload: { stdout_b64?: string };
    }>;
    const terminal = parked.at(-1);
    expect(terminal?.event_type).toBe('execution_completed');
    const parkedStdout = Buffer.from(terminal?.payload.stdout_b64 ?? '', 'base64').toString();
    expect(parkedStdout).toMatch(/^token 0\.\d+\ndone\n$/);

    await sleep(OUTAGE_MS);
    await brokerOf().start();
    await sut.start('k8s-worker');

    const result = await waitForResult(client, id, 120_000);
    expect(result.status, String(result.reason)).toBe('completed');
    expect(result.stdout).toBe(parkedStdout);
    expect(await expectLoggedOnce(client, id)).toBe(parkedStdout);
    await eventually(
      async () => ((await outbox().countDocuments({ sentAt: null })) === 0 ? true : undefined),
      {
        what: 'the outbox drained',
      },
    );
    // The command was never committed (the broker was down), so the restarted worker gets it
    // again, possibly after the relay already delivered the result: it must find the result (in
    // the outbox, or already stored from it) and run nothing.
    const restarted = () => sut.process('k8s-worker').lines.filter((line) => line.includes(id));
    await eventually(
      () => (restarted().some((line) => line.includes('command skipped')) ? true : undefined),
      {
        what: 'the redelivered command skipped by the restarted worker',
        timeoutMs: 60_000,
      },
    );
    expect(restarted().some((line) => line.includes('"msg":"execution finished"'))).toBe(false);
  }, 240_000);
});
