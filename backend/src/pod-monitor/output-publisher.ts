import { stableEventId, type ExecutionEvents } from '../executions/execution-events.js';
import type { Logger } from '../platform/logging/logger.js';
import { DEFAULT_MAX_OUTPUT_EVENTS } from '../executor/output-events.js';
import type { OutputFrame } from './log-follower.js';

/**
 * Publishes one execution's output frames as execution_output events, in order, batching what
 * arrives while a send is in flight. Each event's id is derived from (execution, seq), so frames
 * published again after a reconnect or a monitor restart are the same events to consumers.
 * A failed send is retried (with the same ids) until it succeeds or the publisher is closed.
 * Frames from seq `maxEvents` on are not published (EXECUTION_MAX_OUTPUT_EVENTS): the cut depends
 * on seq only, so a replay cuts at the same frame; the result still holds all output. The runner
 * already coalesces each stream's output over a short window, so frames are not per write.
 */
export class OutputPublisher {
  private queue: OutputFrame[] = [];
  private sending: Promise<void> | null = null;
  private closed = false;
  private published = 0;
  /** Set once the execution is loaded; frames are only pushed after that. */
  userId: string | null = null;

  constructor(
    private readonly events: ExecutionEvents,
    private readonly executionId: string,
    private readonly logger: Logger,
    private readonly retryMs = 500,
    private readonly maxEvents = DEFAULT_MAX_OUTPUT_EVENTS,
  ) {}

  /** Output events on Kafka so far. */
  get count(): number {
    return this.published;
  }

  push(frame: OutputFrame): void {
    if (frame.seq >= this.maxEvents) return;
    this.queue.push(frame);
    this.sending ??= this.sendAll().finally(() => {
      this.sending = null;
    });
  }

  /** Resolves once everything pushed so far is on Kafka (or the publisher was closed). */
  async drain(): Promise<void> {
    while (this.sending) await this.sending;
  }

  close(): void {
    this.closed = true;
  }

  private async sendAll(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue.slice(0, 64);
      const id = this.executionId;
      try {
        await this.events.publish(
          ...batch.map((frame) =>
            this.events.build(
              'execution_output',
              id,
              {
                execution_id: id,
                stream: frame.stream,
                seq: frame.seq,
                data_b64: frame.data.toString('base64'),
              },
              this.userId,
              { eventId: stableEventId(`${id}/output/${frame.seq}`) },
            ),
          ),
        );
        this.queue = this.queue.slice(batch.length);
        this.published += batch.length;
      } catch (err) {
        this.logger.warn({ err }, 'publishing output failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      }
    }
  }
}
