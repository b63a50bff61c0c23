import type { RuntimeDirectory } from '../executions/runtime-directory.js';
import type { ExecutorBackend } from '../executor/executor-backend.js';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';

export interface ExecutorAdvertiserOptions {
  directory: RuntimeDirectory;
  backend: Pick<ExecutorBackend, 'runtimes' | 'enforcement'>;
  /** EXECUTOR_BACKEND, as the advert names it. */
  backendName: string;
  logger: Logger;
  /** Refresh period; keep it well under the directory's TTL (30 s). Default 10 s. */
  refreshMs?: number;
}

/**
 * Tells the API which runtimes can run: advertises the backend's runtimes and enforcement at
 * start (a failure fails the start: a worker nobody can reach is useless), refreshes the advert
 * while running (failures only logged; the TTL ends a stale advert), withdraws it on stop.
 */
export class ExecutorAdvertiser implements Component {
  readonly name = 'executor-advertiser';
  private readonly gate = new LifecycleGate();
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ExecutorAdvertiserOptions) {
    this.logger = options.logger.child({ component: 'executor-advertiser' });
  }

  start(): Promise<void> {
    return this.gate.start(async () => {
      await this.advertise();
      this.timer = setInterval(() => {
        this.advertise().catch((err: unknown) =>
          this.logger.warn({ err }, 'refreshing the executor advert failed'),
        );
      }, this.options.refreshMs ?? 10_000);
      this.timer.unref();
      this.logger.info(
        {
          backend: this.options.backendName,
          runtimes: this.options.backend.runtimes().map((r) => `${r.lang} ${r.version}`),
        },
        'executor advertised',
      );
    });
  }

  stop(): Promise<void> {
    return this.gate.stop(async () => {
      clearInterval(this.timer);
      try {
        await this.options.directory.withdraw();
        this.logger.info('executor advert withdrawn');
      } catch (err) {
        this.logger.warn({ err }, 'withdrawing the executor advert failed; it expires with its TTL');
      }
    });
  }

  private async advertise(): Promise<void> {
    const { backend, backendName, directory } = this.options;
    await directory.advertise({
      backend: backendName,
      runtimes: backend.runtimes(),
      enforcement: backend.enforcement(),
    });
  }
}
