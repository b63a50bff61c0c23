import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readSse,
  signUp,
  submit,
  SystemUnderTest,
  waitForResult,
  waitForRuntimes,
  type Client,
  type SseEvent,
} from './system.js';
import { eventually } from '../test-logger.js';

const system = new SystemUnderTest();
let alice: Client;
let bob: Client;

beforeAll(async () => {
  await system.startAll();
  await system.start('api', 'api-2');
  alice = await signUp(system.apiUrl(0));
  bob = await signUp(system.apiUrl(1));
  await waitForRuntimes(alice);
}, 180_000);
afterAll(() => system.stop(), 60_000);

const outputText = (events: SseEvent[], stream = 'stdout'): string =>
  events
    .filter((e) => e.event === 'output' && (e.data as { stream: string }).stream === stream)
    .map((e) => (e.data as { text: string }).text)
    .join('');

describe('running code end to end through the HTTP API', () => {
  it('when hello world is submitted, then it completes with its output and resource usage', async () => {
    const id = await submit(alice, 'print("hello")');
    const result = await waitForResult(alice, id);
    expect(result).toMatchObject({ status: 'completed', exit_code: 0, stdout: 'hello\n', stderr: '' });
    expect(result.resource_usage?.wall_seconds).toBeGreaterThan(0);
    expect(result.resource_usage?.peak_memory_bytes).toBeGreaterThan(0);
  });

  it('when the script exits non-zero, then the execution is completed with that exit code', async () => {
    const id = await submit(alice, 'import sys\nprint("oops", file=sys.stderr)\nsys.exit(3)');
    expect(await waitForResult(alice, id)).toMatchObject({
      status: 'completed',
      exit_code: 3,
      stderr: 'oops\n',
    });
  });

  it.each([
    ['timeout', 'import time\ntime.sleep(30)', { wall_seconds: 1 }],
    ['cpu_limit', 'while True:\n    pass', { cpu_seconds: 1, wall_seconds: 4 }],
    [
      'memory_limit',
      'x = []\nwhile True:\n    x.append(bytearray(10_000_000))',
      { memory_bytes: 64 * 1024 * 1024 },
    ],
    ['output_limit', 'while True:\n    print("y" * 1000)', { max_output_bytes: 5000 }],
  ])('when a script hits its limit, then the verdict is %s', async (verdict, script, limits) => {
    const id = await submit(alice, script, { limits });
    const result = await waitForResult(alice, id);
    expect(result.status).toBe(verdict);
    if (verdict === 'output_limit') {
      expect(result.output_truncated).toBe(true);
      expect(result.stdout.length).toBe(5000);
    }
  });

  it('when a running script is cancelled, then the sandbox is killed and the execution ends cancelled', async () => {
    const id = await submit(alice, 'import time\nprint("started", flush=True)\ntime.sleep(30)');
    await eventually(
      async () => {
        const r = (await (await alice.request(`/executions/${id}/result`)).json()) as { status: string };
        return r.status === 'running' ? true : undefined;
      },
      { what: 'the running status' },
    );
    const cancel = await alice.request(`/executions/${id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(202);
    const result = await waitForResult(alice, id, 15_000);
    expect(result.status).toBe('cancelled');
    const again = await alice.request(`/executions/${id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
  });

  it('when an execution is retried, then a new execution runs the same script', async () => {
    const id = await submit(alice, 'print(6 * 7)');
    await waitForResult(alice, id);
    const res = await alice.request(`/executions/${id}/retry`, { method: 'POST' });
    expect(res.status).toBe(202);
    const retried = ((await res.json()) as { execution_id: string }).execution_id;
    expect(retried).not.toBe(id);
    expect(await waitForResult(alice, retried)).toMatchObject({ status: 'completed', stdout: '42\n' });
  });

  it('when the same Idempotency-Key is sent twice, then one execution is created; another user gets their own', async () => {
    const headers = { 'idempotency-key': `key-${system.suffix}` };
    const first = await submit(alice, 'print(1)', {}, headers);
    const second = await submit(alice, 'print(1)', {}, headers);
    const other = await submit(bob, 'print(1)', {}, headers);
    expect(second).toBe(first);
    expect(other).not.toBe(first);
  });

  it('when output is produced over time, then SSE streams it live and in order, then the result, then closes', async () => {
    const id = await submit(
      alice,
      'import time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.2)',
    );
    const events = await readSse(alice, id);
    expect(events[0]?.event).toBe('status');
    expect(outputText(events)).toBe('0\n1\n2\n3\n4\n');
    const kinds = events.map((e) => e.event);
    expect(kinds.lastIndexOf('output')).toBeLessThan(kinds.indexOf('terminal'));
    expect(kinds[kinds.length - 1]).toBe('result');
    expect(events.filter((e) => e.event === 'output').length).toBeGreaterThan(1);
    expect((events.at(-1)?.data as { status: string }).status).toBe('completed');
  });

  it('when an SSE client reconnects with Last-Event-ID, then it resumes without gaps or duplicates', async () => {
    const id = await submit(
      alice,
      'import time\nfor i in range(6):\n    print(i, flush=True)\n    time.sleep(0.3)',
    );
    const firstPart = await readSse(alice, id, {
      stopAfter: (events) => events.filter((e) => e.event === 'output').length >= 2,
    });
    const lastId = [...firstPart].reverse().find((e) => e.id !== undefined)?.id;
    expect(lastId).toBeDefined();
    const rest = await readSse(alice, id, { lastEventId: lastId });
    const ids = [...firstPart, ...rest].map((e) => e.id).filter((x) => x !== undefined);
    expect(new Set(ids).size).toBe(ids.length);
    expect(outputText(firstPart) + outputText(rest)).toBe('0\n1\n2\n3\n4\n5\n');
  });

  it('when a run is quiet for longer than SSE_HEARTBEAT_INTERVAL, then keep-alive comments keep the stream open', async () => {
    const id = await submit(alice, 'import time\ntime.sleep(2.5)\nprint("late")');
    const res = await alice.request(`/events/executions/${id}`);
    const text = await res.text();
    // config.test.toml sets SSE_HEARTBEAT_INTERVAL = 1.
    expect(text.match(/^: keep-alive$/gm)?.length ?? 0).toBeGreaterThanOrEqual(1);
    expect(text).toContain('event: result');
  });

  it('when a client connects after the end, then it gets the final result at once', async () => {
    const id = await submit(alice, 'print("done")');
    await waitForResult(alice, id);
    const events = await readSse(alice, id, { timeoutMs: 5_000 });
    expect(events.map((e) => e.event)).toEqual(['status', 'result']);
    expect((events[1]?.data as { stdout: string }).stdout).toBe('done\n');
  });

  it('when submitted on one API process and followed on another, then the stream is complete', async () => {
    const id = await submit(alice, 'print("across")');
    const onOther = await readSse(
      {
        ...alice,
        request: (p, i) =>
          fetch(`${system.apiUrl(1)}${p}`, {
            ...i,
            headers: { authorization: `Bearer ${alice.token}`, ...(i?.headers as Record<string, string>) },
          }),
      },
      id,
    );
    expect((onOther.at(-1)?.data as { stdout: string }).stdout).toBe('across\n');
  });

  it('when another user asks for an execution, then the answer is 403', async () => {
    const id = await submit(alice, 'print(1)');
    expect((await bob.request(`/executions/${id}/result`)).status).toBe(403);
    expect((await bob.request(`/executions/${id}/cancel`, { method: 'POST' })).status).toBe(403);
    expect((await bob.request(`/events/executions/${id}`)).status).toBe(403);
  });

  it('when the runtime or limits are not acceptable, then 422 names the field', async () => {
    const badRuntime = await alice.request('/execute', {
      method: 'POST',
      json: { script: 'x', lang: 'cobol', lang_version: '85' },
    });
    expect(badRuntime.status).toBe(422);
    expect(JSON.stringify(await badRuntime.json())).toContain('lang_version');
    const tooLong = await alice.request('/execute', {
      method: 'POST',
      json: { script: 'x', lang: 'python', lang_version: '3.11', limits: { wall_seconds: 10_000 } },
    });
    expect(tooLong.status).toBe(422);
    expect(JSON.stringify(await tooLong.json())).toContain('limits.wall_seconds');
  });

  it('when listing my executions, then only mine come back, newest first, with paging', async () => {
    const res = await bob.request('/user/executions?limit=2');
    const body = (await res.json()) as { executions: Array<{ execution_id: string }>; total: number };
    expect(res.status).toBe(200);
    expect(body.total).toBeGreaterThanOrEqual(1);
    expect(body.executions.length).toBeLessThanOrEqual(2);
  });
});
