import type { PlatformEvent, PlatformEventCatalog } from '../events/definitions.js';
import type { RunOutboxEntry, RunOutboxRepository } from '../executions/run-outbox-repository.js';
import { AppError } from '../platform/errors/app-error.js';
import { backoffDelay, type BackoffPolicy } from '../platform/kafka/backoff.js';
import { isRecordError } from '../platform/kafka/producer.js';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import { withCorrelation, type Logger } from '../platform/logging/logger.js';

export interface OutboxRelayOptions {
  outbox: Pick<RunOutboxRepository, 'unsent' | 'markSent' | 'pruneSentBefore'>;
  catalog: PlatformEventCatalog;
  /** Sends one entry's events in one request (ExecutionEvents.publish). */
  publish: (...events: PlatformEvent[]) => Promise<void>;
  logger: Logger;
  /**
   * EXECUTION_LEASE_GRACE_SECONDS × 1000: a sent entry is kept this long, so the saga reconciler
   * goes on waiting for its result while the result processor catches up.
   */
  keepSentMs: number;
  /** Entries sent per pass, oldest first. Default 20. */
  batchSize?: number;
  /** Look for entries (also other instances') this often when idle. Default 5 s. */
  pollMs?: number;
  /** Waits after failed passes while the broker is away. Default 250 ms doubling to 5 s. */
  backoff?: BackoffPolicy;
}

/** What one pass did. */
export interface RelayPass {
  sent: number;
  /** Entries whose events can never be sent (refused by the broker or invalid); dropped. */
  dropped: number;
  /** The broker did not take an entry: the pass stopped there. */
  failed: boolean;
  /** The batch was full: there may be more right away. */
  more: boolean;
}

/**
 * Re-publishes the run outbox: oldest entries first, one entry's events in one request, marking
 * an entry sent only after the broker accepted it (it is pruned `keepSentMs` later). A failure
 * ends the pass and the next one waits with backoff; an idle relay looks again every `pollMs` or
 * when `wake()`d, and at start, so a restarted worker sends what it (or a dead instance) left.
 * Several instances may send the same entry; its events have stable ids, so that is a duplicate
 * consumers drop.
 */
export class OutboxRelay implements Component {
  readonly name = 'outbox-relay';
  private readonly gate = new LifecycleGate();
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.logger = options.logger.child({ component: 'outbox-relay' });
  }

  start(): Promise<void> {
    return this.gate.start(() => {
      this.loop = this.run();
      this.logger.info('outbox relay started');
      return Promise.resolve();
    });
  }

  /** Stops after the entry being sent (the producer is stopped after this component). */
  stop(): Promise<void> {
    return this.gate.stop(async () => {
      this.stopping.abort();
      await this.loop;
      this.logger.info('outbox relay stopped');
    });
  }

  /** Look at the outbox now (something was just put in). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Prunes old sent entries, then sends up to one batch of unsent ones. */
  async pass(now = new Date()): Promise<RelayPass> {
    const { outbox, keepSentMs } = this.options;
    const batchSize = this.options.batchSize ?? 20;
    await outbox.pruneSentBefore(new Date(now.getTime() - keepSentMs));
    const entries = await outbox.unsent(batchSize);
    const report: RelayPass = { sent: 0, dropped: 0, failed: false, more: entries.length === batchSize };
    for (const entry of entries) {
      if (this.stopping.signal.aborted) break;
      const logger = withCorrelation(this.logger, entry.executionId);
      try {
        await this.options.publish(...this.eventsOf(entry));
        report.sent++;
        logger.info({ waited_ms: Date.now() - entry.createdAt.getTime() }, 'outbox entry sent');
      } catch (err) {
        if (!neverSendable(err)) {
          logger.warn({ err }, 'outbox entry not sent; trying again later');
          return { ...report, failed: true };
        }
        report.dropped++;
        logger.error({ err }, 'outbox entry can never be sent; dropped');
      }
      await outbox.markSent(entry.id);
    }
    return report;
  }

  private eventsOf(entry: RunOutboxEntry): PlatformEvent[] {
    return entry.events.map((raw) => {
      const parsed = this.options.catalog.parse(raw);
      if (!parsed.ok) throw new AppError('validation', `invalid event in the outbox: ${parsed.reason}`);
      return parsed.event;
    });
  }

  private async run(): Promise<void> {
    const policy = this.options.backoff ?? { baseMs: 250, maxMs: 5_000 };
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      this.woken = false;
      let wait = this.options.pollMs ?? 5_000;
      try {
        const report = await this.pass();
        failures = report.failed ? failures + 1 : 0;
        if (report.failed) wait = backoffDelay(failures, policy);
        else if (report.more) wait = 0;
      } catch (err) {
        // Mongo unreachable: the entries wait there (or nowhere, if it is gone for good).
        failures++;
        wait = backoffDelay(failures, policy);
        this.logger.error({ err }, 'outbox relay pass failed');
      }
      // A wake must not cut a backoff short: the broker is still away.
      if (this.woken && failures === 0) continue;
      await this.sleep(wait, failures === 0);
    }
  }

  /** Waits `ms`; stop() ends the wait, and so does wake() when `wakeable`. */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    const signal = this.stopping.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      if (wakeable) this.wakeUp = done;
    });
  }
}

function neverSendable(err: unknown): boolean {
  return isRecordError(err) || (err instanceof AppError && err.code === 'validation');
}
