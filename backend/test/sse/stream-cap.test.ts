import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionRepository } from '../../src/executions/execution-repository.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { ApiHarness, bearer, type ErrorBody } from '../auth/api-harness.js';
import { eventually, testLogger } from '../test-logger.js';
import { uniqueSuffix } from '../test-settings.js';
import { executionFixture } from '../worker/worker-harness.js';

const MAX = 2;

interface OpenStream {
  status: number;
  close: () => void;
}

/** Opens an SSE stream; once it is 200 waits for its first frame, so the slot is surely held. */
async function openStream(url: string, token: string): Promise<OpenStream & { body?: ErrorBody }> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: bearer(token), signal: abort.signal });
  if (res.status !== 200)
    return { status: res.status, close: () => abort.abort(), body: (await res.json()) as ErrorBody };
  const reader = res.body!.getReader();
  await reader.read();
  return {
    status: 200,
    close: () => {
      abort.abort();
      reader.releaseLock();
    },
  };
}

describe('SSE streams per user, counted in Redis across API processes', () => {
  const env = {
    INTEGR8SCODE_SSE_MAX_STREAMS_PER_USER: String(MAX),
    INTEGR8SCODE_DATABASE_NAME: `it_sse_cap_${uniqueSuffix()}`,
    INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `it.${uniqueSuffix()}.`,
  };
  const a = new ApiHarness(env);
  const b = new ApiHarness(env);
  const mongo = new MongoConnection({
    url: a.settings.MONGODB_URL,
    dbName: a.settings.DATABASE_NAME,
    logger: testLogger(),
  });
  const executions = new ExecutionRepository(mongo);
  const open: OpenStream[] = [];

  beforeAll(async () => {
    await a.start();
    await b.start();
    await mongo.start();
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await mongo.stop();
    await b.stop();
    await a.stop();
  });

  /** A user with a running execution of their own to follow. */
  async function userWithExecution(): Promise<{ token: string; path: string }> {
    const { credentials, user } = await a.register();
    const session = await a.login(credentials);
    const execution = executionFixture({
      id: randomUUID(),
      lang: 'python',
      langVersion: '3.11',
      script: 'print(1)',
      status: 'running',
    });
    await executions.create({ ...execution, userId: user.id });
    return { token: session.access_token, path: `/events/executions/${execution.id}` };
  }

  it('when a user opens more streams than SSE_MAX_STREAMS_PER_USER on two processes, then the extra one is 429; closing one frees its slot', async () => {
    const { token, path } = await userWithExecution();
    const first = await openStream(`${a.base}${path}`, token);
    const second = await openStream(`${b.base}${path}`, token);
    open.push(first, second);
    expect([first.status, second.status]).toEqual([200, 200]);

    for (const api of [a, b]) {
      const extra = await openStream(`${api.base}${path}`, token);
      expect(extra.status).toBe(429);
      expect(extra.body).toEqual({
        detail: `Too many open event streams: at most ${MAX} per user; close one and retry`,
        type: 'rate_limited',
      });
    }

    first.close();
    const again = await eventually(
      async () => {
        const s = await openStream(`${a.base}${path}`, token);
        if (s.status === 200) return s;
        s.close();
        return undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'the closed stream to free its slot' },
    );
    open.push(again);
  });

  it('when one user holds the maximum, then another user still opens streams', async () => {
    const busy = await userWithExecution();
    for (let i = 0; i < MAX; i++) open.push(await openStream(`${a.base}${busy.path}`, busy.token));
    expect((await openStream(`${a.base}${busy.path}`, busy.token)).status).toBe(429);

    const other = await userWithExecution();
    const stream = await openStream(`${b.base}${other.path}`, other.token);
    open.push(stream);
    expect(stream.status).toBe(200);
  });
});
