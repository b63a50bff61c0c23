import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../test-logger.js';
import { SseLogReader } from './sse-log.js';
import {
  PRODUCTION_COMMIT_MODE,
  signUp,
  submit,
  SystemUnderTest,
  waitForResult,
  waitForRuntimes,
  type ProcessName,
  type ResultView,
} from './system.js';

let system: SystemUnderTest | undefined;
const sseLog = new SseLogReader();
afterAll(() => sseLog.close());
afterEach(async () => {
  await system?.stop();
  system = undefined;
}, 60_000);

const BATCH = 8;
const SCRIPT = 'import time\nprint("start", flush=True)\ntime.sleep(0.7)\nprint("end")';

/**
 * kill -9 one process in the middle of a batch, restart it, and check that every execution
 * reaches exactly one terminal state: none lost, none stuck, none with two verdicts or results.
 */
async function crashMidBatch(victim: Exclude<ProcessName, 'api'>): Promise<ResultView[]> {
  // The production commit mode (config.toml): offsets committed in the background, so a kill -9
  // leaves more handled-but-uncommitted messages to be delivered again than per-batch commits do.
  system = new SystemUnderTest({ ...PRODUCTION_COMMIT_MODE });
  await system.startAll();
  const client = await signUp(system.apiUrl());
  await waitForRuntimes(client);

  const ids: string[] = [];
  for (let i = 0; i < BATCH; i++) ids.push(await submit(client, SCRIPT));
  // Crash while work is in flight: at least one execution has started running.
  await eventually(
    async () => {
      for (const id of ids) {
        const r = (await (await client.request(`/executions/${id}/result`)).json()) as { status: string };
        if (r.status === 'running') return true;
      }
      return undefined;
    },
    { what: 'a running execution', intervalMs: 20 },
  );
  await system.crash(victim);
  await system.start(victim);

  const results = await Promise.all(ids.map((id) => waitForResult(client, id, 90_000)));
  for (const id of ids) {
    const log = { events: await sseLog.read(id) };
    expect(
      log.events.filter((e) => e.kind === 'terminal').length,
      `terminal entries of ${id}`,
    ).toBeLessThanOrEqual(1);
    expect(
      log.events.filter((e) => e.kind === 'result').length,
      `result entries of ${id}`,
    ).toBeLessThanOrEqual(1);
  }
  const listed = (await (await client.request('/user/executions?limit=100')).json()) as { total: number };
  expect(listed.total).toBe(BATCH);
  return results;
}

describe('crash recovery: kill -9 a process mid-batch, restart it', () => {
  it('when the k8s worker dies, then every execution still ends once (re-run or failed as lost)', async () => {
    const results = await crashMidBatch('k8s-worker');
    for (const r of results) {
      expect(['completed', 'failed']).toContain(r.status);
      if (r.status === 'completed') expect(r.stdout).toBe('start\nend\n');
      else expect(r.reason).toMatch(/executor lost/);
    }
    expect(results.filter((r) => r.status === 'completed').length).toBeGreaterThan(0);
  }, 240_000);

  it('when the result processor dies, then every execution completes exactly once', async () => {
    const results = await crashMidBatch('result-processor');
    expect(results.map((r) => r.status)).toEqual(Array(BATCH).fill('completed'));
  }, 240_000);

  it('when the saga orchestrator dies, then every execution completes exactly once', async () => {
    const results = await crashMidBatch('saga-orchestrator');
    expect(results.map((r) => r.status)).toEqual(Array(BATCH).fill('completed'));
  }, 240_000);
});
