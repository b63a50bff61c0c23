import type { Logger } from '../logging/logger.js';
import type { Component } from './component.js';

export interface ServiceHostOptions {
  logger: Logger;
  /** Started in this order, stopped in reverse: clients first, then the work that uses them. */
  components: readonly Component[];
  /** Upper bound of the whole stop; what has not finished by then is abandoned. */
  stopTimeoutMs: number;
}

/**
 * Starts a process's components in order and stops them in reverse. If one fails to start, the
 * ones already started are stopped again so the process can exit cleanly. A stop requested while
 * a start is still running does not wait for it beyond the stop timeout: a hung connect must not
 * keep the process from shutting down.
 */
export class ServiceHost {
  private readonly started: Component[] = [];
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: ServiceHostOptions) {}

  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('cannot start after stop'));
    this.starting ??= this.startAll();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopWithin(this.options.stopTimeoutMs);
    return this.stopping;
  }

  private async startAll(): Promise<void> {
    for (const component of this.options.components) {
      if (this.stopping) throw new Error('stopped during start');
      const began = Date.now();
      try {
        await component.start();
      } catch (err) {
        this.options.logger.error({ err, component: component.name }, 'component failed to start');
        if (!this.stopping) await this.stopStarted();
        throw err;
      }
      this.started.push(component);
      this.options.logger.info({ component: component.name, ms: Date.now() - began }, 'component started');
    }
  }

  private async stopWithin(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // A start in progress gets half the budget to finish its current component; if it hangs, the
    // components that did start are stopped anyway and the hung one is abandoned.
    const startSettled = await within(
      this.starting?.catch(() => undefined) ?? Promise.resolve(),
      timeoutMs / 2,
    );
    const stopped = await within(this.stopStarted(), Math.max(0, deadline - Date.now()));
    if (!startSettled || !stopped) {
      this.options.logger.error(
        { timeoutMs, pending: this.started.map((c) => c.name), startHung: !startSettled },
        'stop timed out; abandoning components still starting or stopping',
      );
      throw new Error(`stop timed out after ${timeoutMs} ms`);
    }
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

/** Whether `work` settled within `ms`; it keeps running in the background if not. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const result = await Promise.race([work.then(() => true as const), timeout]);
  clearTimeout(timer);
  return result;
}
