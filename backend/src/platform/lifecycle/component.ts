/** The lifecycle every long-lived part shares: start and stop, both idempotent. */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Makes start/stop of a component idempotent and safe to call concurrently: a second start
 * waits for the first, stop after a failed or absent start is a no-op.
 */
export class LifecycleGate {
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  start(run: () => Promise<void>): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('cannot start after stop'));
    this.starting ??= run();
    return this.starting;
  }

  stop(run: () => Promise<void>): Promise<void> {
    if (!this.starting) {
      this.stopping ??= Promise.resolve();
      return this.stopping;
    }
    const started = this.starting;
    this.stopping ??= started.then(run, () => run());
    return this.stopping;
  }

  get running(): boolean {
    return this.starting !== undefined && this.stopping === undefined;
  }
}
