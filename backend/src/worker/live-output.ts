import type { OutputStream as StreamName } from '../executor/executor-backend.js';
import { settleBy } from './settle-by.js';

/** One execution_output payload. */
export interface OutputChunk {
  execution_id: string;
  stream: StreamName;
  seq: number;
  data_b64: string;
}

export interface LiveOutputOptions {
  executionId: string;
  /** Publishes chunks in the order given; the next call waits for the previous one. */
  publish: (chunks: OutputChunk[]) => Promise<void>;
  /** Flush a pending batch this long after its first byte arrived. Default 20 ms. */
  flushMs?: number;
  /** Flush at once when this many bytes are pending. Default 16 KiB. */
  flushBytes?: number;
  /** Chunks handed out at most (EXECUTION_MAX_OUTPUT_EVENTS); later output is dropped here. */
  maxChunks?: number;
  /** Told once, on the first failed publish: live output stops there, the run goes on. */
  onPublishError?: (err: unknown) => void;
}

/**
 * Turns an execution's live output into execution_output events: output is batched per run
 * (every `flushMs` or `flushBytes`, whichever comes first) and each batch holds at most one chunk
 * per stream, first the stream whose bytes came first, so a script alternating tiny writes to
 * stdout and stderr costs two events per window, not one per write. Chunks are numbered 0, 1, 2…
 * across both streams and published one batch after the other, so the order on the partition is
 * the order of `seq`: exact within a stream, and across streams up to one window. After
 * `maxChunks` chunks the live output stops (the run's result still holds all of it).
 * `finish()` hands back what is still pending so the caller can publish it together with the
 * terminal event, saving a round trip at the end of every run.
 *
 * Broker trouble. After a failed publish no more output is batched (the result carries all of
 * it), and `finish()` hands back every chunk not acknowledged yet, the failed ones included, so
 * the caller sends them with the terminal event and `chunkCount` stays the number of chunks that
 * reach Kafka. Chunks whose publish outlived `finish`'s deadline are handed back too: they may
 * land twice, which consumers dedupe by their stable event ids.
 */
export class LiveOutput {
  private readonly flushMs: number;
  private readonly flushBytes: number;
  private readonly maxChunks: number;
  /** At most one entry per stream, in the order of each stream's first pending byte. */
  private pending: { stream: StreamName; parts: Buffer[] }[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private nextSeq = 0;
  private failure: { err: unknown } | undefined;
  private finished = false;
  /** finish() stopped waiting: batches not started yet are left to the caller. */
  private closed = false;
  /** Chunks handed to `publish` (or skipped) and not acknowledged, in seq order. */
  private unacknowledged: OutputChunk[] = [];

  constructor(private readonly options: LiveOutputOptions) {
    this.flushMs = options.flushMs ?? 20;
    this.flushBytes = options.flushBytes ?? 16 * 1024;
    this.maxChunks = options.maxChunks ?? Number.POSITIVE_INFINITY;
  }

  /** Chunks handed out so far (published, being published, or returned by finish()). */
  get chunkCount(): number {
    return this.nextSeq;
  }

  /** True once maxChunks were handed out and later output was left out of the live events. */
  get capped(): boolean {
    return this.nextSeq >= this.maxChunks;
  }

  /** True once a publish failed: later output is not published live. */
  get stopped(): boolean {
    return this.failure !== undefined;
  }

  /** Runs `first` (the started event) before any output batch. */
  after(first: Promise<void>): void {
    this.chain = this.chain.then(() => first).catch((err: unknown) => this.fail(err));
  }

  push(stream: StreamName, data: Buffer): void {
    if (this.finished || this.failure || data.length === 0 || this.capped) return;
    const same = this.pending.find((piece) => piece.stream === stream);
    if (same) same.parts.push(data);
    else this.pending.push({ stream, parts: [data] });
    this.pendingBytes += data.length;
    if (this.pendingBytes >= this.flushBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  /**
   * Stops batching, waits (until `deadline`, epoch ms) for the batches already handed to
   * `publish`, and returns every chunk not acknowledged by then, in seq order: to be published
   * right before the terminal event.
   */
  async finish(deadline = Number.POSITIVE_INFINITY): Promise<OutputChunk[]> {
    this.finished = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const rest = this.take();
    if ((await settleBy(this.chain, deadline)).kind === 'pending') this.closed = true;
    return [...this.unacknowledged, ...rest];
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const chunks = this.take();
    if (chunks.length === 0) return;
    this.unacknowledged.push(...chunks);
    this.chain = this.chain
      .then(async () => {
        if (this.failure || this.closed) return;
        await this.options.publish(chunks);
        this.unacknowledged.splice(0, chunks.length);
      })
      .catch((err: unknown) => this.fail(err));
  }

  private take(): OutputChunk[] {
    const room = Math.max(0, this.maxChunks - this.nextSeq);
    const chunks = this.pending.slice(0, room).map(({ stream, parts }) => ({
      execution_id: this.options.executionId,
      stream,
      seq: this.nextSeq++,
      data_b64: Buffer.concat(parts).toString('base64'),
    }));
    this.pending = [];
    this.pendingBytes = 0;
    return chunks;
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = { err };
    this.options.onPublishError?.(err);
  }
}
