/**
 * npm run bench:execution — one run, one machine, two measurements of the same hello-world
 * Python script:
 *   bare:   the sandbox backend called directly (no Kafka, no API);
 *   full:   the whole system as separate processes: HTTP submit → SSE until the result.
 * Prints p50/p95/p99 latency over RUNS sequential executions, executions/s at concurrency
 * 1, 4 and 16, and the ratios full/bare. Needs the test servers (started here through
 * scripts/infra.sh). RUNS defaults to 200; BENCH_RUNS overrides it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LocalExecutor } from '../src/executor/local/local-executor.js';
import type { ExecutionRequest } from '../src/executor/executor-backend.js';
import { createLogger } from '../src/platform/logging/logger.js';
import { findBaseDir } from '../src/settings/settings.js';
import {
  PRODUCTION_COMMIT_MODE,
  readSse,
  signUp,
  submit,
  SystemUnderTest,
  waitForRuntimes,
} from '../test/e2e/system.js';
import { fmt, percentiles, throughput, type Throughput } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const CONCURRENCY = [1, 4, 16];
const SCRIPT = 'print("hello")';
const root = findBaseDir(process.cwd());

async function timed(task: () => Promise<unknown>): Promise<number> {
  const began = performance.now();
  await task();
  return performance.now() - began;
}

async function bare(): Promise<{ latency: number[]; rates: Throughput[] }> {
  const executor = new LocalExecutor({
    logger: createLogger({ service: 'bench', version: '0', level: 'warn' }),
  });
  await executor.start();
  const python = executor.runtimes().find((r) => r.lang === 'python');
  if (!python) throw new Error('no python runtime on this host');
  let n = 0;
  const run = async (): Promise<void> => {
    const request: ExecutionRequest = {
      executionId: `bench-${process.pid}-${n++}`,
      runtime: { lang: python.lang, version: python.version },
      script: SCRIPT,
      limits: {
        wallSeconds: 5,
        cpuSeconds: 5,
        memoryBytes: 128 * 1024 * 1024,
        maxProcesses: 32,
        maxFileBytes: 1 << 20,
        maxOutputBytes: 1 << 16,
      },
    };
    const outcome = await executor.run(
      request,
      { started: () => undefined, output: () => undefined },
      new AbortController().signal,
    );
    if (outcome.verdict !== 'completed')
      throw new Error(`bare run ended ${outcome.verdict}: ${outcome.reason}`);
  };
  for (let i = 0; i < 5; i++) await run(); // warm-up
  const latency: number[] = [];
  for (let i = 0; i < RUNS; i++) latency.push(await timed(run));
  const rates: Throughput[] = [];
  for (const c of CONCURRENCY) rates.push(await throughput(Math.max(RUNS / 2, c * 4), c, run));
  await executor.stop();
  return { latency, rates };
}

async function full(): Promise<{ latency: number[]; rates: Throughput[] }> {
  const system = new SystemUnderTest({
    INTEGR8SCODE_MAX_CONCURRENT_EXECUTIONS: '16',
    // One benchmark user drives the whole load: the per-user caps would measure the policy.
    INTEGR8SCODE_EXECUTION_MAX_CONCURRENT_PER_USER: '16',
    INTEGR8SCODE_SSE_MAX_STREAMS_PER_USER: '100',
    INTEGR8SCODE_RATE_LIMIT_ENABLED: 'false',
    ...PRODUCTION_COMMIT_MODE,
  });
  try {
    await system.startAll();
    const client = await signUp(system.apiUrl());
    await waitForRuntimes(client);
    const run = async (): Promise<void> => {
      const id = await submit(client, SCRIPT);
      const events = await readSse(client, id);
      const result = events.at(-1)?.data as { status?: string } | undefined;
      if (result?.status !== 'completed') throw new Error(`full run ended ${JSON.stringify(events.at(-1))}`);
    };
    for (let i = 0; i < 10; i++) await run(); // warm-up: JIT, connections, group assignments
    const latency: number[] = [];
    for (let i = 0; i < RUNS; i++) latency.push(await timed(run));
    const rates: Throughput[] = [];
    for (const c of CONCURRENCY) rates.push(await throughput(Math.max(RUNS / 2, c * 4), c, run));
    return { latency, rates };
  } finally {
    await system.stop();
  }
}

async function main(): Promise<void> {
  const up = spawnSync('bash', [join(root, 'scripts', 'infra.sh'), 'up', '--profile', 'test'], {
    stdio: 'inherit',
  });
  if (up.status !== 0) throw new Error('infra.sh up failed');
  process.env.MONGO_USER = '';

  console.log(
    `\nhello-world python, ${RUNS} sequential runs each; ${CONCURRENCY.join('/')}-way throughput\n`,
  );
  const b = await bare();
  const f = await full();
  const pb = percentiles(b.latency);
  const pf = percentiles(f.latency);
  console.log('latency (ms)        p50      p95      p99');
  console.log(
    `bare sandbox   ${fmt(pb.p50).padStart(8)} ${fmt(pb.p95).padStart(8)} ${fmt(pb.p99).padStart(8)}`,
  );
  console.log(
    `full system    ${fmt(pf.p50).padStart(8)} ${fmt(pf.p95).padStart(8)} ${fmt(pf.p99).padStart(8)}`,
  );
  console.log(
    `ratio full/bare ${(pf.p50 / pb.p50).toFixed(2).padStart(7)} ${(pf.p95 / pb.p95).toFixed(2).padStart(8)} ${(pf.p99 / pb.p99).toFixed(2).padStart(8)}`,
  );
  console.log(`pipeline overhead p50 (full - bare): ${fmt(pf.p50 - pb.p50)} ms\n`);
  console.log('throughput (executions/s)   ' + CONCURRENCY.map((c) => `c=${c}`.padStart(8)).join(''));
  console.log('bare sandbox                ' + b.rates.map((r) => fmt(r.rate).padStart(8)).join(''));
  console.log('full system                 ' + f.rates.map((r) => fmt(r.rate).padStart(8)).join(''));
  console.log(
    'ratio full/bare             ' +
      f.rates.map((r, i) => (r.rate / b.rates[i]!.rate).toFixed(2).padStart(8)).join(''),
  );
  // Where the host is CPU-bound (c=16 on 2 vCPUs), throughput is about cores / CPU per execution,
  // so the throughput ratio cannot beat bare CPU / full CPU.
  console.log('\nhost CPU per execution (ms) ' + CONCURRENCY.map((c) => `c=${c}`.padStart(8)).join(''));
  console.log('bare sandbox                ' + b.rates.map((r) => fmt(r.hostCpuMs).padStart(8)).join(''));
  console.log('full system                 ' + f.rates.map((r) => fmt(r.hostCpuMs).padStart(8)).join(''));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
