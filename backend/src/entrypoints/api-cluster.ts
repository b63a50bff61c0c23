import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../platform/logging/logger.js';

export interface SuperviseOptions {
  count: number;
  /** WEB_THREADS: libuv pool size of each API process (bcrypt hashing runs there). */
  threads: number;
  logger: Logger;
}

/**
 * The primary of a multi-process API: forks `count` workers (same argv), replaces one that dies
 * unexpectedly, and on SIGTERM/SIGINT forwards the signal and exits when all have stopped.
 */
export function superviseWorkers({ count, threads, logger }: SuperviseOptions): void {
  let stopping = false;
  let alive = 0;
  const fork = (): Worker => {
    alive++;
    return cluster.fork({ UV_THREADPOOL_SIZE: String(threads) });
  };
  for (let i = 0; i < count; i++) fork();

  cluster.on('exit', (worker, code, signal) => {
    alive--;
    if (stopping) {
      if (alive === 0) {
        logger.info('all API workers stopped');
        process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      }
      return;
    }
    logger.error({ worker: worker.id, code, signal }, 'API worker died; starting a replacement');
    // A worker that cannot even start (bad config, port taken) would loop; give up instead.
    if (code === 1 && Date.now() - startedAt < 10_000) {
      logger.fatal('API worker failed during start-up; stopping');
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exitCode = 1;
      return;
    }
    fork();
  });
  const startedAt = Date.now();

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal: sig }, 'stopping API workers');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    });
  }
}
