/**
 * npm run bench:pipeline-hops — where the time of one execution goes, hop by hop.
 *
 * Runs the whole system as separate processes (as bench:execution does), submits RUNS hello-world
 * Python scripts one after the other over HTTP and reads each one's SSE stream to the result,
 * then reads every event the processes published back from Kafka. Each hop is the difference
 * between two clocks on this host (all processes share it):
 *   submit → requested        client sends POST /execute → API built execution_requested
 *   requested → queued        saga consumed it, created the saga, queued it (Redis) → execution_queued
 *   queued → scheduled        scheduler claimed a slot, moved the saga → execution_scheduled
 *   scheduled → started       create_pod_command on Kafka, worker consumed it → execution_started
 *   started → sandbox exit    the sandbox run (executor log `execution finished`, wall clock)
 *   sandbox exit → terminal   cgroup teardown, output flush → execution_completed built
 *   terminal → result_stored  result processor consumed it, wrote Mongo → result_stored
 *   result_stored → SSE result  bridge consumed it, Redis append + notify, stream read, Mongo reload
 * Envelope timestamps have millisecond resolution. The processes log at LOG_LEVEL (default here:
 * the bench's `info`, as spawnEntry sets it), which the executor's `execution finished` line needs.
 * RUNS defaults to 50; BENCH_RUNS overrides it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { findBaseDir } from '../src/settings/settings.js';
import {
  PRODUCTION_COMMIT_MODE,
  readSse,
  signUp,
  submit,
  SystemUnderTest,
  waitForRuntimes,
} from '../test/e2e/system.js';
import { fmt, percentiles } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const CONCURRENT = 16;
const TICK = 100; // USER_HZ on Linux

/** CPU seconds of a process: own (utime+stime) and of its waited-for children (cutime+cstime). */
function cpuOf(pid: number): { own: number; children: number } {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const n = (i: number): number => Number(fields[i - 3]);
    return { own: (n(14) + n(15)) / TICK, children: (n(16) + n(17)) / TICK };
  } catch {
    return { own: NaN, children: NaN };
  }
}

/** Direct children of a process (e.g. the worker's sandbox launcher). */
function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

function serverPid(service: string): number {
  const state = join(process.env.HOME ?? '/root', '.local', 'state', 'integr8scode', 'test');
  return Number(readFileSync(join(state, service, `${service}.pid`), 'utf8').trim());
}
const SCRIPT = 'print("hello")';
const root = findBaseDir(process.cwd());
const now = (): number => performance.timeOrigin + performance.now();

interface ClientTimes {
  submit: number;
  accepted: number;
  sse: Record<string, number>;
  end: number;
}

async function main(): Promise<void> {
  const up = spawnSync('bash', [join(root, 'scripts', 'infra.sh'), 'up', '--profile', 'test'], {
    stdio: 'inherit',
  });
  if (up.status !== 0) throw new Error('infra.sh up failed');
  process.env.MONGO_USER = '';

  const system = new SystemUnderTest({
    INTEGR8SCODE_MAX_CONCURRENT_EXECUTIONS: '16',
    // One benchmark user drives the whole load: the per-user caps would measure the policy.
    INTEGR8SCODE_EXECUTION_MAX_CONCURRENT_PER_USER: '16',
    INTEGR8SCODE_SSE_MAX_STREAMS_PER_USER: '100',
    INTEGR8SCODE_RATE_LIMIT_ENABLED: 'false',
    ...PRODUCTION_COMMIT_MODE,
    ...(process.env.HOPS_LOG_LEVEL ? { INTEGR8SCODE_LOG_LEVEL: process.env.HOPS_LOG_LEVEL } : {}),
  });
  const client = new Map<string, ClientTimes>();
  const events = new Map<string, Map<string, number>>();
  let workerLines: string[] = [];
  try {
    await system.startAll();
    const c = await signUp(system.apiUrl());
    await waitForRuntimes(c);
    const runOnce = async (): Promise<string> => {
      const t: ClientTimes = { submit: now(), accepted: 0, sse: {}, end: 0 };
      const id = await submit(c, SCRIPT);
      t.accepted = now();
      const seen = await readSse(c, id, {
        stopAfter: (evs) => {
          const last = evs.at(-1);
          if (last) {
            const data = last.data as { status?: string } | undefined;
            const key = last.event === 'status' ? `status:${data?.status}` : last.event;
            t.sse[key] ??= now();
          }
          return last?.event === 'result';
        },
      });
      t.end = now();
      if ((seen.at(-1)?.data as { status?: string } | undefined)?.status !== 'completed')
        throw new Error(`run ended ${JSON.stringify(seen.at(-1))}`);
      client.set(id, t);
      return id;
    };
    for (let i = 0; i < 10; i++) client.delete(await runOnce()); // warm-up
    for (let i = 0; i < RUNS; i++) await runOnce();

    // CPU per process while CONCURRENT executions run at once, RUNS × 2 in all.
    const pids: Record<string, number> = {};
    for (const label of ['api', 'saga-orchestrator', 'k8s-worker', 'result-processor', 'event-replay'])
      pids[label] = system.process(label).child.pid!;
    // The sandboxes are the launcher's children: its "children" column is the sandboxes' CPU.
    const launcher = childPids(pids['k8s-worker']!)[0];
    if (launcher !== undefined) pids['sandbox-launcher'] = launcher;
    for (const service of ['kafka', 'mongo', 'redis']) pids[service] = serverPid(service);
    pids.bench = process.pid;
    const idleFrom = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuOf(pid)]));
    await new Promise((r) => setTimeout(r, 5000));
    const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuOf(pid)]));
    const idle = Object.fromEntries(
      Object.keys(pids).map((k) => [k, ((before[k]!.own - idleFrom[k]!.own) / 5) * 1000]),
    );
    const total = RUNS * 2;
    let next = 0;
    const began = now();
    await Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        while (next < total) {
          next++;
          client.delete(await runOnce());
        }
      }),
    );
    const seconds = (now() - began) / 1000;
    console.log(
      `\nCPU per execution at concurrency ${CONCURRENT} (${total} runs, ${fmt(total / seconds)}/s, ${fmt(seconds)} s wall)`,
    );
    console.log('process              own ms/exec   children ms/exec   idle ms/s');
    let sum = 0;
    let sumChildren = 0;
    for (const [k, pid] of Object.entries(pids)) {
      const a = cpuOf(pid);
      const own = ((a.own - before[k]!.own) / total) * 1000;
      const ch = ((a.children - before[k]!.children) / total) * 1000;
      sum += own + ch;
      sumChildren += ch;
      console.log(
        `${k.padEnd(20)} ${fmt(own).padStart(11)} ${fmt(ch).padStart(18)} ${fmt(idle[k]!).padStart(11)}`,
      );
    }
    console.log(`${'sum'.padEnd(20)} ${fmt(sum).padStart(11)}`);
    console.log(`${'sum without children'.padEnd(20)} ${fmt(sum - sumChildren).padStart(11)}`);

    // Every event of this system, from Kafka: envelope timestamps per execution.
    const kafka = new Kafka({ brokers: ['127.0.0.1:19092'], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `hops-${system.suffix}`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topics: [new RegExp(`^e2e\\.${system.suffix}\\.`)], fromBeginning: true });
    let last = Date.now();
    await consumer.run({
      eachMessage: ({ message }) => {
        last = Date.now();
        if (!message.value) return Promise.resolve();
        const e = JSON.parse(message.value.toString()) as {
          event_type: string;
          aggregate_id: string;
          timestamp: string;
        };
        if (!client.has(e.aggregate_id)) return Promise.resolve();
        const m = events.get(e.aggregate_id) ?? new Map<string, number>();
        if (!m.has(e.event_type)) m.set(e.event_type, Date.parse(e.timestamp));
        events.set(e.aggregate_id, m);
        return Promise.resolve();
      },
    });
    while (Date.now() - last < 3000) await new Promise((r) => setTimeout(r, 500));
    await consumer.disconnect();
  } finally {
    workerLines = system.process('k8s-worker').lines;
    await system.stop();
  }

  // The executor's `execution finished` line: log time and wall seconds of the sandbox run.
  const sandbox = new Map<string, { end: number; wall: number }>();
  for (const line of workerLines) {
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (
        e.msg === 'execution finished' &&
        e.component === 'local-executor' &&
        typeof e.correlation_id === 'string'
      )
        sandbox.set(e.correlation_id, {
          end: Date.parse(String(e.time)),
          wall: Number(e.wallSeconds) * 1000,
        });
    } catch {
      // not JSON
    }
  }

  const hops: Record<string, number[]> = {};
  const add = (name: string, v: number | undefined): void => {
    if (v === undefined || Number.isNaN(v)) return;
    (hops[name] ??= []).push(v);
  };
  for (const [id, t] of client) {
    const e = events.get(id);
    if (!e) continue;
    const g = (type: string): number | undefined => e.get(type);
    const d = (a: number | undefined, b: number | undefined): number | undefined =>
      a === undefined || b === undefined ? undefined : b - a;
    const s = sandbox.get(id);
    add('1 submit → execution_requested', d(t.submit, g('execution_requested')));
    add('  (HTTP 202 received)', d(t.submit, t.accepted));
    add('2 requested → queued', d(g('execution_requested'), g('execution_queued')));
    add('3 queued → scheduled', d(g('execution_queued'), g('execution_scheduled')));
    add('4 scheduled → started', d(g('execution_scheduled'), g('execution_started')));
    if (s) {
      add('5 started → sandbox exit', d(g('execution_started'), s.end));
      add('  (sandbox wall, in 5)', s.wall);
      add('6 sandbox exit → terminal', d(s.end, g('execution_completed')));
    } else add('5+6 started → terminal', d(g('execution_started'), g('execution_completed')));
    add('7 terminal → result_stored', d(g('execution_completed'), g('result_stored')));
    add('8 result_stored → SSE result', d(g('result_stored'), t.sse.result));
    add('  (SSE terminal seen)', d(g('execution_completed'), t.sse.terminal));
    add('total submit → SSE result', d(t.submit, t.sse.result));
  }
  console.log(`\nper-hop latency (ms) over ${client.size} sequential hello-world runs`);
  console.log('hop                                  p50      p95      p99     mean');
  for (const [name, values] of Object.entries(hops)) {
    const p = percentiles(values);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    console.log(
      `${name.padEnd(34)} ${fmt(p.p50).padStart(8)} ${fmt(p.p95).padStart(8)} ${fmt(p.p99).padStart(8)} ${fmt(mean).padStart(8)}`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
