import type { Logger } from '../logging/logger.js';
import { AppError } from '../errors/app-error.js';
import type { ServiceHost } from './service-host.js';

export interface RunProcessOptions {
  logger: Logger;
  host: ServiceHost;
}

/**
 * Runs a process until SIGTERM/SIGINT: starts the host (exit 1 if that fails), then on the first
 * signal stops it within its timeout and exits 0 (1 if the stop timed out). A second signal exits
 * at once. Uncaught errors are logged; non-operational ones end the process after a stop.
 */
export async function runProcess({ logger, host }: RunProcessOptions): Promise<void> {
  let stopping = false;
  const shutdown = async (reason: string, code: number): Promise<void> => {
    if (stopping) {
      logger.warn({ reason }, 'second shutdown request; exiting now');
      process.exit(code || 1);
    }
    stopping = true;
    logger.info({ reason }, 'shutting down');
    let exitCode = code;
    try {
      await host.stop();
      logger.info('stopped');
    } catch (err) {
      logger.error({ err }, 'shutdown did not complete');
      exitCode = 1;
    }
    // Exit explicitly: a cluster worker's IPC channel or a client library's timer would otherwise
    // keep a fully stopped process alive.
    logger.flush(() => process.exit(exitCode));
  };

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void shutdown(signal, 0));
  }
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (err) => {
    const appError = AppError.from(err);
    logger.fatal({ err }, 'uncaught exception');
    if (!appError.operational) void shutdown('uncaughtException', 1);
  });

  try {
    await host.start();
    logger.info('started');
  } catch (err) {
    logger.fatal({ err }, 'start failed');
    // Components already started were stopped by the host.
    logger.flush(() => process.exit(1));
  }
}
