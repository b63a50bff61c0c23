import type { Logger } from '../logging/logger.js';
import { type Component, LifecycleGate } from './component.js';

export interface ServiceHostOptions {
  logger: Logger;
  /** Started in this order, stopped in reverse: clients first, then the work that uses them. */
  components: readonly Component[];
  /** Upper bound of the whole stop; what has not finished by then is abandoned. */
  stopTimeoutMs: number;
}

/**
 * Starts a process's components in order and stops them in reverse. If one fails to start, the
 * ones already started are stopped again so the process can exit cleanly.
 */
export class ServiceHost {
  private readonly gate = new LifecycleGate();
  private readonly started: Component[] = [];

  constructor(private readonly options: ServiceHostOptions) {}

  start(): Promise<void> {
    return this.gate.start(async () => {
      for (const component of this.options.components) {
        const began = Date.now();
        try {
          await component.start();
        } catch (err) {
          this.options.logger.error({ err, component: component.name }, 'component failed to start');
          await this.stopStarted();
          throw err;
        }
        this.started.push(component);
        this.options.logger.info({ component: component.name, ms: Date.now() - began }, 'component started');
      }
    });
  }

  stop(): Promise<void> {
    return this.gate.stop(async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.options.stopTimeoutMs);
      });
      const result = await Promise.race([this.stopStarted().then(() => 'stopped' as const), timeout]);
      clearTimeout(timer);
      if (result === 'timeout') {
        this.options.logger.error(
          { timeoutMs: this.options.stopTimeoutMs, pending: this.started.map((c) => c.name) },
          'stop timed out; abandoning components still stopping',
        );
        throw new Error(`stop timed out after ${this.options.stopTimeoutMs} ms`);
      }
    });
  }

  private async stopStarted(): Promise<void> {
    while (this.started.length > 0) {
      const component = this.started[this.started.length - 1]!;
      try {
        await component.stop();
        this.options.logger.info({ component: component.name }, 'component stopped');
      } catch (err) {
        this.options.logger.error({ err, component: component.name }, 'component failed to stop cleanly');
      }
      this.started.pop();
    }
  }
}
