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

// A broker message limit below the request body limit, so an escaped script can exceed the first
// while passing the second (at the defaults the body limit already bounds it).
// A per-user cap below the global one (4 in config.test.toml), so one user cannot take every slot.
const system = new SystemUnderTest({
  INTEGR8SCODE_KAFKA_MAX_MESSAGE_BYTES: '262144',
  INTEGR8SCODE_EXECUTION_MAX_CONCURRENT_PER_USER: '2',
});
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

  it('when eight executions run at once (under the per-user stream cap), then each stream shows the lifecycle in order, never a step back, and one verdict after it', async () => {
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) => submit(alice, `import time\ntime.sleep(0.2)\nprint(${i})`)),
    );
    const streams = await Promise.all(ids.map((id) => readSse(alice, id)));
    const order = ['queued', 'scheduled', 'running'];
    for (const events of streams) {
      const statuses = events
        .filter((e) => e.event === 'status')
        .map((e) => (e.data as { status: string }).status);
      const kinds = events.map((e) => e.event);
      if (!order.includes(statuses[0]!)) {
        // Finished before the stream opened: its stored verdict, then the result.
        expect(kinds).toEqual(['status', 'result']);
        continue;
      }
      const steps = statuses.map((status) => order.indexOf(status));
      expect(steps.every((rank) => rank >= 0)).toBe(true);
      expect(steps).toEqual([...new Set(steps)].sort((a, b) => a - b));
      expect(kinds.filter((k) => k === 'terminal')).toHaveLength(1);
      expect(kinds.lastIndexOf('status')).toBeLessThan(kinds.indexOf('terminal'));
      expect(kinds.at(-1)).toBe('result');
    }
    // With two slots for alice, most of them were followed from queued on.
    expect(
      streams.filter((events) => (events[0]?.data as { status: string }).status === 'queued').length,
    ).toBeGreaterThan(2);
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

  it('when a script within the byte limit encodes to an event over KAFKA_MAX_MESSAGE_BYTES, then 413 says so and nothing is queued', async () => {
    const before = (await (await alice.request('/executions?limit=100')).json()) as { total: number };
    // 50 000 bytes of script, ~300 KB once JSON escapes each control character as \u0001.
    const response = await alice.request('/execute', {
      method: 'POST',
      json: { script: '\u0001'.repeat(50_000), lang: 'python', lang_version: '3.11' },
    });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { detail: string; type: string };
    expect(body.type).toBe('payload_too_large');
    expect(body.detail).toMatch(
      /^script, stdin and args encode to \d+ bytes as an event; the limit is 262144 /,
    );
    const after = (await (await alice.request('/executions?limit=100')).json()) as { total: number };
    expect(after.total).toBe(before.total);
  });

  it("when one user fills the global slots with sleeping runs, then another user's hello world still runs at once and the first user's extra runs wait their turn", async () => {
    const sleepers = await Promise.all(
      Array.from({ length: 4 }, () => submit(alice, 'import time\ntime.sleep(4)')),
    );
    const statusOf = async (id: string) =>
      ((await (await alice.request(`/executions/${id}/result`)).json()) as { status: string }).status;
    await eventually(
      async () =>
        (await Promise.all(sleepers.map(statusOf))).filter((s) => s === 'running').length === 2
          ? true
          : undefined,
      { what: "two of alice's runs running" },
    );
    const hello = await waitForResult(bob, await submit(bob, 'print("my turn")'), 3_000);
    expect(hello.status).toBe('completed');
    // Alice's two runs beyond her cap are still waiting although the global cap (4) has room.
    expect((await Promise.all(sleepers.map(statusOf))).sort()).toEqual([
      'queued',
      'queued',
      'running',
      'running',
    ]);
    for (const id of sleepers) await alice.request(`/executions/${id}/cancel`, { method: 'POST' });
    for (const id of sleepers)
      expect(['cancelled', 'completed']).toContain((await waitForResult(alice, id)).status);
  });

  it('when listing my executions, then only mine come back, newest first, with paging', async () => {
    const res = await bob.request('/user/executions?limit=2');
    const body = (await res.json()) as { executions: Array<{ execution_id: string }>; total: number };
    expect(res.status).toBe(200);
    expect(body.total).toBeGreaterThanOrEqual(1);
    expect(body.executions.length).toBeLessThanOrEqual(2);
  });
});
